//! The `forwarder_headers` setting's match: which header names with `_` a
//! trusted proxy may send. The decoder (under `header_map = refuse`) and
//! the WSGI environ ask the same question, so they share this answer.

/// Whether `name` is among `listed` (compared without case), or `listed`
/// holds `*`.
pub fn is_forwarder_header<S: AsRef<str>>(listed: &[S], name: &[u8]) -> bool {
    listed.iter().any(|h| {
        let h = h.as_ref();
        h == "*" || h.as_bytes().eq_ignore_ascii_case(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_case_and_star_matches_all() {
        let listed = ["SCRIPT_NAME", "path_info"];
        assert!(is_forwarder_header(&listed, b"script_name"));
        assert!(is_forwarder_header(&listed, b"PATH_INFO"));
        assert!(!is_forwarder_header(&listed, b"X_USER"));
        assert!(is_forwarder_header(&["*"], b"X_USER"));
        assert!(!is_forwarder_header::<&str>(&[], b"SCRIPT_NAME"));
    }
}
