//! The client's frames, one handler each, after the connection checked
//! the preface and the header-block framing (see the rules in
//! `connection.rs`).

use super::connection::{Block, H2Connection, H2Event, DEFAULT_WINDOW};
use super::error::{conn_err, stream_err, ErrorCode, H2Error};
use super::frame::{self, setting, MAX_WINDOW};
use super::hpack::{encode_status, Fit};
use super::stream::{request_from_fields, trailers_from_fields, Field, Half, Priority, Stream};

impl H2Connection {
    pub(super) fn on_data(
        &mut self,
        id: u32,
        end_stream: bool,
        data: &[u8],
        flow_len: u32,
    ) -> Result<(), H2Error> {
        if i64::from(flow_len) > self.conn_recv_window {
            return conn_err(
                ErrorCode::FlowControlError,
                "DATA beyond the connection window",
            );
        }
        self.conn_recv_window -= i64::from(flow_len);
        if data.is_empty() && !end_stream {
            self.empty_frames += 1;
            if self.empty_frames > self.config.max_empty_frames {
                return conn_err(ErrorCode::EnhanceYourCalm, "flood of empty DATA frames");
            }
        } else if !data.is_empty() {
            self.empty_frames = 0;
        }
        let padding = flow_len - data.len() as u32;
        let Some(s) = self.streams.get_mut(&id) else {
            self.return_conn_credit(flow_len);
            if id > self.last_stream {
                return conn_err(ErrorCode::ProtocolError, "DATA on an idle stream");
            }
            if self.closed_by_client(id) {
                return stream_err(id, ErrorCode::StreamClosed, "DATA on a closed stream");
            }
            return Ok(());
        };
        match s.recv {
            Half::Reset => {
                let late = s.reset_sent;
                self.return_conn_credit(flow_len);
                if late {
                    return Ok(());
                }
                return stream_err(id, ErrorCode::StreamClosed, "DATA after RST_STREAM");
            }
            Half::Ended => {
                self.return_conn_credit(flow_len);
                return stream_err(id, ErrorCode::StreamClosed, "DATA after END_STREAM");
            }
            Half::Open => {}
        }
        if i64::from(flow_len) > s.recv_window {
            self.return_conn_credit(flow_len);
            return stream_err(
                id,
                ErrorCode::FlowControlError,
                "DATA beyond the stream window",
            );
        }
        s.recv_window -= i64::from(flow_len);
        s.received += data.len() as u64;
        let too_long = s.content_length.is_some_and(|n| s.received > n);
        let too_short = end_stream && s.content_length.is_some_and(|n| s.received != n);
        if too_long || too_short {
            self.return_conn_credit(flow_len);
            return stream_err(
                id,
                ErrorCode::ProtocolError,
                "body length differs from content-length",
            );
        }
        s.body.extend(data);
        if !data.is_empty() || end_stream {
            s.awaiting_body = false;
            s.body_wait_since = None;
        }
        if end_stream {
            s.recv = Half::Ended;
        }
        let handler = s.handler;
        self.return_conn_credit(padding);
        self.return_stream_credit(id, padding);
        if handler && (!data.is_empty() || end_stream) {
            self.events.push_back(H2Event::Readable { stream: id });
        }
        self.forget_if_done(id);
        Ok(())
    }

    /// A stream that closed lately and that we did not reset: the client
    /// ended or reset it, so more frames on it break RFC 9113 §5.1. One we
    /// reset may still get frames the client sent before it knew.
    fn closed_by_client(&self, id: u32) -> bool {
        self.recently_closed.contains(&id) && !self.recently_reset.contains(&id)
    }

    pub(super) fn on_headers(
        &mut self,
        id: u32,
        end_stream: bool,
        priority: Option<Priority>,
        end_headers: bool,
        fragment: &[u8],
    ) -> Result<(), H2Error> {
        if fragment.len() > self.config.max_header_block {
            return conn_err(ErrorCode::EnhanceYourCalm, "header block too large");
        }
        if end_headers {
            // The whole block in one frame, as nearly always: decoded
            // where it lies instead of gathered into a copy.
            return self.header_block(id, end_stream, priority, fragment);
        }
        self.block = Some(Block {
            stream: id,
            end_stream,
            priority,
            bytes: fragment.to_vec(),
            frames: 1,
        });
        Ok(())
    }

