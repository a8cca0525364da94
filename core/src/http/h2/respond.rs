//! The application's side of an HTTP/2 connection: reading a request's
//! body (credit goes back as it is read), and writing the response head,
//! body (within the client's credit and the output bound) and trailers.

use crate::time::Instant;

use super::connection::H2Connection;
use super::error::{AppError, ErrorCode};
use super::frame;
use super::hpack::{encode_field, encode_status};
use super::stream::{response_field, Half, Stream};

/// What [`H2Connection::read_body`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyRead {
    /// This many bytes were appended.
    Data(usize),
    /// None yet: wait for a `Readable` event.
    Pending,
    /// The body is complete (trailers, if any, are in `trailers`).
    End,
}

impl H2Connection {
    fn handled(&mut self, id: u32) -> Result<&mut Stream, AppError> {
        self.streams
            .get_mut(&id)
            .filter(|s| s.handler)
            .ok_or(AppError::UnknownStream)
    }

    /// Appends up to `max` body bytes of stream `id` to `out`.
    pub fn read_body(
        &mut self,
        id: u32,
        out: &mut Vec<u8>,
        max: usize,
    ) -> Result<BodyRead, AppError> {
        let s = self.handled(id)?;
        if !s.body.is_empty() {
            let n = max.min(s.body.len());
            out.extend(s.body.drain(..n));
            let credit = s.credit_for(n);
            self.return_conn_credit(credit);
            self.return_stream_credit(id, credit);
            return Ok(BodyRead::Data(n));
        }
        match s.recv {
            Half::Reset => Err(AppError::StreamReset),
            Half::Ended => Ok(BodyRead::End),
            Half::Open => {
                s.awaiting_body = true;
                Ok(BodyRead::Pending)
            }
        }
    }

    /// The request's trailers, once the body has ended with them.
    pub fn trailers(&self, id: u32) -> Option<&[(Vec<u8>, Vec<u8>)]> {
        self.streams.get(&id)?.trailers.as_deref()
    }

    fn sendable(&mut self, id: u32) -> Result<&mut Stream, AppError> {
        if self.error().is_some() {
            return Err(AppError::StreamReset);
        }
        let s = self.handled(id)?;
        match s.send {
            Half::Reset => Err(AppError::StreamReset),
            Half::Ended => Err(AppError::Ended),
            Half::Open => Ok(s),
        }
    }

    /// The response head (or a 1xx before it). Header names are
    /// lower-cased; connection-specific ones are dropped.
    pub fn send_headers(
        &mut self,
        id: u32,
        status: u16,
        headers: &[(&[u8], &[u8])],
        end_stream: bool,
    ) -> Result<(), AppError> {
        let s = self.sendable(id)?;
        if s.head_sent {
            return Err(AppError::HeadersSent);
        }
        let mut fields = Vec::new();
        encode_fields(headers, &mut fields)?;
        self.send_encoded_headers(id, status, &fields, end_stream)
    }

    /// [`send_headers`](Self::send_headers) with the fields already
    /// encoded by [`encode_response_field`] (the encoder keeps no state,
    /// so a block may be encoded ahead of its turn on the wire).
    pub fn send_encoded_headers(
        &mut self,
        id: u32,
        status: u16,
        fields: &[u8],
        end_stream: bool,
    ) -> Result<(), AppError> {
        let s = self.sendable(id)?;
        if s.head_sent {
            return Err(AppError::HeadersSent);
        }
        let informational = status < 200;
        if !(100..=999).contains(&status) || status == 101 || (informational && end_stream) {
            return Err(AppError::BadStatus);
        }
        let mut block = std::mem::take(&mut self.block_scratch);
        block.clear();
        encode_status(status, &mut block);
        block.extend_from_slice(fields);
        self.write_block(id, &block, end_stream);
        self.block_scratch = block;
        if let Some(s) = self.streams.get_mut(&id) {
            s.head_sent |= !informational;
        }
        Ok(())
    }

    /// Trailers, which end the response.
    pub fn send_trailers(&mut self, id: u32, headers: &[(&[u8], &[u8])]) -> Result<(), AppError> {
        if !self.sendable(id)?.head_sent {
            return Err(AppError::NoHeaders);
        }
        let mut block = Vec::new();
        encode_fields(headers, &mut block)?;
        self.write_block(id, &block, true);
        Ok(())
    }

