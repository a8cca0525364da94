//! `--pid FILE`: the master's pid, removed when the master exits. As in
//! gunicorn, a master started by a USR2 upgrade writes `FILE.2` while the old
//! master (which keeps `FILE`) lives, and moves its pid to `FILE` once
//! promoted; if it dies first, `FILE` still names the old master.
//!
//! As gunicorn's `Pidfile.create`, a file that names another live process
//! stops the start-up; one naming a dead process, or holding anything but
//! a number, is stale and replaced.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

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
    /// Writes this process's pid to `path`, unless the file names another
    /// live process.
    pub fn create(path: PathBuf) -> Result<Pidfile, String> {
        refuse_if_running(&path, None)?;
        write_pid(&path)?;
        Ok(Pidfile { path })
    }

    /// Promotion: the pid moves to `to`, and the old file goes. `to` may
    /// still name `old_master`, which has just exited (it may not be
    /// reaped yet); any other live process there keeps this one at its
    /// current file.
    pub fn rename(&mut self, to: PathBuf, old_master: Option<u32>) -> Result<(), String> {
        refuse_if_running(&to, old_master)?;
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

/// gunicorn's refusal: `path` names a live process other than this one
/// (and other than `replacing`).
fn refuse_if_running(path: &Path, replacing: Option<u32>) -> Result<(), String> {
    match running_pid(path)? {
        Some(pid) if pid != std::process::id() && Some(pid) != replacing => Err(format!(
            "Already running on PID {pid} (or pid file '{}' is stale)",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The live process `path` names, if any: gunicorn's `Pidfile.validate`.
/// No file, content that is not a pid, or a pid no process has: `None`.
/// A process this user may not signal is alive all the same.
fn running_pid(path: &Path) -> Result<Option<u32>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read pidfile '{}': {e}", path.display())),
    };
    let Some(pid) = parse_pid(&bytes) else {
        return Ok(None);
    };
    match kill(Pid::from_raw(pid as i32), None) {
        Ok(()) | Err(Errno::EPERM) => Ok(Some(pid)),
        Err(Errno::ESRCH) => Ok(None),
        Err(e) => Err(format!(
            "cannot check pid {pid} from pidfile '{}': {e}",
            path.display()
        )),
    }
}

/// A process id written as a decimal number, with whitespace around it as
/// Python's `int()` allows. Zero, negative and out-of-range numbers name
/// no single process and count as garbage.
fn parse_pid(bytes: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let pid: i32 = text.parse().ok()?;
    u32::try_from(pid).ok().filter(|&p| p > 0)
}

/// Writes this process's pid through a temporary file renamed into place,
/// so a reader never sees the file empty or half written; readable by all,
/// as gunicorn leaves it.
fn write_pid(path: &Path) -> Result<(), String> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| format!("cannot write pidfile '{}': {e}", path.display());
    std::fs::write(&temp, format!("{}\n", std::process::id())).map_err(fail)?;
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644)).map_err(fail)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        fail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_read_as_python_int_reads_them() {
        assert_eq!(parse_pid(b"123\n"), Some(123));
        assert_eq!(parse_pid(b"  +42 \t\n"), Some(42));
        for garbage in [
            &b""[..],
            b"\n",
            b"abc",
            b"12a",
            b"0",
            b"-5",
            b"99999999999",
            b"\xff1",
        ] {
            assert_eq!(parse_pid(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn a_live_pid_is_refused_a_dead_or_garbage_one_replaced() {
        let dir = std::env::temp_dir().join(format!("rcorn-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.pid");
        // pid 1 is always alive (EPERM for an unprivileged user).
        std::fs::write(&path, "1\n").unwrap();
        let err = Pidfile::create(path.clone()).err().unwrap();
        assert_eq!(
            err,
            format!(
                "Already running on PID 1 (or pid file '{}' is stale)",
                path.display()
            )
        );
        // ...unless it is the master being replaced at promotion.
        assert_eq!(refuse_if_running(&path, Some(1)), Ok(()));
        for stale in ["not a pid\n", ""] {
            std::fs::write(&path, stale).unwrap();
            let file = Pidfile::create(path.clone()).unwrap();
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                format!("{}\n", std::process::id())
            );
            drop(file);
            assert!(!path.exists());
        }
        // Its own pid (a file left by this very process) is no obstacle.
        std::fs::write(&path, format!("{}", std::process::id())).unwrap();
        drop(Pidfile::create(path.clone()).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
