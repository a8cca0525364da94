//! HTTP/2 by prior knowledge on cleartext connections (`http2_cleartext`
//! `prior-knowledge` or `both`, with `h2` in `http_protocols`): a
//! connection whose first bytes are the HTTP/2 preface speaks HTTP/2,
//! any other is HTTP/1. The preface is read under the HTTP/1 head
//! timeout, like a request head.

use std::io::{self, Read};

use pyo3::prelude::*;
use rcorn_core::config::{Settings, Value};
use rcorn_core::http::h2::frame::PREFACE;
use rcorn_core::http::h2::H2Config;

use super::driver::AsgiDriver;

/// The HTTP/2 configuration when cleartext connections may open with the
/// preface.
pub fn config(settings: &Settings) -> Option<H2Config> {
    let h2 = matches!(settings.get("http_protocols"), Some(Value::List(p)) if p.iter().any(|p| p == "h2"));
    let mode = match settings.get("http2_cleartext") {
        Some(Value::Str(mode)) => mode.as_str(),
        _ => "off",
    };
    (h2 && matches!(mode, "prior-knowledge" | "both")).then(|| H2Config::from_settings(settings))
}

impl AsgiDriver {
    /// Reads the first bytes of connection `id` until they tell: `Some`
    /// when it is HTTP/1 (the bytes are its decoder's), `None` when more
    /// are awaited, or it became HTTP/2, or it closed.
    pub(super) fn sniff_preface(&mut self, py: Python<'_>, id: usize) -> Option<()> {
        let c = self.conns.get_mut(&id)?;
        let mut sniffed = c.sniff.take()?;
        let mut buf = [0u8; PREFACE.len()];
        let mut eof = false;
        while sniffed.len() < PREFACE.len() {
            match c
                .conn
                .stream
                .read(&mut buf[..PREFACE.len() - sniffed.len()])
            {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => sniffed.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        if sniffed == PREFACE {
            let config = self.h2c.clone()?;
            self.h2_start(py, id, config, &sniffed);
            return None;
        }
        if !eof && PREFACE.starts_with(&sniffed) {
            c.sniff = Some(sniffed);
            c.conn.http.await_peer(self.now);
            return None;
        }
        c.conn.http.feed(&sniffed);
        if eof {
            c.conn.http.feed_eof();
        }
        c.owe_read = !eof;
        Some(())
    }
}
