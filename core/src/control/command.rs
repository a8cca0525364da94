//! A control request's JSON, `{"id", "command", "args"}`, as the command
//! it asks for.
//!
//! Rules (gunicorn 26's `ControlSocketServer._dispatch`):
//! - `command` is split as a shell would (`shlex`), `args` appended after
//!   it (numbers and strings as their text); the first word, lower-cased,
//!   picks the command, the second (for `show`, `worker`, `dirty`) the
//!   target or action.
//! - Counts default to 1 and are at least 1; a count or pid that is not a
//!   whole number is an error. `shutdown` is graceful unless its argument
//!   is `quick`.
//! - Every mistake is an error answer with the request's `id` (0 when it
//!   has none), never a dropped connection; only a payload that is not a
//!   JSON object closes it, after an error answer with `id` null.

use serde_json::Value;

/// What a client asked of the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    ShowAll,
    ShowWorkers,
    ShowDirty,
    ShowConfig,
    ShowStats,
    ShowListeners,
    /// Raise the worker count by this many (at least 1).
    WorkerAdd(u32),
    /// Lower the worker count by this many (at least 1), never below one.
    WorkerRemove(u32),
    /// Stop this worker gracefully; the master replaces it.
    WorkerKill(i32),
    DirtyAdd(u32),
    DirtyRemove(u32),
    /// As SIGHUP.
    Reload,
    /// As SIGUSR1.
    Reopen,
    /// As SIGTERM, or SIGINT when `quick`.
    Shutdown {
        quick: bool,
    },
    Help,
}

/// One request: its id, echoed in the answer, and the command or why it
/// is not one.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: Value,
    pub command: Result<Command, String>,
}

/// Reads a payload. `Err` only for a payload that is not a JSON object:
/// the answer then has no id to carry, and the connection is closed.
pub fn parse_request(payload: &[u8]) -> Result<Request, String> {
    let message: Value =
        serde_json::from_slice(payload).map_err(|e| format!("Invalid JSON: {e}"))?;
    let Value::Object(message) = message else {
        return Err("Invalid JSON: a request is an object".into());
    };
    let id = message.get("id").cloned().unwrap_or(Value::from(0));
    let command = match message.get("command") {
        None => Err("Empty command".into()),
        Some(Value::String(text)) => words(text, message.get("args")).and_then(|w| command(&w)),
        Some(_) => Err("Invalid argument: command must be a string".into()),
    };
    Ok(Request { id, command })
}

/// The command's words, then its `args`.
fn words(text: &str, args: Option<&Value>) -> Result<Vec<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Empty command".into());
    }
    let mut words =
        shlex::split(text).ok_or_else(|| "Invalid argument: No closing quotation".to_string())?;
    match args {
        None | Some(Value::Null) => {}
        Some(Value::Array(args)) => words.extend(args.iter().map(|a| match a {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })),
        Some(_) => return Err("Invalid argument: args must be a list".into()),
    }
    if words.is_empty() {
        return Err("Empty command".into());
    }
    Ok(words)
}

fn command(words: &[String]) -> Result<Command, String> {
    let rest = &words[1..];
    match words[0].to_lowercase().as_str() {
        "show" => show(rest),
        "worker" => worker(rest),
        "dirty" => dirty(rest),
        "reload" => Ok(Command::Reload),
        "reopen" => Ok(Command::Reopen),
        "shutdown" => Ok(Command::Shutdown {
            quick: rest.first().is_some_and(|m| m == "quick"),
        }),
        "help" => Ok(Command::Help),
        other => Err(format!("Invalid argument: Unknown command: {other}")),
    }
}

fn show(rest: &[String]) -> Result<Command, String> {
    let Some(target) = rest.first() else {
        return Err(
            "Invalid argument: Missing show target (all|workers|dirty|config|stats|listeners)"
                .into(),
        );
    };
    Ok(match target.to_lowercase().as_str() {
        "all" => Command::ShowAll,
        "workers" => Command::ShowWorkers,
        "dirty" => Command::ShowDirty,
        "config" => Command::ShowConfig,
        "stats" => Command::ShowStats,
        "listeners" => Command::ShowListeners,
        other => return Err(format!("Invalid argument: Unknown show target: {other}")),
    })
}

fn worker(rest: &[String]) -> Result<Command, String> {
    let Some(action) = rest.first() else {
        return Err("Invalid argument: Missing worker action (add|remove|kill)".into());
    };
    match action.to_lowercase().as_str() {
        "add" => Ok(Command::WorkerAdd(count(rest.get(1))?)),
        "remove" => Ok(Command::WorkerRemove(count(rest.get(1))?)),
        "kill" => {
            let pid = rest
                .get(1)
                .ok_or_else(|| "Invalid argument: Missing PID for worker kill".to_string())?;
            Ok(Command::WorkerKill(whole::<i32>(pid)?))
        }
        other => Err(format!("Invalid argument: Unknown worker action: {other}")),
    }
}

