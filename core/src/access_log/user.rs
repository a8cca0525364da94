//! `%(u)s`: the user a request names, from the server or from an
//! `Authorization: Basic` header, decoded as gunicorn decodes it.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::escape::push_str;
use super::AccessRecord;

/// Base64 as CPython's non-strict `binascii.a2b_base64` reads it once only
/// alphabet characters are left ([`a2b_base64_input`]): the bits left over
/// in the last character are ignored, and the padding, already accounted
/// for, is not required.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `%(u)s`: the override if any, else the user of an `Authorization: Basic`
/// header decoded as gunicorn does, else `-`.
pub(super) fn push_user(rec: &dyn AccessRecord, out: &mut Vec<u8>) {
    if let Some(u) = rec.remote_user().filter(|u| !u.is_empty()) {
        push_str(out, u);
        return;
    }
    let credential = rec
        .request_header("authorization")
        .and_then(basic_credential);
    // The user is the UTF-8 text before the first ':'.
    let user = credential
        .as_deref()
        .and_then(|c| c.split(|&b| b == b':').next())
        .and_then(|u| std::str::from_utf8(u).ok());
    match user {
        Some(user) if !user.is_empty() => push_str(out, user),
        _ => out.push(b'-'),
    }
}

/// The decoded credential of a Basic `Authorization` value: gunicorn checks
/// the value starts with "basic" (any case) and base64-decodes what follows
/// the first space with Python's lenient decoder.
fn basic_credential(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() < 5 || !value[..5].eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let space = value.iter().position(|&b| b == b' ')?;
    // Python strips the credential first; whitespace is skipped anyway.
    let encoded = a2b_base64_input(&value[space + 1..])?;
    LENIENT_BASE64.decode(encoded).ok()
}

/// The part of `encoded` CPython's non-strict `a2b_base64` decodes: the
/// alphabet characters, skipping any other byte, up to padding that
/// completes a quantum. `None` where it fails on a partial quantum
/// (`binascii.Error: Incorrect padding`).
fn a2b_base64_input(encoded: &[u8]) -> Option<Vec<u8>> {
    let mut kept = Vec::with_capacity(encoded.len());
    let mut pads = 0;
    for &c in encoded {
        let quad_pos = kept.len() % 4;
        if c == b'=' {
            // Padding counts only after two characters of a quantum.
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Some(kept);
                }
            }
        } else if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            kept.push(c);
            pads = 0;
        }
    }
    (kept.len() % 4 == 0).then_some(kept)
}
