//! rcorn io
