//! The gthread worker's application threads.
//!
//! The event loop hands over a connection whose request head is complete
//! ([`Job`]); a free thread serves that one request through an `Exchange`,
//! reading the body from the socket as the application asks for it and
//! writing the response as it is produced (a full socket makes the thread
//! wait, so a slow reader holds back the application instead of growing a
//! buffer). It then hands the connection back ([`Returned`]) and wakes the
//! loop, which reads the next request, keeps the connection idle, or closes
//! it. A thread is busy only while a request runs; idle keep-alive
//! connections and slow clients stay with the loop.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rcorn_core::handoff::HandOff;
use rcorn_core::http::DateCache;

use crate::access::AccessLogger;
use crate::app::App;
use crate::exchange::{Connection, ExchangeContext};
use crate::h2::StreamJob;

/// A connection with a complete request head, for an application thread.
pub(crate) struct Job {
    /// The loop's table slot the connection comes back to.
    pub slot: usize,
    pub conn: Box<Connection>,
    pub scheme: Option<&'static str>,
    /// Whether the response may invite another request (the lifecycle's
    /// answer when the head was handed over).
    pub keep_alive: bool,
}

/// What an application thread is given: a connection's request, or one
/// HTTP/2 stream.
enum Work {
    Request(Job),
    Stream(Box<StreamJob>),
}

/// A connection whose request has been served.
pub(crate) struct Returned {
    pub slot: usize,
    pub conn: Box<Connection>,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

struct Queues {
    jobs: HandOff<Work>,
    returned: HandOff<Returned>,
    waker: Arc<mio::Waker>,
    /// The worker drains: responses begun from now on close their
    /// connection.
    draining: AtomicBool,
}

pub(crate) struct AppPool {
    queues: Arc<Queues>,
    /// Never joined: a worker that exits at its graceful timeout leaves
    /// requests that are still running behind, as gunicorn does.
    _threads: Vec<JoinHandle<()>>,
}

impl AppPool {
    /// Starts one thread per handler.
    pub fn start<H: App + Send + 'static>(
        handlers: Vec<H>,
        waker: Arc<mio::Waker>,
        access_log: Option<AccessLogger>,
        io_timeout: Duration,
    ) -> io::Result<AppPool> {
        let queues = Arc::new(Queues {
            jobs: HandOff::new(),
            returned: HandOff::new(),
            waker,
            draining: AtomicBool::new(false),
        });
        let mut threads = Vec::with_capacity(handlers.len());
        for (i, handler) in handlers.into_iter().enumerate() {
            let queues = queues.clone();
            let access_log = access_log.clone();
            let thread = std::thread::Builder::new()
                .name(format!("rcorn-app-{i}"))
                .spawn(move || app_thread(handler, &queues, access_log, io_timeout))?;
            threads.push(thread);
        }
        Ok(AppPool {
            queues,
            _threads: threads,
        })
    }

    /// Queues a request for the next free thread; refused (and handed back)
    /// once the pool is closing.
    pub fn submit(&self, job: Job) -> Result<(), Job> {
        match self.queues.jobs.push(Work::Request(job)) {
            Ok(_) => Ok(()),
            Err(Work::Request(job)) => Err(job),
            Err(Work::Stream(_)) => unreachable!("a request was pushed"),
        }
    }

    /// Queues an HTTP/2 stream for the next free thread; refused (and
    /// handed back) once the pool is closing.
    pub fn submit_stream(&self, job: Box<StreamJob>) -> Result<(), Box<StreamJob>> {
        match self.queues.jobs.push(Work::Stream(job)) {
            Ok(_) => Ok(()),
            Err(Work::Stream(job)) => Err(job),
            Err(Work::Request(_)) => unreachable!("a stream was pushed"),
        }
    }

    /// Tells the threads that responses begun from now on are the last on
    /// their connections.
    pub fn set_draining(&self) {
        self.queues.draining.store(true, Ordering::Relaxed);
    }

    /// Moves the connections the threads are done with to `out`.
    pub fn collect(&self, out: &mut Vec<Returned>) {
        self.queues.returned.drain_into(out);
    }
}

impl Drop for AppPool {
    fn drop(&mut self) {
        // Idle threads wake and end; busy ones end after their request.
        self.queues.jobs.close();
    }
}

fn app_thread<H: App>(
    mut handler: H,
    queues: &Queues,
    mut access_log: Option<AccessLogger>,
    io_timeout: Duration,
) {
    // Signals are the loop's business: delivered here, they would only
    // interrupt the application's system calls.
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_BLOCK,
        Some(&crate::signals::worker_sigset()),
        None,
    );
    let keep_response_headers = access_log
        .as_ref()
        .is_some_and(AccessLogger::wants_response_headers);
    handler.thread_main(&mut |handler| {
        let mut dates = DateCache::new();
        while let Some(work) = crate::blocking::while_waiting(|| queues.jobs.pop()) {
            let mut job = match work {
                Work::Request(job) => job,
                Work::Stream(job) => {
                    let date = dates.get(crate::clock::unix_secs()).to_vec();
                    crate::h2::serve_stream(
                        handler,
                        *job,
                        &date,
                        keep_response_headers,
                        access_log.as_mut(),
                    );
                    continue;
                }
            };
            let ctx = ExchangeContext {
                dates: &mut dates,
                io_timeout,
                forwarded_scheme: job.scheme,
                keep_alive: job.keep_alive,
                draining: Some(&queues.draining),
                keep_response_headers,
                // The application thread hands the connection back to the
                // loop, which does not look at its output: write it here.
                defer_last_write: false,
            };
            let keep_alive =
                crate::request::serve(handler, &mut job.conn, ctx, access_log.as_mut());
            let back = Returned {
                slot: job.slot,
                conn: job.conn,
                keep_alive,
            };
            // The loop outlives the threads' use of the queue; if it is
            // gone the process is exiting and the connection with it. A
            // wake-up is already due when others wait before this one: the
            // loop collects them all at once (one eventfd write per batch,
            // not per request).
            if matches!(queues.returned.push(back), Ok(true)) {
                let _ = queues.waker.wake();
            }
        }
    });
}
