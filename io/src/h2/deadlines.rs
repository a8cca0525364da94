//! The loop's own record of when each HTTP/2 connection's machine next
//! needs it (`H2Connection::next_deadline`), ordered by time.
//!
//! The rules it keeps:
//!
//! 1. **The loop never locks a connection to learn its deadline.** It is
//!    recorded here after every pump, while the pump holds the lock; the
//!    poll's timeout and the due connections are read from here alone, so
//!    their cost does not grow with idle connections.
//! 2. **A thread that moves a deadline earlier tells the loop** (see
//!    `H2Shared::published_deadline`): the loop pumps that connection,
//!    which records the new one.
//! 3. **One entry per slot**: a new record replaces the old one.

use std::collections::BTreeSet;

use rcorn_core::time::Instant;

#[derive(Default)]
pub(crate) struct Deadlines {
    by_time: BTreeSet<(Instant, usize)>,
    /// Each slot's entry in `by_time`, if it has one.
    of_slot: Vec<Option<Instant>>,
}

impl Deadlines {
    /// Records `slot`'s next deadline (`None`: it has none).
    pub fn set(&mut self, slot: usize, deadline: Option<Instant>) {
        if self.of_slot.len() <= slot {
            self.of_slot.resize(slot + 1, None);
        }
        if self.of_slot[slot] == deadline {
            return;
        }
        if let Some(old) = self.of_slot[slot].take() {
            self.by_time.remove(&(old, slot));
        }
        if let Some(new) = deadline {
            self.by_time.insert((new, slot));
        }
        self.of_slot[slot] = deadline;
    }

    /// The earliest deadline of any connection.
    pub fn earliest(&self) -> Option<Instant> {
        self.by_time.first().map(|&(t, _)| t)
    }

    /// Appends the slots whose deadlines fall at or before `now`, earliest
    /// first. Their entries stay until their pump records new ones.
    pub fn due(&self, now: Instant, out: &mut Vec<usize>) {
        out.extend(
            self.by_time
                .iter()
                .take_while(|&&(t, _)| t <= now)
                .map(|&(_, slot)| slot),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(d: &Deadlines, ms: u64) -> Vec<usize> {
        let mut out = Vec::new();
        d.due(Instant::from_millis(ms), &mut out);
        out
    }

    #[test]
    fn the_earliest_of_all_slots_and_only_the_due_ones() {
        let mut d = Deadlines::default();
        assert_eq!(d.earliest(), None);
        d.set(3, Some(Instant::from_millis(300)));
        d.set(0, Some(Instant::from_millis(100)));
        d.set(7, Some(Instant::from_millis(200)));
        d.set(5, None);
        assert_eq!(d.earliest(), Some(Instant::from_millis(100)));
        assert_eq!(due(&d, 99), Vec::<usize>::new());
        assert_eq!(due(&d, 200), vec![0, 7]);
        assert_eq!(due(&d, 1_000), vec![0, 7, 3]);
    }

    #[test]
    fn a_new_record_replaces_the_old_one() {
        let mut d = Deadlines::default();
        d.set(1, Some(Instant::from_millis(100)));
        d.set(1, Some(Instant::from_millis(500)));
        assert_eq!(d.earliest(), Some(Instant::from_millis(500)));
        assert_eq!(due(&d, 400), Vec::<usize>::new());
        d.set(1, None);
        assert_eq!(d.earliest(), None);
        assert_eq!(due(&d, 1_000), Vec::<usize>::new());
    }

    #[test]
    fn slots_with_the_same_deadline_are_all_kept() {
        let mut d = Deadlines::default();
        let t = Some(Instant::from_millis(100));
        d.set(2, t);
        d.set(4, t);
        assert_eq!(due(&d, 100), vec![2, 4]);
        d.set(2, None);
        assert_eq!(due(&d, 100), vec![4]);
    }
}
