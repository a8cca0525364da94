//! The settings model: every gunicorn setting by its gunicorn name, with its
//! kind, default, validation and CLI spellings, in one table ([`SETTINGS`])
//! that the CLI, the Python config-file loader, `--print-config` and the docs
//! all read.
//!
//! rcorn accepts every gunicorn setting. Those it does not act on yet are
//! marked [`Support::NoEffect`] with the reason, and
//! [`Settings::unsupported_in_use`] lists the ones a user actually changed so
//! the server can warn once per setting instead of ignoring them silently.
//!
//! Pure: nothing here reads the environment, the filesystem or the clock.
//! What gunicorn takes from the environment for its defaults
//! (`WEB_CONCURRENCY`, `PORT`, the working directory, ...) is handed in
//! through [`HostDefaults`].

mod accessors;
mod coerce;
mod dirty;
mod error;
mod forwarder_headers;
mod host;
mod logging;
mod setting;
mod settings;
mod syntax;
mod table;
mod value;

#[cfg(test)]
mod tests;

pub use error::ConfigError;
pub use forwarder_headers::is_forwarder_header;
pub use host::HostDefaults;
pub use logging::{LoggingChoice, LoggingConfig};
pub use setting::{
    by_flag, long_flags_with_prefix, setting, DefaultValue, IntSyntax, Kind, Setting, Support,
    Validator,
};
pub use settings::Settings;
pub use syntax::{
    parse_address, parse_ip_network, py_auto_int, py_bool, py_int_base0, py_int_decimal,
    BindAddress,
};
pub use table::SETTINGS;
pub use value::{Source, Value};
