//! The server around the application: the command line and config file,
//! logging, start-up, the master's host (forking, server hooks, pidfile,
//! USR2 upgrades) and each worker's boot, whatever kind of application the
//! worker then serves.

pub(crate) mod app_import;
pub(crate) mod bind;
pub(crate) mod build_info;
pub(crate) mod cli;
pub(crate) mod config_file;
pub(crate) mod control_socket;
pub(crate) mod daemon;
pub(crate) mod hooks;
pub(crate) mod host;
pub(crate) mod io_config;
pub(crate) mod metrics_bind;
pub(crate) mod new_master;
pub(crate) mod pidfile;
pub(crate) mod privileges;
pub(crate) mod proc_title;
pub(crate) mod python_logging;
pub(crate) mod reloader;
pub(crate) mod serve;
pub(crate) mod stop;
pub(crate) mod worker;
pub(crate) mod worker_signals;
