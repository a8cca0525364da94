//! HTTP/2 errors (RFC 9113 §5.4, §7): a connection error ends the
//! connection with GOAWAY and is sticky; a stream error ends one stream
//! with RST_STREAM and the connection goes on. The application's own
//! mistakes are [`AppError`] and change nothing.

use std::fmt;

/// The error codes of RFC 9113 §7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    NoError,
    ProtocolError,
    InternalError,
    FlowControlError,
    SettingsTimeout,
    StreamClosed,
    FrameSizeError,
    RefusedStream,
    Cancel,
    CompressionError,
    ConnectError,
    EnhanceYourCalm,
    InadequateSecurity,
    Http11Required,
    /// A code this side does not know; treated as `InternalError`.
    Other(u32),
}

impl ErrorCode {
    pub fn from_u32(code: u32) -> Self {
        use ErrorCode::*;
        match code {
            0x0 => NoError,
            0x1 => ProtocolError,
            0x2 => InternalError,
            0x3 => FlowControlError,
            0x4 => SettingsTimeout,
            0x5 => StreamClosed,
            0x6 => FrameSizeError,
            0x7 => RefusedStream,
            0x8 => Cancel,
            0x9 => CompressionError,
            0xa => ConnectError,
            0xb => EnhanceYourCalm,
            0xc => InadequateSecurity,
            0xd => Http11Required,
            other => Other(other),
        }
    }

    pub fn to_u32(self) -> u32 {
        use ErrorCode::*;
        match self {
            NoError => 0x0,
            ProtocolError => 0x1,
            InternalError => 0x2,
            FlowControlError => 0x3,
            SettingsTimeout => 0x4,
            StreamClosed => 0x5,
            FrameSizeError => 0x6,
            RefusedStream => 0x7,
            Cancel => 0x8,
            CompressionError => 0x9,
            ConnectError => 0xa,
            EnhanceYourCalm => 0xb,
            InadequateSecurity => 0xc,
            Http11Required => 0xd,
            Other(code) => code,
        }
    }
}

/// A protocol error found in the client's bytes or behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum H2Error {
    /// The whole connection ends: GOAWAY with `code`, then close. Sticky.
    Connection {
        code: ErrorCode,
        detail: &'static str,
    },
    /// One stream ends with RST_STREAM `code`; the connection goes on.
    Stream {
        stream: u32,
        code: ErrorCode,
        detail: &'static str,
    },
}

impl H2Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            H2Error::Connection { code, .. } | H2Error::Stream { code, .. } => *code,
        }
    }

    pub fn detail(&self) -> &'static str {
        match self {
            H2Error::Connection { detail, .. } | H2Error::Stream { detail, .. } => detail,
        }
    }
}

impl fmt::Display for H2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            H2Error::Connection { code, detail } => write!(f, "HTTP/2 {code:?}: {detail}"),
            H2Error::Stream {
                stream,
                code,
                detail,
            } => {
                write!(f, "HTTP/2 stream {stream} {code:?}: {detail}")
            }
        }
    }
}

impl std::error::Error for H2Error {}

pub(crate) fn conn_err<T>(code: ErrorCode, detail: &'static str) -> Result<T, H2Error> {
    Err(H2Error::Connection { code, detail })
}

pub(crate) fn stream_err<T>(
    stream: u32,
    code: ErrorCode,
    detail: &'static str,
) -> Result<T, H2Error> {
    Err(H2Error::Stream {
        stream,
        code,
        detail,
    })
}

/// The application broke a rule of the response; the call had no effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppError {
    /// No such stream, or its handler already finished.
    UnknownStream,
    /// The stream was reset (by the client, or for a limit): stop.
    StreamReset,
    /// A final response head was already sent.
    HeadersSent,
    /// Body or trailers before the response head.
    NoHeaders,
    /// The response already ended.
    Ended,
    /// A status outside 100..=999, or a 1xx with END_STREAM.
    BadStatus,
    /// A header name or value HTTP/2 cannot carry.
    BadHeader,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for AppError {}
