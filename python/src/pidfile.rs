//! `--pid FILE`: the master's pid, removed when the master exits. As in
//! gunicorn, a master started by a USR2 upgrade writes `FILE.2` while the old
//! master (which keeps `FILE`) lives, and moves its pid to `FILE` once
//! promoted; if it dies first, `FILE` still names the old master.

use std::path::{Path, PathBuf};

pub struct Pidfile {
    /// Where this master's pid is now.
    path: PathBuf,
}

/// The file a master writes: the configured one, or `FILE.2` for a master
/// an upgrade started and that is not promoted yet.
pub fn path_for(configured: &str, new_master: bool) -> PathBuf {
    if new_master {
        format!("{configured}.2").into()
    } else {
        configured.into()
    }
}

impl Pidfile {
    pub fn create(path: PathBuf) -> Result<Pidfile, String> {
        write_pid(&path)?;
        Ok(Pidfile { path })
    }

    /// Promotion: the pid moves to `to`, and the old file goes.
    pub fn rename(&mut self, to: PathBuf) -> Result<(), String> {
        write_pid(&to)?;
        self.remove_if_ours();
        self.path = to;
        Ok(())
    }

    /// Only removes the file if it still names this process (a successor
    /// may own it).
    fn remove_if_ours(&self) {
        let ours = std::fs::read_to_string(&self.path)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        self.remove_if_ours();
    }
}

/// Writes this process's pid through a temporary file renamed into place,
/// so a reader never sees the file empty or half written.
fn write_pid(path: &Path) -> Result<(), String> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| format!("cannot write pidfile '{}': {e}", path.display());
    std::fs::write(&temp, format!("{}\n", std::process::id())).map_err(fail)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        fail(e)
    })
}
