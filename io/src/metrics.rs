//! A worker's side of the metrics: counting into the slot the master gave
//! it at fork.
//!
//! The slot is installed once, in the new worker, before it serves
//! anything; until then (in the master, in io's own tests) these calls do
//! nothing. Each is one or a few relaxed atomic adds: no lock, no syscall.

use std::sync::OnceLock;
use std::time::Duration;

use rcorn_core::metrics::labels::method_index;
use rcorn_core::metrics::WorkerMetricsSlot;

static SLOT: OnceLock<&'static WorkerMetricsSlot> = OnceLock::new();

/// Makes `slot` this process's; only the first call has an effect.
pub fn install(slot: &'static WorkerMetricsSlot) {
    let _ = SLOT.set(slot);
}

/// The counting index of a request's method.
pub fn method(method: &str) -> usize {
    method_index(method.as_bytes())
}

/// A request's application call begins.
pub fn request_started() {
    if let Some(slot) = SLOT.get() {
        slot.request_started();
    }
}

/// The request begun with [`request_started`] is answered.
pub fn request_finished(method: usize, status: u16, duration: Duration) {
    if let Some(slot) = SLOT.get() {
        slot.request_finished(method, status, duration);
    }
}

/// Bytes read from a client's socket.
#[inline]
pub fn received(bytes: usize) {
    if let Some(slot) = SLOT.get() {
        slot.received(bytes);
    }
}

/// Bytes written to a client's socket.
#[inline]
pub fn sent(bytes: usize) {
    if let Some(slot) = SLOT.get() {
        slot.sent(bytes);
    }
}
