//! loom models of the gthread worker's hand-off: the I/O thread queues
//! connections for the application threads, they serve them and queue them
//! back, waking the I/O thread (its mio `Waker`, an eventfd, is modelled as
//! a counter it watches). Built only with `--cfg loom`:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p sim --test loom_handoff --release
//! ```
//!
//! The properties: every connection comes back exactly once, no wake-up is
//! lost (loom reports a deadlock if a thread could wait forever), closing
//! the queue ends every application thread, and a connection handed over
//! after the worker started draining sees the draining flag (its response
//! says `Connection: close`).
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use rcorn_core::handoff::HandOff;

struct Shared {
    jobs: HandOff<u32>,
    done: HandOff<u32>,
    /// The eventfd behind the I/O thread's waker: a count of wakes.
    wakes: AtomicUsize,
}

/// An application thread: serve until the queue closes.
fn app_thread(shared: Arc<Shared>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut served = 0;
        while let Some(job) = shared.jobs.pop() {
            served += 1;
            // Queue the connection back, then wake, as the worker does:
            // only for the first connection waiting, since the I/O thread
            // takes all of them once woken. It must never see the wake
            // without the connection, nor miss one it needs.
            if shared.done.push(job) == Ok(true) {
                shared.wakes.fetch_add(1, Ordering::Release);
            }
        }
        served
    })
}

/// The I/O thread after queuing `jobs`: waits on its "poll" for wakes and
/// drains what came back until every connection has.
fn io_thread_collects(shared: &Shared, jobs: usize) -> Vec<u32> {
    let mut back = Vec::new();
    let mut seen_wakes = 0;
    while back.len() < jobs {
        shared.done.drain_into(&mut back);
        if back.len() == jobs {
            break;
        }
        // poll(): returns once the eventfd count moved past what we saw.
        loop {
            let now = shared.wakes.load(Ordering::Acquire);
            if now > seen_wakes {
                seen_wakes = now;
                break;
            }
            thread::yield_now();
        }
    }
    back
}

fn shared() -> Arc<Shared> {
    Arc::new(Shared {
        jobs: HandOff::new(),
        done: HandOff::new(),
        wakes: AtomicUsize::new(0),
    })
}

#[test]
fn two_app_threads_return_every_connection_once_and_exit_on_close() {
    loom::model(|| {
        let shared = shared();
        let a = app_thread(shared.clone());
        let b = app_thread(shared.clone());
        assert!(shared.jobs.push(1).is_ok());
        assert!(shared.jobs.push(2).is_ok());
        let mut back = io_thread_collects(&shared, 2);
        back.sort_unstable();
        assert_eq!(back, vec![1, 2]);
        shared.jobs.close();
        let served = a.join().unwrap() + b.join().unwrap();
        assert_eq!(served, 2);
    });
}

#[test]
fn closing_while_a_job_waits_still_hands_it_out() {
    loom::model(|| {
        let shared = shared();
        let a = app_thread(shared.clone());
        assert!(shared.jobs.push(1).is_ok());
        // The worker drains: no more jobs, but the queued one is served.
        shared.jobs.close();
        assert_eq!(shared.jobs.push(2), Err(2));
        assert_eq!(io_thread_collects(&shared, 1), vec![1]);
        assert_eq!(a.join().unwrap(), 1);
    });
}

#[test]
fn a_connection_handed_over_after_draining_began_sees_the_flag() {
    loom::model(|| {
        let shared = shared();
        let draining = Arc::new(AtomicBool::new(false));
        let app = {
            let shared = shared.clone();
            let draining = draining.clone();
            thread::spawn(move || {
                let mut seen = Vec::new();
                while let Some(job) = shared.jobs.pop() {
                    // As the exchange reads it when the response begins.
                    seen.push((job, draining.load(Ordering::Relaxed)));
                }
                seen
            })
        };
        assert!(shared.jobs.push(1).is_ok());
        // The loop's order: the flag (Relaxed, as in AppPool::set_draining),
        // then the next hand-over through the queue's lock.
        draining.store(true, Ordering::Relaxed);
        assert!(shared.jobs.push(2).is_ok());
        shared.jobs.close();
        let seen = app.join().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1], (2, true), "job 2 missed the draining flag");
    });
}
