//! `http.response.pathsend` on a plain connection: the file goes from the
//! page cache to the socket with sendfile(2), as `wsgi.file_wrapper` does
//! in the WSGI workers. Core's encoder frames the bytes it never sees
//! (`external_body`); the connection's `flush` sends them as the socket
//! takes them, so a slow reader holds a file offset, not a buffer. Over
//! TLS (every byte must be encrypted) or with `--no-sendfile`, Python
//! reads the file and sends it as body messages instead.

use std::fs::File;
use std::os::fd::{BorrowedFd, RawFd};

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use rcorn_io::clock;

use super::conn::{FileBody, Stage};
use super::driver::AsgiDriver;

impl AsgiDriver {
    /// Sends `len` bytes of the open file `fd` from its start as the whole
    /// response body. `Ok(true)`: the task waits for an `EV_WAKE` (the
    /// socket has not taken all of it yet).
    pub(super) fn file_body(&mut self, id: usize, fd: RawFd, len: u64) -> PyResult<bool> {
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(false);
        };
        if c.stage != Stage::InRequest {
            return Err(PyRuntimeError::new_err("the response is already complete"));
        }
        if c.write_failed {
            return Ok(false);
        }
        if !c.conn.stream.is_plain() {
            return Err(PyRuntimeError::new_err("sendfile over a TLS connection"));
        }
        // SAFETY: the caller holds `fd` open for the length of this call;
        // the clone is a descriptor of our own.
        let file = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        let conn = &mut *c.conn;
        if !conn.http.head_ended() {
            let hint = (!c.trailers).then_some(len);
            let date = self.dates.get(clock::unix_secs());
            conn.http
                .end_head(date, hint, &mut conn.out)
                .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        }
        let plan = conn
            .http
            .external_body(len, &mut conn.out)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        c.body_given += len;
        c.file = Some(FileBody {
            file: File::from(file),
            at: 0,
            end: plan.send,
            after: plan.after,
        });
        match c.flush() {
            Ok(done) => {
                c.sending = !done;
                Ok(!done)
            }
            Err(_) => {
                c.file = None;
                c.conn.out.clear();
                c.write_failed = true;
                c.disconnected = true;
                self.note_gone(id);
                Ok(false)
            }
        }
    }
}
