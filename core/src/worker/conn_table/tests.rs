use std::time::Duration;

use super::*;
use crate::worker::{WorkerSettings, WorkerSignal};

const IDLE: Duration = Duration::from_secs(2);

/// A connection that waits `IDLE` for its peer, as an idle
/// `ServerConnection` does.
#[derive(Default)]
struct Fake {
    deadline: Option<Instant>,
    busy: bool,
    unwritten: bool,
}

impl TableConn for Fake {
    fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }
    fn handle_timeout(&mut self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }
    fn await_peer(&mut self, now: Instant) {
        self.deadline = Some(now + IDLE);
    }
    fn retire(&mut self, now: Instant) {
        if !self.busy {
            let by = now + Duration::from_millis(500);
            self.deadline = Some(self.deadline.map_or(by, |d| d.min(by)));
        }
    }
    fn has_unwritten(&self) -> bool {
        self.unwritten
    }
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn table(worker_connections: usize) -> ConnTable<Fake> {
    let settings = WorkerSettings {
        worker_connections,
        timeout: Duration::ZERO,
        ..Default::default()
    };
    let mut lifecycle = WorkerLifecycle::new(settings, at(0));
    lifecycle.handle(at(0), WorkerEvent::Booted, &mut Vec::new());
    ConnTable::new(lifecycle, WriteBatch::new(Duration::from_millis(1), 2))
}

fn open(t: &mut ConnTable<Fake>, ms: u64) -> (usize, Vec<WorkerCommand>) {
    let mut out = Vec::new();
    let slot = t.reserve();
    t.open(slot, Fake::default(), at(ms), &mut out);
    (slot, out)
}

#[test]
fn opening_to_the_cap_stops_accepting_and_a_close_resumes() {
    let mut t = table(2);
    let (a, out) = open(&mut t, 0);
    assert!(out.is_empty() && t.accepting());
    let (_, out) = open(&mut t, 0);
    assert_eq!(out, [WorkerCommand::StopAccepting]);
    assert!(!t.accepting());
    assert_eq!(t.open_count(), 2);
    let mut out = Vec::new();
    t.close(a, at(1), &mut out);
    assert_eq!(out, [WorkerCommand::ResumeAccepting]);
    assert!(t.accepting() && t.open_count() == 1);
    // Closing a free slot again changes nothing.
    out.clear();
    t.close(a, at(1), &mut out);
    assert!(out.is_empty() && t.open_count() == 1);
}

#[test]
fn a_reserved_slot_given_back_is_reused_and_never_counted() {
    let mut t = table(10);
    let slot = t.reserve();
    t.unreserve(slot);
    assert_eq!(t.open_count(), 0);
    assert_eq!(t.reserve(), slot);
}

#[test]
fn the_deadline_is_the_earliest_and_expiry_names_the_passed() {
    let mut t = table(10);
    let (a, _) = open(&mut t, 0);
    let (b, _) = open(&mut t, 500);
    assert_eq!(t.next_deadline(), Some(at(2000)));
    let conn = t.take(a).unwrap();
    assert_eq!(
        t.next_deadline(),
        Some(at(2500)),
        "a connection away has no deadline"
    );
    t.keep(a, conn, at(1000));
    let mut expired = Vec::new();
    t.expire(at(2999), &mut expired);
    assert_eq!(expired, [b]);
    assert_eq!(
        t.wait_time(at(2999), Duration::from_secs(1), Duration::from_millis(1)),
        Duration::from_millis(1),
        "never less than the shortest"
    );
}

#[test]
fn retiring_bounds_the_idle_and_lets_the_busy_finish() {
    let mut t = table(10);
    let (idle, _) = open(&mut t, 0);
    let (busy, _) = open(&mut t, 0);
    let (away, _) = open(&mut t, 0);
    // An application thread has this one.
    assert!(t.take(away).is_some());
    let mut out = Vec::new();
    t.lifecycle_mut()
        .handle(at(100), WorkerEvent::Signal(WorkerSignal::Term), &mut out);
    assert!(out.contains(&WorkerCommand::RetireIdleConnections));
    let mut slots = Vec::new();
    t.retire_idle(&mut slots);
    assert_eq!(slots, [idle, busy], "only the connections the loop holds");
    let conn = t.take(idle).unwrap();
    t.keep(idle, conn, at(100));
    let mut conn = t.take(busy).unwrap();
    conn.busy = true;
    t.keep(busy, conn, at(100));
    assert_eq!(t.get_mut(idle).unwrap().deadline, Some(at(600)));
    assert_eq!(t.get_mut(busy).unwrap().deadline, Some(at(2000)));
    // Once kept, a connection is back to the ordinary wait.
    let conn = t.take(idle).unwrap();
    t.keep(idle, conn, at(200));
    assert_eq!(t.get_mut(idle).unwrap().deadline, Some(at(2200)));
    // The worker exits once the last connection closes.
    let mut out = Vec::new();
    for slot in [idle, busy, away] {
        t.close(slot, at(300), &mut out);
    }
    assert_eq!(out, [WorkerCommand::Exit { code: 0 }]);
}

#[test]
fn kept_responses_are_batched_until_due() {
    let mut t = table(10);
    let (a, _) = open(&mut t, 0);
    let (b, _) = open(&mut t, 0);
    for slot in [a, b] {
        let mut conn = t.take(slot).unwrap();
        conn.unwritten = true;
        t.keep(slot, conn, at(10));
        assert!(t.has_unwritten());
    }
    assert!(t.flush_due(at(10)), "the batch's limit is two");
    assert_eq!(t.next_deadline(), Some(at(11)));
    let slots = t.take_unwritten();
    assert_eq!(slots, [a, b]);
    t.recycle(slots);
    assert!(!t.has_unwritten() && !t.flush_due(at(100)));
}

#[test]
fn a_read_owed_is_taken_once_and_a_new_slot_owes_none() {
    let mut t = table(10);
    let (a, _) = open(&mut t, 0);
    t.owe_read(a);
    assert!(t.take_owed_read(a));
    assert!(!t.take_owed_read(a));
    t.owe_read(a);
    t.close(a, at(1), &mut Vec::new());
    assert_eq!(t.reserve(), a);
    assert!(!t.take_owed_read(a));
    // Slots never reserved are ignored.
    t.owe_read(99);
    assert!(!t.take_owed_read(99));
}

#[test]
fn a_connection_handed_over_frees_its_slot_but_stays_counted() {
    let mut t = table(2);
    let (a, _) = open(&mut t, 0);
    let (_, out) = open(&mut t, 0);
    assert_eq!(out, [WorkerCommand::StopAccepting]);
    // Another protocol's table takes `a` over: its slot is free again,
    // but the cap still counts it until the loop reports its close.
    t.hand_over(a);
    assert_eq!(t.open_count(), 1);
    assert!(!t.accepting(), "a connection handed over still counts");
    assert_eq!(t.reserve(), a);
    let mut out = Vec::new();
    t.lifecycle_mut()
        .handle(at(1), WorkerEvent::ConnectionClosed, &mut out);
    assert_eq!(out, [WorkerCommand::ResumeAccepting]);
}
