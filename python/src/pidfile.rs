//! `--pid FILE`: the master's pid, removed when the master exits. During a
//! USR2 upgrade the old master's file moves aside to `FILE.oldbin` while the
//! new master writes `FILE`, and moves back if the new master exits first
//! (gunicorn's rollback path).

use std::path::PathBuf;

pub struct Pidfile {
    path: PathBuf,
    /// Where this master's pid is now: `path`, or `path.oldbin`.
    current: PathBuf,
}

impl Pidfile {
    pub fn create(path: &str) -> Result<Pidfile, String> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("cannot write pidfile '{path}': {e}"))?;
        Ok(Pidfile {
            path: path.into(),
            current: path.into(),
        })
    }

    fn oldbin(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".oldbin");
        name.into()
    }

    /// An upgrade started: make room for the new master's pidfile.
    pub fn move_aside(&mut self) {
        let oldbin = self.oldbin();
        if std::fs::rename(&self.current, &oldbin).is_ok() {
            self.current = oldbin;
        }
    }

    /// The new master exited: this master's pidfile is the pidfile again.
    pub fn restore(&mut self) {
        if self.current != self.path && std::fs::rename(&self.current, &self.path).is_ok() {
            self.current = self.path.clone();
        }
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        // Only remove it if it still names us (a successor may own it).
        let ours = std::fs::read_to_string(&self.current)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(&self.current);
        }
    }
}
