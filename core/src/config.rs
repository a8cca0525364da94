//! The settings model (placeholder until it lands).
