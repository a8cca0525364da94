//! Close codes (RFC 6455 §7.4) and the close frame's payload.
//!
//! Rules: a close payload is empty (no code: 1005 to the application) or
//! a two-byte code followed by a UTF-8 reason; one byte alone is a protocol
//! error. A code the peer may send is 1000–1003, 1007–1014 or 3000–4999;
//! 1005 and 1006 only ever describe what happened and are never on the
//! wire, and so is 1015.

/// Close codes rcorn itself sends or reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseCode;

impl CloseCode {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Reported when the peer's close frame had no code; never sent.
    pub const NO_STATUS: u16 = 1005;
    /// Reported when the connection dropped without a close frame; never
    /// sent.
    pub const ABNORMAL: u16 = 1006;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    pub const SERVICE_RESTART: u16 = 1012;
}

/// May this code be in a close frame on the wire?
pub fn close_code_is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The peer's close payload: `Ok((code, reason))`, or the code to fail the
/// connection with.
pub fn parse_close(payload: &[u8]) -> Result<(u16, String), u16> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS, String::new())),
        [_] => Err(CloseCode::PROTOCOL_ERROR),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code_is_valid(code) {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
            match std::str::from_utf8(reason) {
                Ok(reason) => Ok((code, reason.to_owned())),
                Err(_) => Err(CloseCode::INVALID_DATA),
            }
        }
    }
}

/// The payload of a close frame rcorn sends: the code, then as much of
/// `reason` as fits a control frame (125 bytes), cut on a character.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_payloads_are_checked_as_the_rfc_says() {
        assert_eq!(parse_close(b""), Ok((1005, String::new())));
        assert_eq!(parse_close(b"\x03"), Err(1002));
        assert_eq!(parse_close(b"\x03\xe8bye"), Ok((1000, "bye".into())));
        assert_eq!(parse_close(b"\x03\xed"), Err(1002), "1005 is never sent");
        assert_eq!(parse_close(b"\x0b\xb8"), Ok((3000, String::new())));
        assert_eq!(parse_close(b"\x03\xe8\xff"), Err(1007));
        let long = "é".repeat(100);
        let payload = close_payload(1000, &long);
        assert!(payload.len() <= 125);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
    }
}
