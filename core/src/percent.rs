//! Percent-decoding of a request path, as gunicorn's `unquote_to_bytes`
//! does it: `%` and two hex digits become that byte; a `%` without two hex
//! digits after it stays as it is. The WSGI `PATH_INFO` and the access
//! log's `%(U)s` both decode through here, so they cannot disagree.

use std::borrow::Cow;

/// The decoded path; borrowed when nothing in it needed decoding.
pub fn decode(path: &[u8]) -> Cow<'_, [u8]> {
    percent_encoding::percent_decode(path).into()
}

/// The decoded path byte by byte, without allocating.
pub fn decoded_bytes(path: &[u8]) -> impl Iterator<Item = u8> + '_ {
    percent_encoding::percent_decode(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_escapes_stay_as_they_are() {
        assert_eq!(&*decode(b"/a%20b"), b"/a b");
        assert_eq!(&*decode(b"/%e9t%C3%A9"), b"/\xe9t\xc3\xa9");
        assert_eq!(&*decode(b"/100%"), b"/100%");
        assert_eq!(&*decode(b"/%zz%4"), b"/%zz%4");
        assert_eq!(&*decode(b"/%%41"), b"/%A");
        assert_eq!(&*decode(b"/%\xb2\xb2"), b"/%\xb2\xb2");
        assert!(matches!(decode(b"/plain"), Cow::Borrowed(b"/plain")));
        assert!(decoded_bytes(b"/a%2Fb%2").eq(b"/a/b%2".iter().copied()));
    }
}
