//! Response bodies sent from a file with sendfile(2): the bytes go from the
//! page cache to the socket without being copied through the worker, which
//! is what `wsgi.file_wrapper` over a real file is for (gunicorn does the
//! same).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

use super::{ExchangeError, H1Exchange};
use crate::blocking::{self, Deadline, Interest};

/// sendfile moves at most about 2 GiB per call on Linux.
const MAX_PER_CALL: u64 = 1 << 30;

impl H1Exchange<'_> {
    /// Sends `len` bytes of `file` from `offset` as the next part of the
    /// body. Returns how many were sent: fewer when a declared
    /// Content-Length cuts the body short, as with [`H1Exchange::write_body`].
    /// A file that turns out shorter than `len` breaks the exchange, so the
    /// client never takes a short body for a whole one.
    pub fn send_file(
        &mut self,
        file: BorrowedFd<'_>,
        offset: u64,
        len: u64,
    ) -> Result<u64, ExchangeError> {
        if !self.conn.http.head_ended() {
            return Err(ExchangeError::Protocol(
                "write() before start_response()".into(),
            ));
        }
        if !self.conn.stream.is_plain() {
            // TLS must see every byte; the server turns sendfile off then.
            return Err(ExchangeError::Protocol(
                "sendfile over a TLS connection".into(),
            ));
        }
        let plan = self.conn.http.external_body(len, &mut self.conn.out)?;
        let deadline = self.deadline();
        let sent = self
            .conn
            .flush(deadline)
            .and_then(|()| self.sendfile_all(file, offset, plan.send, deadline));
        if let Err(e) = sent {
            self.broken = true;
            // sendfile(2) returns 0 only at the end of the file.
            self.file_short = e.kind() == io::ErrorKind::UnexpectedEof;
            return Err(e.into());
        }
        self.conn.out.extend_from_slice(plan.after);
        self.body_bytes += plan.send;
        Ok(plan.send)
    }

    fn sendfile_all(
        &mut self,
        file: BorrowedFd<'_>,
        offset: u64,
        len: u64,
        mut deadline: Deadline,
    ) -> io::Result<()> {
        let end = offset + len;
        let mut at = i64::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        while (at as u64) < end {
            let count = (end - at as u64).min(MAX_PER_CALL) as usize;
            match nix::sys::sendfile::sendfile64(&self.conn.stream, file, Some(&mut at), count) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => crate::metrics::sent(n),
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    blocking::wait(self.conn.stream.as_raw_fd(), Interest::Write, &mut deadline)?
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
