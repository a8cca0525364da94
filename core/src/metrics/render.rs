//! The page a scrape gets: Prometheus' text exposition format (0.0.4).
//!
//! Every family has a HELP line saying what it counts and a TYPE line;
//! counters end in `_total`, durations are in seconds and sizes in bytes.
//! Request series appear once a request with those labels was answered;
//! the histogram's buckets, the worker states and the restart causes are
//! always all listed, so a dashboard's queries have series from the start.

use std::fmt::Write;

use super::buckets::{BOUNDS_SECONDS, BUCKETS};
use super::counts::WorkerCounts;
use super::labels::{METHODS, STATUS_CLASSES};
use crate::arbiter::{ArbiterStats, Worker, WorkerState};

/// The content type of the page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the master knows when it renders the page.
pub struct MasterView<'a> {
    /// Every worker's numbers, the reaped ones' counters folded in.
    pub counts: &'a WorkerCounts,
    pub workers: &'a [Worker],
    pub target: u32,
    pub stats: ArbiterStats,
    /// The listeners whose accept queue can be read, with its length.
    pub backlogs: &'a [(String, u32)],
}

/// Worker states as the `state` label names them.
pub const WORKER_STATES: [&str; 5] = ["booting", "ready", "stopping", "aborting", "killed"];

fn state_index(state: WorkerState) -> usize {
    match state {
        WorkerState::Booting => 0,
        WorkerState::Ready => 1,
        WorkerState::Stopping { .. } => 2,
        WorkerState::Aborting { .. } => 3,
        WorkerState::Killed => 4,
    }
}

/// Every metric name the page can hold (a histogram's by its family name).
pub const METRIC_NAMES: [&str; 10] = [
    "rcorn_http_requests_total",
    "rcorn_http_request_duration_seconds",
    "rcorn_http_requests_in_flight",
    "rcorn_http_received_bytes_total",
    "rcorn_http_sent_bytes_total",
    "rcorn_workers",
    "rcorn_workers_target",
    "rcorn_worker_restarts_total",
    "rcorn_reloads_total",
    "rcorn_listen_backlog",
];

