//! Decoding errors, named like gunicorn's exception classes so logs and
//! fixtures line up, each with the status the client is answered with.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    InvalidRequestLine,
    InvalidRequestMethod,
    InvalidHTTPVersion,
    InvalidHeader,
    InvalidHeaderName,
    ObsoleteFolding,
    LimitRequestLine,
    LimitRequestHeaders,
    InvalidChunkSize,
    InvalidChunkExtension,
    ChunkMissingTerminator,
    UnsupportedTransferCoding,
    ExpectationFailed,
    /// The connection ended in the middle of a message.
    IncompleteMessage,
    /// A malformed PROXY protocol preamble.
    InvalidProxyLine,
    /// A trusted proxy's scheme headers contradict each other.
    InvalidSchemeHeaders,
    /// A malformed uwsgi packet (truncated, too many variables).
    InvalidUWSGIHeader,
    /// A uwsgi packet whose `modifier1` is not 0 (a WSGI request).
    UnsupportedModifier,
    /// A uwsgi connection from a peer outside `uwsgi_allow_ips`.
    ForbiddenUWSGIRequest,
}

impl DecodeErrorKind {
    /// A uwsgi error: gunicorn answers it 500 and logs it as an error
    /// ("Error handling request"), not as a client's bad request.
    pub fn is_uwsgi(self) -> bool {
        matches!(
            self,
            DecodeErrorKind::InvalidUWSGIHeader
                | DecodeErrorKind::UnsupportedModifier
                | DecodeErrorKind::ForbiddenUWSGIRequest
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    detail: &'static str,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind, detail: &'static str) -> Self {
        DecodeError { kind, detail }
    }

    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// What the client is answered: 414 and 431 for the limits (RFC 9110
    /// §15.5.15, RFC 6585 §5), 501 for a transfer coding we cannot decode
    /// (RFC 9112 §6.1), 417 for an expectation we cannot meet, 500 for a
    /// uwsgi error (gunicorn's answer to any of them), else 400.
    pub fn status(&self) -> u16 {
        match self.kind {
            kind if kind.is_uwsgi() => 500,
            DecodeErrorKind::LimitRequestLine => 414,
            DecodeErrorKind::LimitRequestHeaders => 431,
            DecodeErrorKind::UnsupportedTransferCoding => 501,
            DecodeErrorKind::ExpectationFailed => 417,
            _ => 400,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for DecodeError {}

pub(crate) fn err<T>(kind: DecodeErrorKind, detail: &'static str) -> Result<T, DecodeError> {
    Err(DecodeError::new(kind, detail))
}
