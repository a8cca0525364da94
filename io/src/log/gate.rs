//! Which events are made at all: `loglevel` for the error log (or every
//! level, when a forwarded logging decides), the access log always (as
//! gunicorn's access logger is fixed at INFO), nothing of other targets.
//!
//! The answer is given per callsite (`register_callsite`) and as the
//! subscriber's most verbose level, which `tracing` caches: an event below
//! the level costs one comparison and formats nothing. Whenever the level
//! or the forwarding changes, [`changed`] has the caches rebuilt.

use std::sync::atomic::{AtomicU8, Ordering};

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::Metadata;

use super::events::{level_of, ACCESS_TARGET, ERROR_TARGET};
use super::Level;

/// `loglevel`, as [`Level::number`]; INFO until the logs are opened.
static LEVEL: AtomicU8 = AtomicU8::new(20);

pub(super) fn set_level(level: Level) {
    LEVEL.store(level.number() as u8, Ordering::Relaxed);
    changed();
}

pub(super) fn level() -> Level {
    Level::from_number(i64::from(LEVEL.load(Ordering::Relaxed)))
}

/// Rebuilds what `tracing` cached of the gate's answers.
pub(super) fn changed() {
    tracing::callsite::rebuild_interest_cache();
}

pub(super) fn passes(meta: &Metadata<'_>) -> bool {
    match meta.target() {
        ACCESS_TARGET => true,
        ERROR_TARGET => super::forwarded() || level_of(meta) >= level(),
        _ => false,
    }
}

pub(super) fn interest(meta: &Metadata<'_>) -> Interest {
    if passes(meta) {
        Interest::always()
    } else {
        Interest::never()
    }
}

/// The most verbose level any event may have: the access log's INFO at
/// least.
pub(super) fn max_level() -> LevelFilter {
    if super::forwarded() || level() == Level::Debug {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    }
}