/// Appends the whole page to `out`.
pub fn render(view: &MasterView<'_>, out: &mut String) {
    requests(view.counts, out);
    duration_histogram(view.counts, out);
    let c = view.counts;
    family(out, "rcorn_http_requests_in_flight", "gauge",
        "Requests whose application call has begun and whose response is not finished, over live workers.");
    let _ = writeln!(out, "rcorn_http_requests_in_flight {}", c.in_flight.max(0));
    family(
        out,
        "rcorn_http_received_bytes_total",
        "counter",
        "Bytes read from client connections (as on the wire: TLS records for TLS listeners).",
    );
    let _ = writeln!(out, "rcorn_http_received_bytes_total {}", c.bytes_received);
    family(
        out,
        "rcorn_http_sent_bytes_total",
        "counter",
        "Bytes written to client connections (as on the wire: TLS records for TLS listeners).",
    );
    let _ = writeln!(out, "rcorn_http_sent_bytes_total {}", c.bytes_sent);
    workers(view, out);
    family(
        out,
        "rcorn_reloads_total",
        "counter",
        "Reloads (HUP or the control socket's reload) since the master started.",
    );
    let _ = writeln!(out, "rcorn_reloads_total {}", view.stats.reloads);
    family(
        out,
        "rcorn_listen_backlog",
        "gauge",
        "Connections waiting in a TCP listener's accept queue, not yet taken by a worker.",
    );
    for (listener, waiting) in view.backlogs {
        let _ = write!(out, "rcorn_listen_backlog{{listener=\"");
        escape_label(listener, out);
        let _ = writeln!(out, "\"}} {waiting}");
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn requests(c: &WorkerCounts, out: &mut String) {
    family(out, "rcorn_http_requests_total", "counter",
        "HTTP requests answered, by method (other for unlisted ones) and status class (other: no response was sent).");
    for (method, row) in METHODS.iter().zip(&c.responses) {
        for (class, n) in STATUS_CLASSES.iter().zip(row) {
            if *n > 0 {
                let _ = writeln!(
                    out,
                    "rcorn_http_requests_total{{method=\"{method}\",status=\"{class}\"}} {n}"
                );
            }
        }
    }
}

fn duration_histogram(c: &WorkerCounts, out: &mut String) {
    let name = "rcorn_http_request_duration_seconds";
    family(
        out,
        name,
        "histogram",
        "Time from a complete request head to the end of its response, in seconds.",
    );
    let mut cumulative = 0u64;
    for (i, n) in c.durations.iter().enumerate() {
        cumulative = cumulative.wrapping_add(*n);
        let le = BOUNDS_SECONDS.get(i).copied().unwrap_or("+Inf");
        debug_assert!(i < BUCKETS);
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let seconds = c.duration_micros as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum {seconds}\n{name}_count {cumulative}");
}

fn workers(view: &MasterView<'_>, out: &mut String) {
    let mut by_state = [0u32; WORKER_STATES.len()];
    for w in view.workers {
        by_state[state_index(w.state)] += 1;
    }
    family(out, "rcorn_workers", "gauge",
        "Worker processes not yet reaped, by state: booting (loading the app), ready (serving), stopping (told to exit), aborting (silent past timeout, sent SIGABRT), killed (sent SIGKILL).");
    for (state, n) in WORKER_STATES.iter().zip(by_state) {
        let _ = writeln!(out, "rcorn_workers{{state=\"{state}\"}} {n}");
    }
    family(
        out,
        "rcorn_workers_target",
        "gauge",
        "Workers the master keeps running (workers, moved by TTIN/TTOU and the control socket).",
    );
    let _ = writeln!(out, "rcorn_workers_target {}", view.target);
    family(out, "rcorn_worker_restarts_total", "counter",
        "Workers replaced, by cause: timeout (silent past timeout, aborted), max_requests (a ready worker that exited on its own after max_requests, or --reload), crash (died otherwise).");
    let s = &view.stats;
    for (cause, n) in [
        ("timeout", s.restarts_timeout),
        ("max_requests", s.restarts_max_requests),
        ("crash", s.restarts_crash),
    ] {
        let _ = writeln!(out, "rcorn_worker_restarts_total{{cause=\"{cause}\"}} {n}");
    }
}

/// A label value as the text format escapes it: backslash, double quote
/// and line feed.
fn escape_label(value: &str, out: &mut String) {
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    fn worker(pid: i32, state: WorkerState) -> Worker {
        Worker {
            id: pid as u64,
            pid,
            generation: 0,
            state,
            spawned_at: Instant::ZERO,
            ready_at: None,
            last_beat: Instant::ZERO,
            retiring: false,
        }
    }

    fn page() -> String {
        let mut counts = WorkerCounts::default();
        counts.responses[0][1] = 3; // GET 2xx
        counts.responses[2][3] = 1; // POST 4xx
        counts.durations[0] = 3;
        counts.durations[11] = 1;
        counts.duration_micros = 12_500_000;
        counts.in_flight = 2;
        counts.bytes_received = 10;
        counts.bytes_sent = 20;
        let stats = ArbiterStats {
            restarts_max_requests: 4,
            restarts_timeout: 1,
            ..ArbiterStats::default()
        };
        let workers = [
            worker(1, WorkerState::Ready),
            worker(2, WorkerState::Ready),
            worker(3, WorkerState::Booting),
        ];
        let backlogs = [("http://127.0.0.1:8000 \"x\"\\".to_owned(), 7)];
        let mut out = String::new();
        render(
            &MasterView {
                counts: &counts,
                workers: &workers,
                target: 2,
                stats,
                backlogs: &backlogs,
            },
            &mut out,
        );
        out
    }

    #[test]
    fn the_page_has_the_numbers_with_their_labels() {
        let page = page();
        for line in [
            "rcorn_http_requests_total{method=\"GET\",status=\"2xx\"} 3",
            "rcorn_http_requests_total{method=\"POST\",status=\"4xx\"} 1",
            "rcorn_http_request_duration_seconds_bucket{le=\"0.005\"} 3",
            "rcorn_http_request_duration_seconds_bucket{le=\"10\"} 3",
            "rcorn_http_request_duration_seconds_bucket{le=\"+Inf\"} 4",
            "rcorn_http_request_duration_seconds_sum 12.5",
            "rcorn_http_request_duration_seconds_count 4",
            "rcorn_http_requests_in_flight 2",
            "rcorn_http_received_bytes_total 10",
            "rcorn_http_sent_bytes_total 20",
            "rcorn_workers{state=\"ready\"} 2",
            "rcorn_workers{state=\"booting\"} 1",
            "rcorn_workers{state=\"killed\"} 0",
            "rcorn_workers_target 2",
            "rcorn_worker_restarts_total{cause=\"max_requests\"} 4",
            "rcorn_worker_restarts_total{cause=\"timeout\"} 1",
            "rcorn_worker_restarts_total{cause=\"crash\"} 0",
            "rcorn_reloads_total 0",
            "rcorn_listen_backlog{listener=\"http://127.0.0.1:8000 \\\"x\\\"\\\\\"} 7",
        ] {
            assert!(page.lines().any(|l| l == line), "{line} missing:\n{page}");
        }
        assert!(
            !page.contains("method=\"HEAD\""),
            "zero series are left out"
        );
    }

    #[test]
    fn every_family_has_help_and_type_and_a_known_name() {
        let page = page();
        let helps: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix("# HELP "))
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(helps, METRIC_NAMES);
        assert_eq!(page.matches("# TYPE ").count(), METRIC_NAMES.len());
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            assert!(
                METRIC_NAMES
                    .iter()
                    .any(|m| name == *m || name.starts_with(&format!("{m}_"))),
                "{name}"
            );
        }
        assert!(page.ends_with('\n'));
    }
}
