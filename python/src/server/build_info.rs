//! What `rcorn --version` says: rcorn's version on the first line (as
//! before, for scripts that read it), then the Python running it and how
//! this build was made, the two things a bug report needs first.

use pyo3::prelude::*;
use std::sync::OnceLock;

/// How the extension module meets the interpreter: one abi3 module loads on
/// every CPython from 3.10 on; a version-specific one only on the minor
/// version it was built for (the one running it, since it loaded).
#[cfg(feature = "abi3")]
const PYTHON_ABI: &str = "abi3 (stable ABI, CPython >= 3.10)";
#[cfg(not(feature = "abi3"))]
const PYTHON_ABI: &str = "version-specific (this CPython minor version only)";

/// The TLS stack rcorn-io serves `--certfile` with: rustls and its ring
/// crypto provider (io/src/tls.rs), no OpenSSL.
const TLS: &str = "rustls with ring";

/// The version text, made once per process.
pub fn version_text(py: Python<'_>) -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let python = running_python(py).unwrap_or_else(|_| "unknown".to_owned());
        format!(
            "{}\nPython: {python}\nBuild: {PYTHON_ABI}; TLS: {TLS}",
            env!("CARGO_PKG_VERSION")
        )
    })
}

/// "CPython 3.12.1 (/usr/bin/python3)": the implementation, its full
/// version and the interpreter's path, all from `sys`, which is loaded
/// already (no import is paid on every start for this).
fn running_python(py: Python<'_>) -> PyResult<String> {
    let sys = py.import("sys")?;
    let name: String = sys.getattr("implementation")?.getattr("name")?.extract()?;
    let (major, minor, micro, level, serial): (u32, u32, u32, String, u32) =
        sys.getattr("version_info")?.extract()?;
    let executable: String = sys.getattr("executable")?.extract()?;
    let mut version = format!("{major}.{minor}.{micro}");
    if level != "final" {
        // 3.14.0rc1, as Python writes its own pre-releases.
        let tag = match level.as_str() {
            "alpha" => "a",
            "beta" => "b",
            "candidate" => "rc",
            other => other,
        };
        version.push_str(&format!("{tag}{serial}"));
    }
    Ok(format!(
        "{} {version} ({executable})",
        implementation_name(&name)
    ))
}

/// `sys.implementation.name` as the implementation calls itself.
fn implementation_name(name: &str) -> String {
    match name {
        "cpython" => "CPython".to_owned(),
        "pypy" => "PyPy".to_owned(),
        "graalpy" => "GraalPy".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implementations_are_named_as_they_name_themselves() {
        assert_eq!(implementation_name("cpython"), "CPython");
        assert_eq!(implementation_name("pypy"), "PyPy");
        assert_eq!(implementation_name("rustpython"), "rustpython");
    }
}