    pub(super) fn on_continuation(&mut self, id: u32, fragment: &[u8]) -> Result<(), H2Error> {
        let (max_bytes, max_frames) = (self.config.max_header_block, self.config.max_empty_frames);
        let Some(block) = self.block.as_mut().filter(|b| b.stream == id) else {
            return conn_err(ErrorCode::ProtocolError, "CONTINUATION without its HEADERS");
        };
        block.frames += 1;
        if block.bytes.len() + fragment.len() > max_bytes || block.frames > max_frames {
            return conn_err(
                ErrorCode::EnhanceYourCalm,
                "header block too large (CONTINUATION flood)",
            );
        }
        block.bytes.extend_from_slice(fragment);
        Ok(())
    }

    pub(super) fn end_block(&mut self) -> Result<(), H2Error> {
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        self.header_block(block.stream, block.end_stream, block.priority, &block.bytes)
    }

    /// A whole header block of stream `id`: a new request, or trailers.
    fn header_block(
        &mut self,
        id: u32,
        end_stream: bool,
        priority: Option<Priority>,
        bytes: &[u8],
    ) -> Result<(), H2Error> {
        let mut fields = Vec::with_capacity(16);
        let fit = self
            .decoder
            .decode(bytes, self.config.header_list_limit(), |n, v| {
                fields.push((n.to_vec(), v.to_vec()))
            })
            .or_else(|_| conn_err(ErrorCode::CompressionError, "malformed HPACK block"))?;
        let oversize = fit == Fit::Oversize;
        if self.streams.contains_key(&id) {
            return self.on_trailers(id, end_stream, oversize, fields);
        }
        if id <= self.last_stream {
            // Trailers may be on their way when we reset a stream.
            if self.recently_reset.contains(&id) {
                return Ok(());
            }
            if self.recently_closed.contains(&id) {
                return conn_err(ErrorCode::StreamClosed, "HEADERS on a closed stream");
            }
            return conn_err(
                ErrorCode::ProtocolError,
                "stream id lower than one already used",
            );
        }
        if id.is_multiple_of(2) {
            return conn_err(ErrorCode::ProtocolError, "even stream id from a client");
        }
        self.last_stream = id;
        if self.goaway_sent {
            return Ok(());
        }
        if priority.is_some_and(|p| p.depends_on == id) {
            return stream_err(id, ErrorCode::ProtocolError, "stream depends on itself");
        }
        if self.streams.len() >= self.config.max_concurrent_streams as usize {
            return stream_err(id, ErrorCode::RefusedStream, "too many concurrent streams");
        }
        if oversize {
            return self.refuse_oversize(id, end_stream);
        }
        let mut request = request_from_fields(fields, end_stream)
            .or_else(|detail| stream_err(id, ErrorCode::ProtocolError, detail))?;
        request.priority = priority.unwrap_or_default();
        let recv_window = match self.settings_unacked_since {
            Some(_) => DEFAULT_WINDOW,
            None => i64::from(self.config.initial_window_size),
        };
        let mut s = Stream::new(recv_window, self.peer_initial_window);
        s.content_length = request.content_length;
        if end_stream {
            s.recv = Half::Ended;
        }
        self.streams.insert(id, s);
        self.idle_since = None;
        self.events.push_back(H2Event::Request {
            stream: id,
            request,
        });
        Ok(())
    }

    /// 431 without calling the application; the budget pays for it as
    /// for a reset, since a client can repeat it at will.
    fn refuse_oversize(&mut self, id: u32, end_stream: bool) -> Result<(), H2Error> {
        self.spend_reset()?;
        let mut block = Vec::new();
        encode_status(431, &mut block);
        frame::write_headers(&mut self.out, id, &block, true, self.peer_max_frame);
        if !end_stream {
            self.reset(id, ErrorCode::NoError);
        }
        self.notice(super::connection::H2Notice::HeaderListTooLarge { stream: id });
        Ok(())
    }