    fn write_block(&mut self, id: u32, block: &[u8], end_stream: bool) {
        frame::write_headers(&mut self.out, id, block, end_stream, self.peer_max_frame);
        if end_stream {
            self.end_send(id);
        }
    }

    fn end_send(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.send = Half::Ended;
            s.stalled_since = None;
        }
    }

    /// Body bytes: takes as many as the client's credit and the output
    /// bound allow, and says how many. Fewer than given: wait for a
    /// `Writable` event (a stream left without credit for
    /// `stall_timeout` is reset).
    pub fn send_data(
        &mut self,
        now: Instant,
        id: u32,
        data: &[u8],
        end_stream: bool,
    ) -> Result<usize, AppError> {
        let room = self
            .config
            .max_pending_output
            .saturating_sub(self.backlog());
        let conn_window = self.conn_send_window;
        let s = self.sendable(id)?;
        if !s.head_sent {
            return Err(AppError::NoHeaders);
        }
        let credit = conn_window.min(s.send_window).max(0) as usize;
        if self.eof_handled && credit < data.len() {
            // The client sends nothing more, so no WINDOW_UPDATE either.
            self.reset(id, ErrorCode::Cancel);
            return Err(AppError::StreamReset);
        }
        let s = self.sendable(id)?;
        let n = data.len().min(credit).min(room);
        let whole = n == data.len();
        if n < data.len() {
            s.wants_write = true;
            if credit < data.len() && s.stalled_since.is_none() {
                s.stalled_since = Some(now);
            }
        }
        if n == 0 && !(whole && end_stream) {
            return Ok(0);
        }
        s.send_window -= n as i64;
        self.conn_send_window -= n as i64;
        frame::write_data(
            &mut self.out,
            id,
            &data[..n],
            whole && end_stream,
            self.peer_max_frame,
        );
        if whole && end_stream {
            self.end_send(id);
        }
        Ok(n)
    }

    /// The application is done with stream `id`. A response not ended is
    /// cut off (RST_STREAM INTERNAL_ERROR); a request body not read to
    /// its end is refused (RST_STREAM NO_ERROR). A stream that ended well
    /// earns back one reset of the budget.
    pub fn finish_stream(&mut self, id: u32) {
        let Ok(s) = self.handled(id) else { return };
        s.handler = false;
        let (send, recv) = (s.send, s.recv);
        let unread = s.credit_for(s.body.len());
        s.body.clear();
        self.return_conn_credit(unread);
        if send == Half::Open {
            self.reset(id, ErrorCode::InternalError);
        } else if send == Half::Ended && recv == Half::Open {
            self.reset(id, ErrorCode::NoError);
        }
        if send == Half::Ended {
            self.resets_left = (self.resets_left + 1).min(self.config.reset_budget);
        }
        self.forget_if_done(id);
    }

    /// The application resets stream `id` itself.
    pub fn reset_stream(&mut self, id: u32, code: ErrorCode) -> Result<(), AppError> {
        let s = self.handled(id)?;
        if s.send == Half::Reset || s.recv == Half::Reset {
            return Err(AppError::StreamReset);
        }
        self.reset(id, code);
        // The handler asked for it: no event about it.
        self.events
            .retain(|e| !matches!(e, super::H2Event::Reset { stream, .. } if *stream == id));
        Ok(())
    }
}

fn encode_fields(headers: &[(&[u8], &[u8])], block: &mut Vec<u8>) -> Result<(), AppError> {
    for (name, value) in headers {
        encode_response_field(name, value, block)?;
    }
    Ok(())
}

/// Appends one response field to an HPACK block for
/// [`H2Connection::send_encoded_headers`]: its name lower-cased, a
/// connection-specific field dropped, one HTTP/2 cannot carry refused.
pub fn encode_response_field(
    name: &[u8],
    value: &[u8],
    block: &mut Vec<u8>,
) -> Result<(), AppError> {
    if let Some(lower) = response_field(name, value).map_err(|()| AppError::BadHeader)? {
        encode_field(&lower, value, block);
    }
    Ok(())
}
