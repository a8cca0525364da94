//! The control socket's protocol, sans-IO: gunicorn 26's, so its
//! `gunicornc` client works against rcorn.
//!
//! A client connects to a unix socket the master listens on and sends
//! requests; each is a [`frame`] (4-byte big-endian length, then JSON)
//! holding `{"id", "command", "args"}`; each gets one answer, a frame
//! holding `{"id", "status": "ok", "data"}` or `{"id", "status": "error",
//! "error"}`, in order. [`command`] turns a payload into a [`Command`];
//! [`answer`] builds the answers from views of the master's state. What a
//! command does to the workers is an arbiter event
//! (`arbiter::Event::Signal` for reload, reopen and shutdown, as their
//! signals; `arbiter::Event::Control` for the worker count and stopping
//! one worker), so the simulator covers it like any signal.
//!
//! Limits: a request announcing more than [`frame::MAX_REQUEST`] bytes, or
//! a payload that is not a JSON object, gets an error answer and the
//! connection is closed; any other mistake gets an error answer and the
//! connection stays open.

pub mod answer;
pub mod command;
pub mod execute;
pub mod frame;

pub use command::{parse_request, Command, Request};
pub use execute::{execute, MasterFacts};
pub use frame::{encode, FrameError, FrameReader, MAX_REQUEST};
