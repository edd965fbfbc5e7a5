//! An executable's bytes, mapped rather than read: a dump touches a few hundred KiB of a
//! 12 MB `go` (headers, the pclntab entries of the functions on the stacks, the build
//! info), and copying the whole file cost more than the rest of the dump. The mapping is
//! private and read-only; pages come from the page cache as they are touched.
//!
//! The file is the running program's executable (/proc/PID/exe), which the kernel keeps
//! from being written while it runs (ETXTBSY). A file truncated under the mapping
//! anyway (a guest program of qemu-user, which is only mapped, not executed) would make
//! a read of the missing pages fault, as with any mapped file; gohang maps only regular
//! files and keeps the mapping for the few milliseconds of one dump.

use std::ops::Deref;

/// The bytes of a file: mapped, or owned (tests, fuzzing, empty files).
pub enum FileBytes {
    Mapped { ptr: *const u8, len: usize },
    Owned(Vec<u8>),
}

impl FileBytes {
    /// Map `path` read-only (a file larger than `max` is refused).
    pub fn map(path: &std::path::Path, max: u64) -> Result<FileBytes, String> {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta = f
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("{} is not a regular file", path.display()));
        }
        if meta.len() > max {
            return Err(format!(
                "{} is larger than {} MiB",
                path.display(),
                max >> 20
            ));
        }
        let len = usize::try_from(meta.len())
            .map_err(|_| format!("{} is too large to map", path.display()))?;
        if len == 0 {
            return Ok(FileBytes::Owned(Vec::new()));
        }
        // SAFETY: a fresh private read-only mapping of `len` bytes of an open regular file;
        // the kernel picks the address. The descriptor may be closed afterwards.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            // Some file systems cannot map: read the file instead.
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(FileBytes::Owned(bytes));
        }
        Ok(FileBytes::Mapped {
            ptr: ptr as *const u8,
            len,
        })
    }
}

impl From<Vec<u8>> for FileBytes {
    fn from(v: Vec<u8>) -> FileBytes {
        FileBytes::Owned(v)
    }
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping covers `len` readable bytes and lives as long as `self`.
            FileBytes::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
            FileBytes::Owned(v) => v,
        }
    }
}

impl Drop for FileBytes {
    fn drop(&mut self) {
        if let FileBytes::Mapped { ptr, len } = *self {
            // SAFETY: unmapping exactly the mapping made in `map`, once; no slice of it
            // outlives `self`.
            unsafe { libc::munmap(ptr as *mut libc::c_void, len) };
        }
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileBytes::Mapped { len, .. } => write!(f, "FileBytes::Mapped({len} bytes)"),
            FileBytes::Owned(v) => write!(f, "FileBytes::Owned({} bytes)", v.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_what_read_reads() {
        let exe = std::env::current_exe().unwrap();
        let m = FileBytes::map(&exe, u64::MAX).unwrap();
        assert!(matches!(m, FileBytes::Mapped { .. }));
        assert_eq!(&m[..], &std::fs::read(&exe).unwrap()[..]);
        let dir = std::env::temp_dir();
        assert!(
            FileBytes::map(&dir, u64::MAX)
                .unwrap_err()
                .contains("not a regular file")
        );
        assert!(FileBytes::map(&exe, 10).unwrap_err().contains("larger"));
    }
}
