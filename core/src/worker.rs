//! The worker lifecycle state machine (placeholder until it lands).
