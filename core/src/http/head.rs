//! The request head: rcorn's validation policy on top of `httparse`.
//!
//! `httparse` tokenises the request line and the fields; this module
//! decides what is acceptable (RFC 9112 strictly, gunicorn's rules where
//! they are stricter still) and what the framing of the body is. The head
//! is copied into storage the `RequestHead` reuses from request to request,
//! so the decoder's buffer can move on.

use std::ops::Range;

use super::error::{err, DecodeError, DecodeErrorKind as K};
use super::target;
use super::DecoderConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Length(u64),
    Chunked,
}

/// A validated request head. Accessors return slices of its own storage.
#[derive(Debug, Default)]
pub struct RequestHead {
    data: Vec<u8>,
    method: Range<usize>,
    target: Range<usize>,
    path: Range<usize>,
    query: Range<usize>,
    fragment: Range<usize>,
    minor: u8,
    headers: Vec<(Range<usize>, Range<usize>)>,
    keep_alive: bool,
    expect_continue: bool,
    body: Option<BodyKind>,
    /// The scheme the request itself declares (a uwsgi packet's `HTTPS`).
    declared_scheme: Option<&'static str>,
    /// Built from a uwsgi packet, not HTTP/1 bytes.
    from_uwsgi: bool,
    /// Built from an HTTP/2 stream's fields: the version is 2.0.
    from_h2: bool,
    /// That stream's priority weight and dependency (RFC 7540 §5.3).
    h2_priority: (u16, u32),
}

impl RequestHead {
    pub fn method(&self) -> &str {
        // Validated as a token (ASCII) when parsed.
        std::str::from_utf8(&self.data[self.method.clone()]).unwrap_or("")
    }

    pub fn target(&self) -> &[u8] {
        &self.data[self.target.clone()]
    }

    pub fn path(&self) -> &[u8] {
        &self.data[self.path.clone()]
    }

    pub fn query(&self) -> &[u8] {
        &self.data[self.query.clone()]
    }

    pub fn fragment(&self) -> &[u8] {
        &self.data[self.fragment.clone()]
    }

    pub fn version(&self) -> (u8, u8) {
        if self.from_h2 {
            (2, 0)
        } else {
            (1, self.minor)
        }
    }

    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(n, v)| (&self.data[n.clone()], &self.data[v.clone()]))
    }

    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    pub fn expect_continue(&self) -> bool {
        self.expect_continue
    }

    pub fn body(&self) -> BodyKind {
        self.body.unwrap_or(BodyKind::None)
    }

    /// The scheme the request declares itself, as a uwsgi packet's
    /// `HTTPS` variable does; `None` for an HTTP/1 request.
    pub fn declared_scheme(&self) -> Option<&'static str> {
        self.declared_scheme
    }

    /// The head came in a uwsgi packet (see [`crate::uwsgi`]).
    pub fn from_uwsgi(&self) -> bool {
        self.from_uwsgi
    }

    /// The client takes trailer fields after a chunked body: an HTTP/1.1
    /// request whose `TE` lists `trailers` (RFC 9110 §10.1.4). Without it
    /// a server must not count on trailers reaching the client.
    pub fn accepts_trailers(&self) -> bool {
        self.minor >= 1
            && self
                .headers()
                .filter(|(name, _)| name.eq_ignore_ascii_case(b"te"))
                .any(|(_, value)| te_lists_trailers(value))
    }
}

/// Whether a `TE` field value lists the `trailers` member (any case, with
/// or without whitespace; the member takes no parameters).
pub fn te_lists_trailers(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|member| trim_ows(member).eq_ignore_ascii_case(b"trailers"))
}

/// Building a head from something other than an HTTP/1 request line and
/// fields (a uwsgi packet's variables): the bytes are appended to the
/// head's own storage, and the accessors read them as for HTTP/1.
impl RequestHead {
    /// Empties the head for a uwsgi packet: HTTP/1.1, no fields, no body,
    /// and not kept alive (its response ends the connection).
    pub(crate) fn begin_uwsgi(&mut self) {
        self.begin_fields();
        self.from_uwsgi = true;
    }

    /// Empties the head for an HTTP/2 request: version 2.0, no fields, no
    /// body, no `100 Continue` (HTTP/2 has no use for it here).
    pub(crate) fn begin_h2(&mut self, weight: u16, depends_on: u32) {
        self.begin_fields();
        self.from_h2 = true;
        self.h2_priority = (weight, depends_on);
    }

