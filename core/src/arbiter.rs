//! The master state machine (placeholder until it lands).
