//! A master started by a USR2 upgrade, until it is promoted. gunicorn's new
//! master knows it is one from the environment (here `RCORN_PID`, the old
//! master's pid); while that old master lives, the new one's pidfile is
//! `FILE.2` and its process title and log name carry `.2`. Once its parent
//! is no longer the old master (the old one exited and the new one was
//! re-parented), it is promoted: plain names again, and the variable goes
//! from the environment so later workers and upgrades do not see it.

use rcorn_io::reexec::PARENT_VAR;

pub struct NewMaster {
    old_master: i32,
}

impl NewMaster {
    /// `Some` in a master a USR2 upgrade started and not yet promoted (and
    /// in the workers it forked meanwhile).
    pub fn from_env() -> Option<NewMaster> {
        let old_master = std::env::var(PARENT_VAR).ok()?.parse().ok()?;
        Some(NewMaster { old_master })
    }

    /// The pid of the master whose upgrade started this one.
    pub fn old_master(&self) -> u32 {
        self.old_master.unsigned_abs()
    }

    /// The old master has exited: this process is no longer its child.
    pub fn promoted(&self) -> bool {
        nix::unistd::getppid().as_raw() != self.old_master
    }
}

/// gunicorn's `proc_name` for titles and hooks' `server.proc_name`:
/// `NAME.2` until promotion.
pub fn proc_name(name: &str, new_master: bool) -> String {
    if new_master {
        format!("{name}.2")
    } else {
        name.to_owned()
    }
}

/// gunicorn's name for the master in its log lines.
pub fn master_name(new_master: bool) -> &'static str {
    if new_master {
        "Master.2"
    } else {
        "Master"
    }
}
