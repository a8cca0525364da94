//! loom model of the heartbeat slot shared by the master and one worker.
//!
//! Built only with `--cfg loom`, which also swaps the slot's atomics for
//! loom's:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p sim --test loom_heartbeat --release
//! ```
//!
//! loom runs each model under every interleaving (bounded by
//! `LOOM_MAX_PREEMPTIONS` when set) and every value the memory model lets a
//! Relaxed load return, so these are checks over all of them, not samples.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use rcorn_core::heartbeat::HeartbeatSlot;

/// The master's view: successive loads of the slot never go backwards.
fn watch(slot: &HeartbeatSlot, loads: usize) -> u64 {
    let mut seen = slot.last_beat();
    for _ in 1..loads {
        let now = slot.last_beat();
        assert!(
            now >= seen,
            "master saw the beat go back from {seen} to {now}"
        );
        seen = now;
    }
    seen
}

#[test]
fn master_never_sees_a_beat_go_backwards_and_sees_the_last_one() {
    loom::model(|| {
        let slot = Arc::new(HeartbeatSlot::new());
        let worker = {
            let slot = slot.clone();
            thread::spawn(move || {
                for t in [10, 20, 30] {
                    slot.beat(t);
                }
            })
        };
        // A stale writer: a beat stamped before the worker's last ones but
        // stored late (a thread of the worker preempted between reading
        // the clock and writing the slot).
        let stale = {
            let slot = slot.clone();
            thread::spawn(move || slot.beat(15))
        };
        watch(&slot, 3);
        worker.join().unwrap();
        stale.join().unwrap();
        // Once the writers are done the master sees the freshest beat.
        assert_eq!(slot.last_beat(), 30);
        assert_eq!(watch(&slot, 2), 30);
    });
}

#[test]
fn master_spinning_on_the_slot_sees_the_last_beat() {
    loom::model(|| {
        let slot = Arc::new(HeartbeatSlot::new());
        let worker = {
            let slot = slot.clone();
            thread::spawn(move || {
                slot.beat(1);
                slot.beat(2);
            })
        };
        // No join: the master learns of the beat only through the slot.
        let mut seen = 0;
        while seen < 2 {
            let now = slot.last_beat();
            assert!(
                now >= seen,
                "master saw the beat go back from {seen} to {now}"
            );
            seen = now;
            thread::yield_now();
        }
        worker.join().unwrap();
    });
}

#[test]
fn a_reset_slot_carries_nothing_from_its_previous_owner() {
    loom::model(|| {
        let slot = Arc::new(HeartbeatSlot::new());
        let old = {
            let slot = slot.clone();
            thread::spawn(move || {
                slot.beat(500);
                slot.beat(700);
            })
        };
        // The master reaps the old owner (join), clears the slot, then
        // forks the new one (spawn): a later clock, but small stamps here
        // to show that none of the old owner's beats survive the reset.
        old.join().unwrap();
        slot.reset();
        let new = {
            let slot = slot.clone();
            thread::spawn(move || {
                slot.beat(1);
                slot.beat(2);
            })
        };
        let seen = watch(&slot, 3);
        assert!(seen <= 2, "old owner's beat {seen} seen after the reset");
        new.join().unwrap();
        assert_eq!(slot.last_beat(), 2);
    });
}

/// The master marks the slot "replaced", then sends TERM (modelled as a
/// Release flag; the real `kill` and the signal pipe are stronger): a
/// worker that has seen the TERM sees the mark, beating all the while.
#[test]
fn a_worker_that_sees_the_term_sees_the_replaced_mark() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    loom::model(|| {
        let slot = Arc::new(HeartbeatSlot::new());
        let term = Arc::new(AtomicBool::new(false));
        let master = {
            let (slot, term) = (slot.clone(), term.clone());
            thread::spawn(move || {
                slot.mark_replaced();
                term.store(true, Ordering::Release);
            })
        };
        slot.beat(1);
        if term.load(Ordering::Acquire) {
            assert!(slot.replaced(), "TERM seen before the mark");
        }
        slot.beat(2);
        master.join().unwrap();
        assert!(slot.replaced());
        assert_eq!(slot.last_beat(), 2);
    });
}
