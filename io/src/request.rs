//! Serving one request on a connection whose head is complete: the
//! application answers through an [`Exchange`], which then finishes the
//! response; the access log and the metrics hear of it. Both worker
//! classes call it (the sync worker's loop, the gthread worker's
//! application threads), so neither depends on the other.

use crate::access::AccessLogger;
use crate::app::App;
use crate::exchange::{Connection, Exchange, ExchangeContext};

/// Serves one request: the application answers through an [`Exchange`],
/// which then finishes the response. Returns whether the connection may
/// carry another request. Both worker classes serve through it.
pub(crate) fn serve<A: App + ?Sized>(
    app: &mut A,
    conn: &mut Connection,
    ctx: ExchangeContext<'_>,
    access_log: Option<&mut AccessLogger>,
) -> bool {
    let Some(mut exchange) = Exchange::new(conn, ctx) else {
        return false;
    };
    let method = crate::metrics::method(exchange.head().method());
    crate::metrics::request_started();
    app.call(&mut exchange);
    let (keep_alive, summary) = exchange.finish();
    crate::metrics::request_finished(method, summary.status, summary.duration);
    if let Some(logger) = access_log {
        logger.log(conn, &summary);
    }
    crate::statsd::request(summary.status, summary.duration);
    keep_alive
}
