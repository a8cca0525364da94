//! rcorn python