    pub(super) fn on_trailers(
        &mut self,
        id: u32,
        end_stream: bool,
        oversize: bool,
        fields: Vec<Field>,
    ) -> Result<(), H2Error> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        match s.recv {
            Half::Reset if s.reset_sent => return Ok(()),
            Half::Reset => {
                return stream_err(id, ErrorCode::StreamClosed, "HEADERS after RST_STREAM")
            }
            Half::Ended => {
                return stream_err(id, ErrorCode::StreamClosed, "HEADERS after END_STREAM")
            }
            Half::Open => {}
        }
        if !end_stream || oversize {
            return stream_err(
                id,
                ErrorCode::ProtocolError,
                "trailers without END_STREAM, or too large",
            );
        }
        if s.content_length.is_some_and(|n| n != s.received) {
            return stream_err(
                id,
                ErrorCode::ProtocolError,
                "body length differs from content-length",
            );
        }
        let trailers = trailers_from_fields(fields)
            .or_else(|detail| stream_err(id, ErrorCode::ProtocolError, detail))?;
        s.trailers = Some(trailers);
        s.recv = Half::Ended;
        if s.handler {
            self.events.push_back(H2Event::Readable { stream: id });
        }
        self.forget_if_done(id);
        Ok(())
    }

    pub(super) fn on_rst_stream(&mut self, id: u32, code: ErrorCode) -> Result<(), H2Error> {
        if id > self.last_stream {
            return conn_err(ErrorCode::ProtocolError, "RST_STREAM on an idle stream");
        }
        self.spend_reset()?;
        self.close_stream(id, code);
        Ok(())
    }

    pub(super) fn on_settings(&mut self, ack: bool, params: &[u8]) -> Result<(), H2Error> {
        if ack {
            if self.settings_unacked_since.take().is_some() {
                let delta = i64::from(self.config.initial_window_size) - DEFAULT_WINDOW;
                for s in self.streams.values_mut() {
                    s.recv_window += delta;
                }
            }
            return Ok(());
        }
        self.apply_peer_settings(params)?;
        frame::write_settings_ack(&mut self.out);
        Ok(())
    }

    /// The client's settings (a SETTINGS payload), as they take effect.
    pub(super) fn apply_peer_settings(&mut self, params: &[u8]) -> Result<(), H2Error> {
        for (id, value) in frame::settings_params(params) {
            match id {
                setting::ENABLE_PUSH if value > 1 => {
                    return conn_err(ErrorCode::ProtocolError, "SETTINGS_ENABLE_PUSH not 0 or 1")
                }
                setting::INITIAL_WINDOW_SIZE => self.set_peer_window(value)?,
                setting::MAX_FRAME_SIZE => {
                    if !(frame::MIN_MAX_FRAME_SIZE..=frame::MAX_MAX_FRAME_SIZE).contains(&value) {
                        return conn_err(
                            ErrorCode::ProtocolError,
                            "SETTINGS_MAX_FRAME_SIZE out of range",
                        );
                    }
                    self.peer_max_frame = value as usize;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn set_peer_window(&mut self, value: u32) -> Result<(), H2Error> {
        if i64::from(value) > MAX_WINDOW {
            return conn_err(
                ErrorCode::FlowControlError,
                "SETTINGS_INITIAL_WINDOW_SIZE too large",
            );
        }
        let delta = i64::from(value) - self.peer_initial_window;
        self.peer_initial_window = i64::from(value);
        for s in self.streams.values_mut() {
            s.send_window += delta;
            if s.send_window > MAX_WINDOW {
                return conn_err(ErrorCode::FlowControlError, "stream window past 2^31-1");
            }
        }
        if delta > 0 {
            self.wake_writers();
        }
        Ok(())
    }

    pub(super) fn on_window_update(&mut self, id: u32, increment: u32) -> Result<(), H2Error> {
        if id == 0 {
            if increment == 0 {
                return conn_err(ErrorCode::ProtocolError, "WINDOW_UPDATE of 0");
            }
            self.conn_send_window += i64::from(increment);
            if self.conn_send_window > MAX_WINDOW {
                return conn_err(ErrorCode::FlowControlError, "connection window past 2^31-1");
            }
            self.wake_writers();
            return Ok(());
        }
        if id > self.last_stream {
            return conn_err(ErrorCode::ProtocolError, "WINDOW_UPDATE on an idle stream");
        }
        if increment == 0 {
            return stream_err(id, ErrorCode::ProtocolError, "WINDOW_UPDATE of 0");
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        s.send_window += i64::from(increment);
        if s.send_window > MAX_WINDOW {
            return stream_err(id, ErrorCode::FlowControlError, "stream window past 2^31-1");
        }
        self.wake_writers();
        Ok(())
    }
}
