//! The answers, with the fields gunicorn 26's control handlers give
//! (`gunicorn/ctl/handlers.py`), so `gunicornc` prints them as it prints
//! gunicorn's: `{"id", "status": "ok", "data"}` or
//! `{"id", "status": "error", "error"}`.

use serde_json::{json, Map, Value};

/// One worker as the master sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerView {
    pub pid: i32,
    /// Spawn order (gunicorn's `worker.age`).
    pub age: u64,
    pub booted: bool,
    pub aborted: bool,
    /// Seconds since its last heartbeat.
    pub last_heartbeat: f64,
    /// Requests it has answered.
    pub requests: u64,
}

/// One listening socket.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerView {
    /// As gunicorn prints it: `http://127.0.0.1:8000`, `unix:/run/app.sock`.
    pub address: String,
    pub fd: i32,
    /// `tcp`, `tcp6` or `unix`.
    pub kind: &'static str,
}

/// What `show stats` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsView {
    pub pid: i32,
    pub uptime_secs: f64,
    pub workers_current: usize,
    pub workers_target: u32,
    pub workers_spawned: u64,
    pub workers_killed: u64,
    pub reloads: u64,
}

pub fn ok(id: &Value, data: Value) -> Value {
    json!({"id": id, "status": "ok", "data": data})
}

pub fn error(id: &Value, message: &str) -> Value {
    json!({"id": id, "status": "error", "error": message})
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn worker_json(w: &WorkerView) -> Value {
    json!({
        "pid": w.pid,
        "age": w.age,
        "booted": w.booted,
        "aborted": w.aborted,
        "requests": w.requests,
        "last_heartbeat": round2(w.last_heartbeat),
    })
}

/// `show workers`: oldest first.
pub fn workers(list: &[WorkerView]) -> Value {
    let mut list = list.to_vec();
    list.sort_by_key(|w| w.age);
    let workers: Vec<Value> = list.iter().map(worker_json).collect();
    json!({"count": workers.len(), "workers": workers})
}

/// `show all`: the master and its workers; rcorn has no dirty arbiter.
pub fn all(master_pid: i32, list: &[WorkerView]) -> Value {
    let mut list = list.to_vec();
    list.sort_by_key(|w| w.age);
    let web: Vec<Value> = list
        .iter()
        .map(|w| {
            json!({
                "pid": w.pid,
                "type": "web",
                "age": w.age,
                "booted": w.booted,
                "last_heartbeat": round2(w.last_heartbeat),
            })
        })
        .collect();
    json!({
        "arbiter": {"pid": master_pid, "type": "arbiter", "role": "master"},
        "web_workers": web,
        "web_worker_count": list.len(),
        "dirty_arbiter": Value::Null,
        "dirty_workers": [],
        "dirty_worker_count": 0,
    })
}

/// `show dirty`: rcorn has no dirty arbiter.
pub fn dirty() -> Value {
    json!({"enabled": false, "pid": Value::Null, "workers": [], "apps": []})
}

pub fn stats(s: &StatsView) -> Value {
    json!({
        "uptime": round2(s.uptime_secs),
        "pid": s.pid,
        "workers_current": s.workers_current,
        "workers_target": s.workers_target,
        "workers_spawned": s.workers_spawned,
        "workers_killed": s.workers_killed,
        "reloads": s.reloads,
        "dirty_arbiter_pid": Value::Null,
    })
}

pub fn listeners(list: &[ListenerView]) -> Value {
    let listeners: Vec<Value> = list
        .iter()
        .map(|l| json!({"address": l.address, "fd": l.fd, "type": l.kind}))
        .collect();
    json!({"count": listeners.len(), "listeners": listeners})
}

/// `show config`: the settings gunicorn's answer names, by name.
pub const CONFIG_KEYS: [&str; 20] = [
    "bind",
    "workers",
    "worker_class",
    "threads",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "max_requests",
    "max_requests_jitter",
    "worker_connections",
    "preload_app",
    "daemon",
    "pidfile",
    "proc_name",
    "reload",
    "dirty_workers",
    "dirty_apps",
    "dirty_timeout",
    "control_socket",
    "control_socket_disable",
];

pub fn config(values: Map<String, Value>) -> Value {
    Value::Object(values)
}

pub fn worker_add(added: u32, previous: u32, total: u32) -> Value {
    json!({"added": added, "previous": previous, "total": total})
}

pub fn worker_remove(previous: u32, total: u32) -> Value {
    json!({"removed": previous - total.min(previous), "previous": previous, "total": total})
}

pub fn worker_kill(pid: i32, known: bool) -> Value {
    if known {
        json!({"success": true, "killed": pid})
    } else {
        json!({"success": false, "error": format!("Worker {pid} not found")})
    }
}

pub fn dirty_not_running() -> Value {
    json!({"success": false, "error": "Dirty arbiter not running"})
}

pub fn reload() -> Value {
    json!({"status": "reloading"})
}

pub fn reopen() -> Value {
    json!({"status": "reopening"})
}

pub fn shutdown(quick: bool) -> Value {
    json!({"status": "shutting_down", "mode": if quick { "quick" } else { "graceful" }})
}

pub fn help() -> Value {
    let commands: Map<String, Value> = [
        (
            "show all",
            "Show all processes (arbiter, web workers, dirty workers)",
        ),
        ("show workers", "List HTTP workers with their status"),
        ("show dirty", "List dirty workers and apps"),
        ("show config", "Show current effective configuration"),
        ("show stats", "Show server statistics"),
        ("show listeners", "Show bound sockets"),
        ("worker add [N]", "Spawn N workers (default 1)"),
        ("worker remove [N]", "Remove N workers (default 1)"),
        ("worker kill <PID>", "Gracefully terminate specific worker"),
        ("dirty add [N]", "Spawn N dirty workers (default 1)"),
        ("dirty remove [N]", "Remove N dirty workers (default 1)"),
        ("reload", "Graceful reload (HUP)"),
        ("reopen", "Reopen log files (USR1)"),
        ("shutdown [graceful|quick]", "Shutdown server (TERM/INT)"),
        ("help", "Show this help message"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Value::from(v)))
    .collect();
    json!({"commands": commands})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pid: i32, age: u64) -> WorkerView {
        WorkerView {
            pid,
            age,
            booted: true,
            aborted: false,
            last_heartbeat: 0.123,
            requests: 7,
        }
    }

    #[test]
    fn workers_are_listed_oldest_first_with_gunicorns_fields() {
        let v = workers(&[w(20, 2), w(10, 1)]);
        assert_eq!(v["count"], 2);
        assert_eq!(v["workers"][0]["pid"], 10);
        assert_eq!(v["workers"][1]["age"], 2);
        assert_eq!(v["workers"][0]["last_heartbeat"], 0.12);
        assert_eq!(v["workers"][0]["requests"], 7);
        for key in [
            "pid",
            "age",
            "booted",
            "aborted",
            "requests",
            "last_heartbeat",
        ] {
            assert!(v["workers"][0].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn answers_carry_the_id_and_a_status() {
        let id = Value::from(5);
        assert_eq!(
            ok(&id, reload()),
            json!({"id": 5, "status": "ok", "data": {"status": "reloading"}})
        );
        assert_eq!(error(&Value::Null, "Empty command")["status"], "error");
        assert_eq!(
            worker_remove(3, 1),
            json!({"removed": 2, "previous": 3, "total": 1})
        );
        assert_eq!(worker_kill(9, false)["error"], "Worker 9 not found");
        assert_eq!(shutdown(true)["mode"], "quick");
    }
}
