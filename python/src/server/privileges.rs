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
        let uid = numeric_id(settings.user(), "user", |name| {
            User::from_name(name).map(|u| u.map(|u| u.uid.as_raw()))
        })?
        .map_or_else(Uid::effective, Uid::from_raw);
        let gid = numeric_id(settings.group(), "group", |name| {
            Group::from_name(name).map(|g| g.map(|g| g.gid.as_raw()))
        })?
        .map_or_else(Gid::effective, Gid::from_raw);
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

/// A `user`/`group` setting as an id: a number as given, a name looked up
/// with `by_name`; `None` when unset. Errors name the setting and value.
fn numeric_id(
    value: &Value,
    what: &str,
    by_name: impl Fn(&str) -> nix::Result<Option<u32>>,
) -> Result<Option<u32>, String> {
    match value {
        Value::Int(n) => u32::try_from(*n)
            .map(Some)
            .map_err(|_| format!("{what}: {n} is not a {what} id")),
        Value::Str(name) => by_name(name)
            .map_err(|e| format!("{what}: cannot look up {name:?}: {e}"))?
            .map(Some)
            .ok_or_else(|| format!("{what}: no such {what} {name:?}")),
        _ => Ok(None),
    }
}
