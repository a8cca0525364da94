//! The `%`-format flags, width and precision of one access-log
//! placeholder: what the format parser reads and the renderer applies.

/// Python %-format flags, width and precision of one placeholder.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Spec {
    pub(super) left: bool,
    pub(super) zero: bool,
    pub(super) plus: bool,
    pub(super) space: bool,
    pub(super) width: usize,
    pub(super) precision: Option<usize>,
    /// `d`/`i`/`u` rather than `s`.
    pub(super) integer: bool,
}

impl Spec {
    pub(super) fn is_plain(&self) -> bool {
        *self == Spec::default()
    }
}
