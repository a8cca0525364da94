//! What drives an HTTP/2 connection: gunicorn's `http2_*` settings and the
//! limits against floods, each with its default.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Config {
    /// `http2_max_concurrent_streams`: streams open *or still being
    /// handled* at once; past it new streams are refused (REFUSED_STREAM).
    pub max_concurrent_streams: u32,
    /// `http2_initial_window_size`: each stream's receive window.
    pub initial_window_size: u32,
    /// `http2_max_frame_size`: the largest frame payload accepted.
    pub max_frame_size: u32,
    /// `http2_max_header_list_size` (0 = unlimited): enforced while the
    /// header block is decoded; past it the request gets 431.
    pub max_header_list_size: u32,
    /// Resets (sent or received) a connection may spend; each stream that
    /// ends well earns one back, up to this many. Past it: GOAWAY
    /// ENHANCE_YOUR_CALM (Rapid Reset, MadeYouReset).
    pub reset_budget: u32,
    /// Most bytes of one header block (HEADERS + CONTINUATIONs) before it
    /// is decoded: the CONTINUATION flood.
    pub max_header_block: usize,
    /// Empty DATA frames (without END_STREAM) in a row, and CONTINUATIONs
    /// in one block, tolerated before ENHANCE_YOUR_CALM.
    pub max_empty_frames: u32,
    /// Bytes waiting to be written past which the connection stops
    /// reading and refuses more response body (control-frame floods,
    /// slow readers).
    pub max_pending_output: usize,
    /// `timeout`: how long a stream may wait for send credit before it
    /// is reset, and the client for the preface and SETTINGS ACK; `None`
    /// (a `timeout` of 0) for no limit.
    pub stall_timeout: Option<Duration>,
    /// `keepalive`: how long a connection with no stream may wait for the
    /// client's next request before it is closed with GOAWAY (NO_ERROR).
    /// `None` (a `keepalive` of 0) for no limit.
    pub idle_timeout: Option<Duration>,
}

impl Default for H2Config {
    /// gunicorn's defaults.
    fn default() -> Self {
        H2Config {
            max_concurrent_streams: 100,
            initial_window_size: 65_535,
            max_frame_size: 16_384,
            max_header_list_size: 65_536,
            reset_budget: 200,
            max_header_block: 65_536 + 16_384,
            max_empty_frames: 100,
            max_pending_output: 256 * 1024,
            stall_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(2)),
        }
    }
}

impl H2Config {
    pub(crate) fn header_list_limit(&self) -> usize {
        match self.max_header_list_size {
            0 => usize::MAX,
            n => n as usize,
        }
    }
}

impl H2Config {
    /// From the server's settings: the four `http2_*` ones, `timeout` and
    /// `keepalive`; the flood limits keep their defaults.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        H2Config {
            max_concurrent_streams: settings.http2_max_concurrent_streams(),
            initial_window_size: settings.http2_initial_window_size(),
            max_frame_size: settings.http2_max_frame_size(),
            max_header_list_size: settings.http2_max_header_list_size(),
            stall_timeout: nonzero(settings.timeout()),
            idle_timeout: nonzero(settings.keepalive()),
            ..H2Config::default()
        }
    }
}