fn dirty(rest: &[String]) -> Result<Command, String> {
    let Some(action) = rest.first() else {
        return Err("Invalid argument: Missing dirty action (add|remove)".into());
    };
    match action.to_lowercase().as_str() {
        "add" => Ok(Command::DirtyAdd(count(rest.get(1))?)),
        "remove" => Ok(Command::DirtyRemove(count(rest.get(1))?)),
        other => Err(format!("Invalid argument: Unknown dirty action: {other}")),
    }
}

/// A count: 1 when absent, at least 1 (as gunicorn's `max(1, int(n))`),
/// and no more than a worker table could hold.
fn count(word: Option<&String>) -> Result<u32, String> {
    match word {
        None => Ok(1),
        Some(w) => Ok(whole::<i64>(w)?.clamp(1, 1024) as u32),
    }
}

fn whole<T: std::str::FromStr>(word: &str) -> Result<T, String> {
    word.trim()
        .parse()
        .map_err(|_| format!("Invalid argument: invalid literal for int() with base 10: '{word}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(json: &str) -> Result<Command, String> {
        parse_request(json.as_bytes()).unwrap().command
    }

    #[test]
    fn commands_as_gunicornc_sends_them() {
        assert_eq!(
            cmd(r#"{"id":1,"command":"show workers","args":[]}"#),
            Ok(Command::ShowWorkers)
        );
        assert_eq!(
            cmd(r#"{"id":1,"command":"SHOW Stats"}"#),
            Ok(Command::ShowStats)
        );
        assert_eq!(
            cmd(r#"{"id":2,"command":"worker add","args":["3"]}"#),
            Ok(Command::WorkerAdd(3))
        );
        assert_eq!(
            cmd(r#"{"id":2,"command":"worker add","args":[2]}"#),
            Ok(Command::WorkerAdd(2))
        );
        assert_eq!(
            cmd(r#"{"id":2,"command":"worker add 0"}"#),
            Ok(Command::WorkerAdd(1))
        );
        assert_eq!(
            cmd(r#"{"id":2,"command":"worker remove"}"#),
            Ok(Command::WorkerRemove(1))
        );
        assert_eq!(
            cmd(r#"{"id":2,"command":"worker kill","args":["1234"]}"#),
            Ok(Command::WorkerKill(1234))
        );
        assert_eq!(
            cmd(r#"{"command":"shutdown quick"}"#),
            Ok(Command::Shutdown { quick: true })
        );
        assert_eq!(
            cmd(r#"{"command":"shutdown"}"#),
            Ok(Command::Shutdown { quick: false })
        );
        assert_eq!(
            cmd(r#"{"command":"shutdown graceful"}"#),
            Ok(Command::Shutdown { quick: false })
        );
        assert_eq!(cmd(r#"{"command":" reload "}"#), Ok(Command::Reload));
        assert_eq!(cmd(r#"{"command":"reopen"}"#), Ok(Command::Reopen));
        assert_eq!(cmd(r#"{"command":"help"}"#), Ok(Command::Help));
        assert_eq!(
            cmd(r#"{"command":"dirty add 2"}"#),
            Ok(Command::DirtyAdd(2))
        );
    }

    #[test]
    fn mistakes_are_error_answers_with_the_id() {
        let r = parse_request(br#"{"id":7,"command":"fly"}"#).unwrap();
        assert_eq!(r.id, Value::from(7));
        assert_eq!(
            r.command,
            Err("Invalid argument: Unknown command: fly".into())
        );
        for (json, want) in [
            (r#"{"command":""}"#, "Empty command"),
            (r#"{"id":3}"#, "Empty command"),
            (r#"{"command":"show"}"#, "Missing show target"),
            (
                r#"{"command":"show nothing"}"#,
                "Unknown show target: nothing",
            ),
            (r#"{"command":"worker"}"#, "Missing worker action"),
            (r#"{"command":"worker kill"}"#, "Missing PID"),
            (
                r#"{"command":"worker kill x"}"#,
                "invalid literal for int() with base 10: 'x'",
            ),
            (r#"{"command":"worker add many"}"#, "'many'"),
            (r#"{"command":"worker fly"}"#, "Unknown worker action: fly"),
            (r#"{"command":"show 'workers"}"#, "No closing quotation"),
            (r#"{"command":7}"#, "command must be a string"),
            (
                r#"{"command":"show","args":"workers"}"#,
                "args must be a list",
            ),
        ] {
            let got = cmd(json).unwrap_err();
            assert!(got.contains(want), "{json}: {got}");
        }
        assert_eq!(
            parse_request(br#"{"command":"help"}"#).unwrap().id,
            Value::from(0)
        );
    }

    #[test]
    fn a_payload_that_is_no_json_object_is_refused() {
        assert!(parse_request(b"not json")
            .unwrap_err()
            .starts_with("Invalid JSON"));
        assert!(parse_request(b"[1,2]")
            .unwrap_err()
            .starts_with("Invalid JSON"));
        assert!(parse_request(b"\xff\xfe").is_err());
    }
}
