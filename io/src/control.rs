//! Worker → master messages over one pipe made before the first fork.
//!
//! Messages are 8 bytes, far below PIPE_BUF, so writes from many workers
//! never interleave.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlMessage {
    /// The worker loaded the application and is accepting.
    Ready { pid: i32 },
}

const READY: u32 = 1;

pub struct ControlPipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl ControlPipe {
    pub fn new() -> io::Result<ControlPipe> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        nix::fcntl::fcntl(
            &read,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        Ok(ControlPipe { read, write })
    }

    pub fn read_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// The sending end, for a forked worker.
    pub fn sender(&self) -> io::Result<ControlSender> {
        Ok(ControlSender {
            write: self.write.try_clone()?,
        })
    }

    /// Appends every complete message waiting in the pipe.
    pub fn drain(&self, out: &mut Vec<ControlMessage>) {
        let mut buf = [0u8; 8 * 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    for m in buf[..n - n % 8].chunks_exact(8) {
                        let kind = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
                        let pid = i32::from_le_bytes([m[4], m[5], m[6], m[7]]);
                        if kind == READY {
                            out.push(ControlMessage::Ready { pid });
                        }
                    }
                }
            }
        }
    }
}

pub struct ControlSender {
    write: OwnedFd,
}

impl ControlSender {
    pub fn send(&self, msg: ControlMessage) -> io::Result<()> {
        let ControlMessage::Ready { pid } = msg;
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&READY.to_le_bytes());
        bytes[4..].copy_from_slice(&pid.to_le_bytes());
        nix::unistd::write(&self.write, &bytes)?;
        Ok(())
    }
}