    /// An HTTP/2 request's priority weight (1..=256) and the stream it
    /// depends on (0: none), as its HEADERS declared them; `None` for
    /// any other request.
    pub fn h2_priority(&self) -> Option<(u16, u32)> {
        self.from_h2.then_some(self.h2_priority)
    }

    fn begin_fields(&mut self) {
        self.from_uwsgi = false;
        self.from_h2 = false;
        self.data.clear();
        self.headers.clear();
        self.method = 0..0;
        self.target = 0..0;
        self.path = 0..0;
        self.query = 0..0;
        self.fragment = 0..0;
        self.minor = 1;
        self.keep_alive = false;
        self.expect_continue = false;
        self.body = Some(BodyKind::None);
        self.declared_scheme = None;
    }

    /// Appends `parts` one after the other; their range in the storage.
    pub(crate) fn append(&mut self, parts: &[&[u8]]) -> Range<usize> {
        let start = self.data.len();
        for part in parts {
            self.data.extend_from_slice(part);
        }
        start..self.data.len()
    }

    /// The request line, from ranges [`Self::append`] gave: the target is
    /// the path, then `?` and the query when there is one.
    pub(crate) fn set_request_line(
        &mut self,
        method: Range<usize>,
        path: Range<usize>,
        query: Range<usize>,
    ) {
        self.target = path.start..query.end.max(path.end);
        self.fragment = self.target.end..self.target.end;
        self.method = method;
        self.path = path;
        self.query = query;
    }

    /// Replaces `from` by `to` in the stored bytes of `range`.
    pub(crate) fn replace_byte(&mut self, range: Range<usize>, from: u8, to: u8) {
        for b in &mut self.data[range] {
            if *b == from {
                *b = to;
            }
        }
    }

    /// Room for `bytes` more stored bytes and `fields` more fields, so a
    /// head built piece by piece grows once.
    pub(crate) fn reserve(&mut self, bytes: usize, fields: usize) {
        self.data.reserve(bytes);
        self.headers.reserve(fields);
    }

    pub(crate) fn push_field(&mut self, name: Range<usize>, value: Range<usize>) {
        self.headers.push((name, value));
    }

    pub(crate) fn set_body(&mut self, body: BodyKind) {
        self.body = Some(body);
    }

    pub(crate) fn set_declared_scheme(&mut self, scheme: Option<&'static str>) {
        self.declared_scheme = scheme;
    }
}

/// How far [`find_head_end`] got through an incomplete head, so the next
/// call resumes at the first unfinished line instead of rescanning: a head
/// trickling in a few bytes at a time costs linear time, not quadratic.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HeadScan {
    /// Offset of the first line not yet complete.
    line_start: usize,
    /// Field lines seen (continuations not counted).
    fields: usize,
    /// Length of the field in progress, folded lines and CRLFs included.
    field_len: usize,
    past_request_line: bool,
    /// [`RequestHead::parse_whole`] has had its one try at this head.
    pub(crate) whole_tried: bool,
}

