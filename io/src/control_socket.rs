//! The master's control socket: a unix socket `gunicornc` (and `rcorn
//! ctl`) talk to. This file only moves bytes: the framing, the commands
//! and the answers are `rcorn_core::control`'s, and the master runs each
//! command through the callback it gives [`ControlSocket::service`].
//!
//! The socket is a way into the master, so it is guarded: its folder must
//! not be writable by anyone but its owner (a missing folder is made, mode
//! 0700), the socket gets `control_socket_mode` (0600 by default), another
//! live server's socket at the same path is left alone, a file that is not
//! a socket is never removed, at most [`MAX_CLIENTS`] are served at once,
//! and a client that sends a bad frame, or does not read its answers, is
//! dropped.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use rcorn_core::control::{self, answer, FrameReader};
use serde_json::Value;

/// Clients served at once; more are closed as soon as they are accepted.
pub const MAX_CLIENTS: usize = 16;
/// Answers a client may leave unread before it is dropped.
const MAX_PENDING_OUTPUT: usize = 1 << 20;

struct Client {
    stream: UnixStream,
    reader: FrameReader,
    out: Vec<u8>,
    /// A bad frame was answered: close once the answer is written.
    closing: bool,
}

pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    first_token: usize,
    clients: Vec<Option<Client>>,
}

/// Why the socket could not be opened; said in one line by the caller.
#[derive(Debug)]
pub enum OpenError {
    /// Another live server answers at the path.
    InUse(PathBuf),
    /// The folder is writable by others than its owner.
    UnsafeFolder(PathBuf),
    /// Something that is not a socket is at the path.
    NotASocket(PathBuf),
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::InUse(p) => write!(f, "{} is in use by another server", p.display()),
            OpenError::UnsafeFolder(p) => write!(
                f,
                "{} is writable by others than its owner; use a private folder",
                p.display()
            ),
            OpenError::NotASocket(p) => {
                write!(
                    f,
                    "{} exists and is not a socket; not replacing it",
                    p.display()
                )
            }
            OpenError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl ControlSocket {
    /// Listens at `path` with permission bits `mode`. Tokens from
    /// `first_token` on are this socket's: the listener's, then one per
    /// client.
    pub fn open(path: &Path, mode: u32, first_token: usize) -> Result<ControlSocket, OpenError> {
        let io_err = |e| OpenError::Io(path.to_owned(), e);
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(|e| OpenError::Io(folder.to_owned(), e))?;
        }
        let meta = std::fs::metadata(folder).map_err(|e| OpenError::Io(folder.to_owned(), e))?;
        if meta.mode() & 0o022 != 0 {
            return Err(OpenError::UnsafeFolder(folder.to_owned()));
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_socket() => return Err(OpenError::NotASocket(path.into())),
            Ok(_) => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(OpenError::InUse(path.into()));
                }
                // Left by a server that is gone.
                std::fs::remove_file(path).map_err(io_err)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        let listener = UnixListener::bind(path).map_err(io_err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io_err)?;
        Ok(ControlSocket {
            listener,
            path: path.to_owned(),
            first_token,
            clients: Vec::new(),
        })
    }

    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        registry.register(
            &mut self.listener,
            Token(self.first_token),
            Interest::READABLE,
        )
    }

    /// Accepts, reads, answers and writes whatever is ready; `run` turns a
    /// command into its answer's data. Every client is served to
    /// `WouldBlock` (the poll is edge-triggered).
    pub fn service(
        &mut self,
        registry: &Registry,
        run: &mut dyn FnMut(&control::Command) -> Value,
    ) {
        self.accept(registry);
        for slot in 0..self.clients.len() {
            let Some(client) = self.clients[slot].as_mut() else {
                continue;
            };
            if !serve_client(client, run) {
                if let Some(mut gone) = self.clients[slot].take() {
                    let _ = registry.deregister(&mut gone.stream);
                }
            }
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::error!("control socket: accept failed: {e}");
                    return;
                }
            };
            let free = match self.clients.iter().position(Option::is_none) {
                Some(i) => i,
                None if self.clients.len() < MAX_CLIENTS => {
                    self.clients.push(None);
                    self.clients.len() - 1
                }
                None => {
                    crate::warning!(
                        "control socket: {MAX_CLIENTS} clients already; closing one more"
                    );
                    continue;
                }
            };
            let token = Token(self.first_token + 1 + free);
            let interest = Interest::READABLE | Interest::WRITABLE;
            if registry.register(&mut stream, token, interest).is_ok() {
                self.clients[free] = Some(Client {
                    stream,
                    reader: FrameReader::new(),
                    out: Vec::new(),
                    closing: false,
                });
            }
        }
    }

    /// Removes the socket file (the master, as it exits).
    pub fn remove_file(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads what `client` sent, queues the answers, writes what it can.
/// `false`: the client is done (closed, misbehaved, or answered for the
/// last time).
fn serve_client(client: &mut Client, run: &mut dyn FnMut(&control::Command) -> Value) -> bool {
    let mut eof = false;
    let mut buf = [0u8; 4096];
    while !client.closing {
        match client.stream.read(&mut buf) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => client.reader.feed(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
        answer_frames(client, run);
    }
    if client.out.len() > MAX_PENDING_OUTPUT {
        return false;
    }
    while !client.out.is_empty() {
        match client.stream.write(&client.out) {
            Ok(0) => return false,
            Ok(n) => {
                client.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    !(eof || client.closing)
}

fn answer_frames(client: &mut Client, run: &mut dyn FnMut(&control::Command) -> Value) {
    loop {
        let reply = match client.reader.next_frame() {
            Ok(None) => return,
            Ok(Some(payload)) => match control::parse_request(&payload) {
                Ok(request) => match &request.command {
                    Ok(command) => answer::ok(&request.id, run(command)),
                    Err(why) => answer::error(&request.id, why),
                },
                Err(why) => {
                    client.closing = true;
                    answer::error(&Value::Null, &why)
                }
            },
            Err(e) => {
                client.closing = true;
                answer::error(&Value::Null, &e.to_string())
            }
        };
        client
            .out
            .extend(control::encode(reply.to_string().as_bytes()));
        if client.closing {
            return;
        }
    }
}
