//! HTTP/2 (RFC 9113) for the server side, sans-IO: frames, HPACK, and the
//! connection machine that runs many streams over one connection.

mod connection;
pub mod error;
pub mod frame;
mod head;
pub mod hpack;
mod recv;
mod respond;
mod settings;
mod stream;
mod upgrade;

pub use connection::{H2Connection, H2Event, H2Notice, H2Request};
pub use error::{AppError, ErrorCode, H2Error};
pub use head::request_head;
pub use respond::{encode_response_field, BodyRead};
pub use settings::H2Config;
pub use stream::valid_response_field;
pub use upgrade::{request_from_h1, UPGRADE_101};
