//! The log line for a request refused for its sender's fault, shared by
//! every worker loop. How loud it is follows gunicorn: a malformed HTTP
//! request at debug, a uwsgi error (a bad packet, a peer outside
//! `uwsgi_allow_ips`) as an error, as gunicorn's workers log it.

use rcorn_core::http::ConnError;

use crate::stream::PeerAddr;

pub fn log_refused(peer: &PeerAddr, e: &ConnError) {
    let from = peer
        .ip()
        .map_or_else(|| "unix".to_owned(), |ip| ip.to_string());
    match e {
        ConnError::Client(d) if d.kind().is_uwsgi() => {
            crate::error!("Error handling request (no URI read) from {from}: {e}");
        }
        _ => crate::debug!("Invalid request from {from}: {e}"),
    }
}