/// Where the head ends in `buf`, once it is all there; enforces the size
/// limits and the line-ending rules while it looks, so an over-long or
/// malformed head is refused without waiting for more of it. `scan`
/// carries the progress between calls on a growing `buf`.
///
/// The checks on a line run in the order in which a partial line can
/// already decide them (folding by its first byte, then its length, then
/// its ending), so the error is the same however the bytes were split.
pub(crate) fn find_head_end(
    buf: &[u8],
    cfg: &DecoderConfig,
    scan: &mut HeadScan,
) -> Result<Option<usize>, DecodeError> {
    let line_limit = cfg.limit_request_line;
    let field_limit = cfg.limit_request_field_size;
    let from = scan.line_start.min(buf.len());
    // One vectorised pass over the new bytes; bare CRs are left to
    // httparse, which refuses them.
    for lf in memchr::memchr_iter(b'\n', &buf[from..]).map(|i| from + i) {
        let line_start = scan.line_start;
        let crlf = lf > line_start && buf[lf - 1] == b'\r';
        let content = &buf[line_start..if crlf { lf - 1 } else { lf }];
        scan.line_start = lf + 1;
        if !scan.past_request_line {
            if content.len() > line_limit {
                return err(K::LimitRequestLine, "request line too long");
            }
            if !crlf {
                return err(K::InvalidRequestLine, "bare LF where CRLF is required");
            }
            if content.is_empty() {
                return err(K::InvalidRequestLine, "empty request line");
            }
            scan.past_request_line = true;
            continue;
        }
        let continuation = matches!(content.first(), Some(b' ' | b'\t'));
        if continuation && !cfg.permit_obsolete_folding {
            return err(K::ObsoleteFolding, "obsolete line folding");
        }
        // gunicorn counts a field's CRLFs, folded lines included, towards
        // limit_request_field_size.
        scan.field_len = content.len() + 2 + if continuation { scan.field_len } else { 0 };
        if !content.is_empty() && scan.field_len > field_limit {
            return err(K::LimitRequestHeaders, "header field too long");
        }
        if !crlf {
            return err(K::InvalidHeader, "bare LF where CRLF is required");
        }
        if content.is_empty() {
            return Ok(Some(scan.line_start));
        }
        if !continuation {
            scan.fields += 1;
            if scan.fields > cfg.limit_request_fields {
                return err(K::LimitRequestHeaders, "too many header fields");
            }
        }
    }
    // Incomplete: refuse a partial line that is already certain to fail,
    // rather than wait for more of it. Its content is at least its length
    // less one (a CR at the end may belong to its CRLF).
    let partial = &buf[scan.line_start.min(buf.len())..];
    let least_content = partial.len().saturating_sub(1);
    if !scan.past_request_line {
        if least_content > line_limit {
            return err(K::LimitRequestLine, "request line too long");
        }
        return Ok(None);
    }
    let continuation = matches!(partial.first(), Some(b' ' | b'\t'));
    if continuation && !cfg.permit_obsolete_folding {
        return err(K::ObsoleteFolding, "obsolete line folding");
    }
    let least_field = least_content + 2 + if continuation { scan.field_len } else { 0 };
    if least_content > 0 && least_field > field_limit {
        return err(K::LimitRequestHeaders, "header field too long");
    }
    Ok(None)
}

/// Whether the head httparse parsed whole as `raw` keeps the rules
/// [`find_head_end`] enforces on a complete head, which httparse alone does
/// not: no empty line before the request line, every line ending in CRLF,
/// the line, field size and field count limits.
fn framing_ok(raw: &[u8], req: &httparse::Request<'_, '_>, cfg: &DecoderConfig) -> bool {
    let base = raw.as_ptr() as usize;
    // httparse skips empty lines before the request line.
    if req.method.is_none_or(|m| m.as_ptr() as usize != base) {
        return false;
    }
    if req.headers.len() > cfg.limit_request_fields {
        return false;
    }
    // httparse ends each line at an LF, with or without a CR before it,
    // and allows a CR nowhere else; each field line starts right after the
    // previous line's LF. So a line ends in CRLF exactly when the byte two
    // before the next line is a CR, and the last two lines (the last one
    // and the empty one) when the head ends in CRLF CRLF.
    let len = raw.len();
    if len < 4 || raw[len - 4..] != *b"\r\n\r\n" {
        return false;
    }
    let field_limit = cfg.limit_request_field_size;
    let mut next = len - 2;
    for h in req.headers.iter().rev() {
        let start = h.name.as_ptr() as usize - base;
        // The line with its CRLF is what gunicorn counts as its length.
        if next - start > field_limit || raw[next - 2] != b'\r' {
            return false;
        }
        next = start;
    }
    next >= 2 && next - 2 <= cfg.limit_request_line && raw[next - 2] == b'\r'
}

