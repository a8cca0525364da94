//! HTTP/2 in the gthread worker: the loop pumps bytes between the socket
//! and core's `H2Connection`; each stream is a job for an application
//! thread, which answers through the same `Exchange` API as HTTP/1.
//!
//! The rules it keeps:
//!
//! 1. **No HTTP rule here.** Framing, flow control, limits and deadlines
//!    are `H2Connection`'s; this module moves bytes, waits, and runs the
//!    timers it is given (`next_deadline`), kept in `deadlines` so that
//!    finding the next one locks no connection.
//! 2. **One lock per connection** (`shared`): the machine and the socket
//!    are behind one mutex. The loop reads; whoever holds the lock writes
//!    what is pending, non-blocking, so no one ever blocks holding it.
//! 3. **Streams are served concurrently**: each `Request` event becomes a
//!    job for the thread pool; a thread that needs body bytes or send
//!    credit waits on the connection's condition variable with the
//!    application runtime's lock released, and the loop wakes it when
//!    events come.
//! 4. **The body is never buffered whole**: the application reads it from
//!    the machine, which returns credit as it is read.
//! 5. **The loop hears of what threads did** through a queue of slots and
//!    one wake-up, only when it must act: a stream's response ended (its
//!    last bytes are the loop's to write, with every other stream's of
//!    that wake-up: one write for many responses), a stream finished (the
//!    connection may now close or start its idle deadline), reading was
//!    paused for output that a thread has now written, or a thread set a
//!    deadline earlier than the one the loop knows. However many streams
//!    of a connection woke it, the loop pumps it once.

mod deadlines;
mod driver;
mod exchange;
mod shared;

pub use driver::{log_connection_error, log_notice};
pub(crate) use driver::{H2Table, LoopWake, NewStream, Pumped};
pub use exchange::H2Exchange;
pub(crate) use exchange::{serve_stream, StreamJob};
