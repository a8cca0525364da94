//! The uwsgi protocol, sans-IO, as nginx's `uwsgi_pass` speaks it and
//! gunicorn's `--protocol uwsgi` reads it. A request is one packet; it
//! becomes the same [`RequestHead`](crate::http::RequestHead) an HTTP/1
//! request does, so the server connection, the environ and the scope serve
//! it unchanged. The rules, gunicorn 27's unless said otherwise:
//!
//! 1. **The packet header** is 4 bytes: `modifier1` (only 0, a WSGI
//!    request, is served; anything else is `UnsupportedModifier`, decided
//!    by the first byte alone), `datasize` (the variables block's size,
//!    16-bit little-endian, so at most 65,535 bytes), `modifier2` (ignored).
//! 2. **The variables block** is `datasize` bytes of pairs: a 16-bit
//!    little-endian key size, the key, a value size, the value. A size
//!    running past the block, or more than [`MAX_VARS`] pairs, is
//!    `InvalidUWSGIHeader`. Nothing is decided before the whole block is
//!    there, so the outcome is the same however the bytes are split.
//! 3. **The head**: `REQUEST_METHOD` (default `GET`; it must be a token,
//!    rcorn's own rule, so the access log and the environ never carry
//!    controls), `PATH_INFO` (default `/`), `QUERY_STRING`; `HTTP_X_Y`
//!    becomes the field `X-Y`, `CONTENT_TYPE` and `CONTENT_LENGTH` the
//!    fields of those names (nginx also sends them as `HTTP_CONTENT_TYPE`
//!    and `HTTP_CONTENT_LENGTH`, ignored: one field each, as gunicorn's
//!    environ keeps one); a key that is not an ASCII token is ignored.
//!    The front end has already percent-decoded `PATH_INFO`: its `%` are
//!    stored escaped (`%25`), so the path decodes back to exactly what was
//!    sent. `HTTPS` set to `on`, `1` or `true` declares `https`; otherwise
//!    `wsgi.url_scheme` (`http` or `https`) does. The last of repeated
//!    request-line keys wins; repeated fields are kept, in order.
//! 4. **The body** follows the block: `CONTENT_LENGTH` bytes; a value
//!    that is not a decimal number (nginx sends an empty one) means none.
//! 5. **One request per connection**, as nginx sends them: the head is
//!    never kept alive. The response is HTTP/1.1 as gunicorn writes it,
//!    its body never chunked (it ends when the connection does: nginx
//!    reads the uwsgi body as opaque bytes).
//! 6. **Errors** answer 500 with `Connection: close`, as gunicorn's
//!    workers answer its uwsgi exceptions, and are logged as errors.
//!    Peers outside `uwsgi_allow_ips` are refused so before any byte of
//!    theirs is read; unix-socket peers are always allowed.

mod head;
mod packet;

pub(crate) use head::decode_head;
pub use packet::{parse_packet, Packet, Vars, HEADER_LEN, MAX_VARS};