/// Unfolds obs-folds (each becomes one space, RFC 9112 §5.2) and drops
/// whitespace before a field's colon, as the leniency settings ask.
fn normalize(raw: &[u8], cfg: &DecoderConfig) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut lines = raw.split_inclusive(|&b| b == b'\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        let mut line = line;
        if !first && cfg.strip_header_spaces && !matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(colon) = memchr::memchr(b':', line) {
                let name = trim_ows(&line[..colon]);
                if !name.is_empty() && name.as_ptr() == line.as_ptr() {
                    out.extend_from_slice(name);
                    line = &line[colon..];
                }
            }
        }
        first = false;
        let folds_next = cfg.permit_obsolete_folding
            && lines
                .peek()
                .is_some_and(|next| matches!(next.first(), Some(b' ' | b'\t')));
        if folds_next {
            let body = line.strip_suffix(b"\r\n").unwrap_or(line);
            out.extend_from_slice(trim_trailing_ows(body));
            out.push(b' ');
            // Continuation lines lose their leading whitespace.
            while let Some(next) = lines.next_if(|n| matches!(n.first(), Some(b' ' | b'\t'))) {
                let more = lines
                    .peek()
                    .is_some_and(|n| matches!(n.first(), Some(b' ' | b'\t')));
                let content = trim_ows(next.strip_suffix(b"\r\n").unwrap_or(next));
                out.extend_from_slice(content);
                if more {
                    out.push(b' ');
                } else {
                    out.extend_from_slice(b"\r\n");
                }
            }
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

fn trim_trailing_ows(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Headers `httparse` may fill without a heap allocation.
const STACK_HEADERS: usize = 128;

impl RequestHead {
    /// Parses and validates the complete head `raw` (ending in the empty
    /// line) into `self`, reusing its storage.
    pub(crate) fn parse(
        &mut self,
        raw: &[u8],
        cfg: &DecoderConfig,
        forwarders_trusted: bool,
    ) -> Result<(), DecodeError> {
        // httparse writes only the headers it finds: no need to initialise
        // (and zero) a whole array per request.
        let mut stack =
            [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        let mut heap;
        // find_head_end has bounded the field count by the limit; a head
        // has at most one field per line, so a large limit costs a large
        // array only for a head that has the lines to fill it.
        let headers: &mut [std::mem::MaybeUninit<httparse::Header<'_>>] =
            if cfg.limit_request_fields < STACK_HEADERS {
                &mut stack
            } else {
                let lines = memchr::memchr_iter(b'\n', raw).count();
                heap =
                    vec![std::mem::MaybeUninit::uninit(); lines.min(cfg.limit_request_fields + 1)];
                &mut heap
            };
        // httparse has no request-side leniencies; apply the configured ones
        // by rewriting the head first (rare configurations only).
        let normalized;
        let raw: &[u8] = if cfg.permit_obsolete_folding || cfg.strip_header_spaces {
            normalized = normalize(raw, cfg);
            &normalized
        } else {
            raw
        };
        let mut req = httparse::Request::new(&mut []);
        match req.parse_with_uninit_headers(raw, headers) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return err(K::InvalidRequestLine, "incomplete head"),
            Err(e) => return Err(map_httparse_error(e, raw)),
        }
        self.apply(&req, raw, cfg, forwarders_trusted)
    }

    /// The common case, a whole head in the first bytes a connection (or a
    /// pipelined message) brings: one httparse pass over `buf`, with no
    /// [`find_head_end`] scan before it. Returns the head's length once it
    /// is parsed and validated into `self`, or the policy error.
    ///
    /// `None` sends the caller to the incremental path (`find_head_end`,
    /// then [`Self::parse`]), which waits for more bytes or reports the
    /// exact error it always has: this path accepts only heads that path
    /// would accept with the same length, so a request is refused alike
    /// however its bytes arrive.
    pub(crate) fn parse_whole(
        &mut self,
        buf: &[u8],
        cfg: &DecoderConfig,
        forwarders_trusted: bool,
    ) -> Option<Result<usize, DecodeError>> {
        if cfg.permit_obsolete_folding || cfg.strip_header_spaces {
            return None;
        }
        let mut headers =
            [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        let mut req = httparse::Request::new(&mut []);
        let Ok(httparse::Status::Complete(len)) = req.parse_with_uninit_headers(buf, &mut headers)
        else {
            return None;
        };
        if !framing_ok(&buf[..len], &req, cfg) {
            return None;
        }
        Some(
            self.apply(&req, &buf[..len], cfg, forwarders_trusted)
                .map(|()| len),
        )
    }

    /// Validates what httparse made of `raw` (the whole head) and stores it
    /// in `self`. `forwarders_trusted`: the peer may send the
    /// `forwarder_headers` (it is in `forwarded_allow_ips`).
    fn apply(
        &mut self,
        req: &httparse::Request<'_, '_>,
        raw: &[u8],
        cfg: &DecoderConfig,
        forwarders_trusted: bool,
    ) -> Result<(), DecodeError> {
        let base = raw.as_ptr() as usize;
        let offset = |s: &[u8]| s.as_ptr() as usize - base;

        self.data.clear();
        self.data.extend_from_slice(raw);
        self.headers.clear();
        self.expect_continue = false;
        self.body = None;
        self.declared_scheme = None;
        self.from_uwsgi = false;

        let method = req.method.unwrap_or("");
        check_method(method, cfg)?;
        let m_at = offset(method.as_bytes());
        self.method = m_at..m_at + method.len();
        self.minor = match req.version {
            Some(0) => 0,
            Some(1) => 1,
            _ => return err(K::InvalidHTTPVersion, "unsupported HTTP version"),
        };
        let target = req.path.unwrap_or("");
        let t_at = offset(target.as_bytes());
        self.target = t_at..t_at + target.len();
        self.split_target(method, target.as_bytes(), t_at)?;

        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut transfer_coding_seen = false;
        let mut seen_host = false;
        let mut seen_content_type = false;
        let mut close = false;
        let mut keep_alive_token = false;
        let mut expect_continue = false;
        // httparse has trimmed each value's whitespace on both sides and
        // refused CTLs, DEL and bare CR in it.
        self.headers.extend(req.headers.iter().map(|h| {
            let (n_at, v_at) = (offset(h.name.as_bytes()), offset(h.value));
            (n_at..n_at + h.name.len(), v_at..v_at + h.value.len())
        }));
        for h in req.headers.iter() {
            let (name, value) = (h.name.as_bytes(), h.value);
            // gunicorn's order: a listed name from a trusted peer is kept
            // before `header_map` is consulted.
            if cfg.refuse_underscore_headers
                && name.contains(&b'_')
                && !(forwarders_trusted && cfg.is_forwarder_header(name))
            {
                return err(K::InvalidHeaderName, "header name with an underscore");
            }
            // Most fields are none of these: compare the length and the
            // first letter before the name. httparse gives no empty names.
            match (name.len(), name.first().map_or(0, |b| b | 0x20)) {
                (14, b'c') if token_eq(name, b"content-length") => {
                    if content_length.is_some() {
                        return err(K::InvalidHeader, "duplicate Content-Length");
                    }
                    content_length = Some(parse_content_length(value)?);
                }
                (17, b't') if token_eq(name, b"transfer-encoding") => {
                    transfer_coding_seen = true;
                    for coding in value.split(|&b| b == b',') {
                        let coding = trim_ows(coding);
                        if chunked {
                            // chunked must be the final coding, applied once.
                            return err(
                                K::InvalidHeader,
                                "chunked is not the final transfer coding",
                            );
                        }
                        if coding.eq_ignore_ascii_case(b"chunked") {
                            chunked = true;
                        } else if !KNOWN_CODINGS.iter().any(|c| coding.eq_ignore_ascii_case(c)) {
                            return err(
                                K::UnsupportedTransferCoding,
                                "unsupported transfer coding",
                            );
                        }
                    }
                }
                (4, b'h') if token_eq(name, b"host") => {
                    if seen_host {
                        return err(K::InvalidHeader, "duplicate Host");
                    }
                    seen_host = true;
                }
                (12, b'c') if token_eq(name, b"content-type") => {
                    if seen_content_type {
                        return err(K::InvalidHeader, "duplicate Content-Type");
                    }
                    seen_content_type = true;
                }
                (10, b'c') if token_eq(name, b"connection") => {
                    for token in value.split(|&b| b == b',') {
                        let token = trim_ows(token);
                        close |= token.eq_ignore_ascii_case(b"close");
                        keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
                    }
                }
                (6, b'e') if token_eq(name, b"expect") => {
                    if value.eq_ignore_ascii_case(b"100-continue") {
                        expect_continue = true;
                    } else {
                        return err(K::ExpectationFailed, "unsupported expectation");
                    }
                }
                _ => {}
            }
        }

        let body = if transfer_coding_seen {
            if content_length.is_some() {
                // RFC 9112 §6.3: the classic smuggling vector; refuse both.
                return err(
                    K::InvalidHeader,
                    "both Content-Length and Transfer-Encoding",
                );
            }
            if self.minor == 0 {
                return err(K::InvalidHeader, "Transfer-Encoding in an HTTP/1.0 request");
            }
            if !chunked {
                return err(K::InvalidHeader, "chunked is not the final transfer coding");
            }
            BodyKind::Chunked
        } else {
            match content_length {
                Some(0) | None => BodyKind::None,
                Some(n) => BodyKind::Length(n),
            }
        };
        self.body = Some(body);
        self.keep_alive = if self.minor == 1 {
            !close
        } else {
            keep_alive_token && !close
        };
        self.expect_continue = expect_continue && self.minor == 1 && body != BodyKind::None;
        Ok(())
    }

    fn split_target(&mut self, method: &str, target: &[u8], at: usize) -> Result<(), DecodeError> {
        let parts = target::split(method, target)?;
        let shift = |r: Range<usize>| at + r.start..at + r.end;
        self.path = shift(parts.path);
        self.query = shift(parts.query);
        self.fragment = shift(parts.fragment);
        Ok(())
    }
}

/// Codings rcorn passes through to the application undecoded (beside the
/// chunked framing it removes): those of the IANA registry that gunicorn
/// accepts. Anything else is 501.
const KNOWN_CODINGS: [&[u8]; 6] = [
    b"identity",
    b"gzip",
    b"x-gzip",
    b"deflate",
    b"compress",
    b"x-compress",
];

/// gunicorn's method rule on top of RFC 9110's token: 3 to 20 characters,
/// no lower case and no '#', unless `permit_unconventional_http_method`.
fn check_method(method: &str, cfg: &DecoderConfig) -> Result<(), DecodeError> {
    if method.is_empty() {
        return err(K::InvalidRequestMethod, "empty method");
    }
    if !cfg.permit_unconventional_http_method {
        if !(3..=20).contains(&method.len()) {
            return err(K::InvalidRequestMethod, "method length outside 3..=20");
        }
        if method.bytes().any(|b| b.is_ascii_lowercase() || b == b'#') {
            return err(K::InvalidRequestMethod, "lower-case letters in the method");
        }
    }
    Ok(())
}

fn parse_content_length(value: &[u8]) -> Result<u64, DecodeError> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return err(K::InvalidHeader, "Content-Length is not a number");
    }
    value
        .iter()
        .try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or_else(|| DecodeError::new(K::InvalidHeader, "Content-Length too large"))
}

/// Whether the field name `name`, which httparse has checked to be a
/// token, is `lower` (lower-case letters and `-`) in any case. A token byte
/// ORed with 0x20 equals such a byte only when it is that byte in either
/// case (the other candidate for `-`, CR, is no token byte), so the names
/// compare a word at a time.
#[inline]
fn token_eq(name: &[u8], lower: &[u8]) -> bool {
    debug_assert!(lower.iter().all(|&b| b.is_ascii_lowercase() || b == b'-'));
    let n = lower.len();
    if name.len() != n {
        return false;
    }
    if n < 8 {
        return name.eq_ignore_ascii_case(lower);
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    const CASE: u64 = 0x2020_2020_2020_2020;
    let mut at = 0;
    while at + 8 < n {
        if word(name, at) | CASE != word(lower, at) {
            return false;
        }
        at += 8;
    }
    // The last word may overlap the one before it.
    word(name, n - 8) | CASE == word(lower, n - 8)
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn map_httparse_error(e: httparse::Error, raw: &[u8]) -> DecodeError {
    use httparse::Error as E;
    let first_line_end = memchr::memchr(b'\n', raw).unwrap_or(raw.len());
    match e {
        E::Token => {
            // httparse reports a bad method and a bad target alike; a
            // method is the first word.
            let line = &raw[..first_line_end];
            let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
            let method_ok = method_end > 0 && line[..method_end].iter().all(|&b| is_tchar(b));
            if method_ok {
                DecodeError::new(K::InvalidRequestLine, "malformed request line")
            } else {
                DecodeError::new(K::InvalidRequestMethod, "invalid method")
            }
        }
        E::Version => DecodeError::new(K::InvalidHTTPVersion, "invalid HTTP version"),
        E::HeaderName => DecodeError::new(K::InvalidHeaderName, "invalid header name"),
        E::HeaderValue => DecodeError::new(K::InvalidHeader, "invalid header value"),
        E::NewLine => DecodeError::new(K::InvalidRequestLine, "malformed line ending"),
        E::TooManyHeaders => DecodeError::new(K::LimitRequestHeaders, "too many header fields"),
        E::Status => DecodeError::new(K::InvalidRequestLine, "malformed request line"),
    }
}

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
