//! The defaults gunicorn takes from the host (environment variables, the
//! working directory, the user), handed in by the caller.

use super::{ConfigError, Settings, Source, Value};

/// What gunicorn reads from the host to build some defaults. The caller
/// (the CLI) fills it in; the core never looks at the environment.
#[derive(Clone, Debug, Default)]
pub struct HostDefaults {
    /// `$WEB_CONCURRENCY`: default for `workers`.
    pub web_concurrency: Option<String>,
    /// `$PORT`: makes the default `bind` `0.0.0.0:$PORT`.
    pub port: Option<String>,
    /// `$FORWARDED_ALLOW_IPS`: default for `forwarded_allow_ips`.
    pub forwarded_allow_ips: Option<String>,
    /// The working directory: default for `chdir`.
    pub cwd: Option<String>,
    /// Effective user and group ids: defaults for `user` and `group`.
    pub euid: Option<u32>,
    pub egid: Option<u32>,
    /// gunicorn's control socket default, computed as gunicorn does
    /// (`$XDG_RUNTIME_DIR/gunicorn.ctl` or `~/.gunicorn/gunicorn.ctl`).
    pub control_socket: Option<String>,
}

impl Settings {
    /// gunicorn's defaults on this host. Fails only on a malformed
    /// `WEB_CONCURRENCY`, `PORT` or `FORWARDED_ALLOW_IPS`.
    pub fn with_host(host: &HostDefaults) -> Result<Self, ConfigError> {
        let mut s = Self::defaults();
        let env = |var: &str| Source::Environment {
            var: var.to_owned(),
        };
        if let Some(w) = &host.web_concurrency {
            s.set_from_str("workers", w, env("WEB_CONCURRENCY"))?;
        }
        if let Some(p) = &host.port {
            let bind = Value::List(vec![format!("0.0.0.0:{}", p)]);
            s.set("bind", bind, env("PORT"))?;
        }
        if let Some(f) = &host.forwarded_allow_ips {
            s.set_from_str("forwarded_allow_ips", f, env("FORWARDED_ALLOW_IPS"))?;
        }
        if let Some(cwd) = &host.cwd {
            s.set("chdir", Value::Str(cwd.clone()), Source::Default)?;
        }
        if let Some(uid) = host.euid {
            s.set("user", Value::Int(i64::from(uid)), Source::Default)?;
        }
        if let Some(gid) = host.egid {
            s.set("group", Value::Int(i64::from(gid)), Source::Default)?;
        }
        if let Some(path) = &host.control_socket {
            s.set("control_socket", Value::Str(path.clone()), Source::Default)?;
        }
        Ok(s)
    }
}
