//! `wsgi.file_wrapper`: iterates a file-like object in blocks, or, when it
//! wraps a regular file and the result reaches the server unchanged, lets
//! the server send the file with sendfile(2).

use std::os::fd::{BorrowedFd, RawFd};

use nix::sys::stat::SFlag;
use pyo3::intern;
use pyo3::prelude::*;

#[pyclass(module = "rcorn")]
pub struct FileWrapper {
    #[pyo3(get)]
    pub filelike: Py<PyAny>,
    blksize: isize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize=8192))]
    fn new(filelike: Py<PyAny>, blksize: isize) -> FileWrapper {
        FileWrapper { filelike, blksize }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let block = self
            .filelike
            .bind(py)
            .call_method1("read", (self.blksize,))?;
        Ok((block.len()? > 0).then_some(block))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let filelike = self.filelike.bind(py);
        if filelike.hasattr("close")? {
            filelike.call_method0("close")?;
        }
        Ok(())
    }
}

/// The part of a wrapped file still to be sent, when it is a regular file
/// with a descriptor: `(fd, offset, len)`. `None` sends it by iteration.
pub fn sendable_file(py: Python<'_>, wrapper: &FileWrapper) -> Option<(RawFd, u64, u64)> {
    let filelike = wrapper.filelike.bind(py);
    let fd: RawFd = filelike
        .call_method0(intern!(py, "fileno"))
        .ok()?
        .extract()
        .ok()?;
    // SAFETY: `fd` belongs to `filelike`, which the caller keeps alive (it
    // holds the wrapper) for as long as the descriptor is used.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let stat = nix::sys::stat::fstat(borrowed).ok()?;
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return None;
    }
    // tell() is the position a buffered reader has reached; the descriptor's
    // own offset may be ahead of it by what the buffer holds.
    let offset: u64 = match filelike.call_method0(intern!(py, "tell")) {
        Ok(pos) => pos.extract().ok()?,
        Err(_) => nix::unistd::lseek(borrowed, 0, nix::unistd::Whence::SeekCur).ok()? as u64,
    };
    let size = u64::try_from(stat.st_size).ok()?;
    Some((fd, offset, size.saturating_sub(offset)))
}
