//! `--user`, `--group`, `--initgroups`, `--umask`: the master keeps its
//! privileges (it may need them to bind and to re-exec); each worker drops
//! to the configured user and group right after the fork, before it loads
//! the application, as gunicorn's workers do.

use std::ffi::CString;

use nix::unistd::{Gid, Group, Uid, User};
use rcorn_core::config::{Settings, Value};

/// The uid and gid workers run as, resolved once in the master so a
/// misspelt name stops start-up with a clear message.
pub struct Identity {
    uid: Uid,
    gid: Gid,
    /// The user's name, for initgroups.
    name: Option<CString>,
    initgroups: bool,
}

impl Identity {
    pub fn resolve(settings: &Settings) -> Result<Identity, String> {
        let uid = match settings.user() {
            Value::Int(n) => {
                Uid::from_raw(u32::try_from(*n).map_err(|_| format!("user: {n} is not a user id"))?)
            }
            Value::Str(name) => {
                User::from_name(name)
                    .map_err(|e| format!("user: cannot look up {name:?}: {e}"))?
                    .ok_or_else(|| format!("user: no such user {name:?}"))?
                    .uid
            }
            _ => Uid::effective(),
        };
        let gid = match settings.group() {
            Value::Int(n) => Gid::from_raw(
                u32::try_from(*n).map_err(|_| format!("group: {n} is not a group id"))?,
            ),
            Value::Str(name) => {
                Group::from_name(name)
                    .map_err(|e| format!("group: cannot look up {name:?}: {e}"))?
                    .ok_or_else(|| format!("group: no such group {name:?}"))?
                    .gid
            }
            _ => Gid::effective(),
        };
        let name = User::from_uid(uid)
            .ok()
            .flatten()
            .and_then(|u| CString::new(u.name).ok());
        Ok(Identity {
            uid,
            gid,
            name,
            initgroups: settings.initgroups(),
        })
    }

    pub fn uid(&self) -> Uid {
        self.uid
    }

    pub fn gid(&self) -> Gid {
        self.gid
    }

    /// Switches this process (a fresh worker) to the identity. Groups
    /// first: after setuid there is no right left to change them.
    pub fn assume(&self) -> Result<(), String> {
        let changing_gid = self.gid != Gid::effective();
        let changing_uid = self.uid != Uid::effective();
        if !changing_gid && !changing_uid {
            return Ok(());
        }
        match (&self.name, self.initgroups) {
            (Some(name), true) => nix::unistd::initgroups(name, self.gid)
                .map_err(|e| format!("cannot take the groups of user {name:?}: {e}"))?,
            // Leaving root's supplementary groups on a worker that is
            // otherwise unprivileged would keep what --user meant to drop.
            _ if changing_uid => nix::unistd::setgroups(&[self.gid])
                .map_err(|e| format!("cannot drop supplementary groups: {e}"))?,
            _ => {}
        }
        if changing_gid {
            nix::unistd::setgid(self.gid)
                .map_err(|e| format!("cannot switch to group {}: {e}", self.gid))?;
        }
        if changing_uid {
            nix::unistd::setuid(self.uid)
                .map_err(|e| format!("cannot switch to user {}: {e}", self.uid))?;
        }
        Ok(())
    }
}
