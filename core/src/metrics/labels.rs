//! The label values requests are counted under: a bounded set, so a
//! client sending odd methods or an application inventing status codes
//! cannot grow the page.

/// Methods counted by name; any other is `other`.
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];

/// Status classes; a status outside 100–599 (none was sent: the client
/// left first) is `other`.
pub const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// Index of `method` in [`METHODS`].
pub fn method_index(method: &[u8]) -> usize {
    let last = METHODS.len() - 1;
    METHODS[..last]
        .iter()
        .position(|m| m.as_bytes() == method)
        .unwrap_or(last)
}

/// Index of `status`'s class in [`STATUS_CLASSES`].
pub fn status_class_index(status: u16) -> usize {
    match status {
        100..=599 => usize::from(status / 100) - 1,
        _ => STATUS_CLASSES.len() - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_by_name_and_the_rest_as_other() {
        assert_eq!(METHODS[method_index(b"GET")], "GET");
        assert_eq!(METHODS[method_index(b"OPTIONS")], "OPTIONS");
        assert_eq!(METHODS[method_index(b"get")], "other");
        assert_eq!(METHODS[method_index(b"PROPFIND")], "other");
        assert_eq!(METHODS[method_index(b"other")], "other");
    }

    #[test]
    fn status_classes() {
        assert_eq!(STATUS_CLASSES[status_class_index(100)], "1xx");
        assert_eq!(STATUS_CLASSES[status_class_index(204)], "2xx");
        assert_eq!(STATUS_CLASSES[status_class_index(399)], "3xx");
        assert_eq!(STATUS_CLASSES[status_class_index(404)], "4xx");
        assert_eq!(STATUS_CLASSES[status_class_index(599)], "5xx");
        assert_eq!(STATUS_CLASSES[status_class_index(0)], "other");
        assert_eq!(STATUS_CLASSES[status_class_index(600)], "other");
    }
}
