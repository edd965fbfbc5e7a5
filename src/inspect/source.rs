//! Where the inspector's bytes come from: a file read at offsets (no mmap, no whole-file
//! read), an in-memory image, or a window of either (one slice of a universal binary).
//!
//! A read never allocates more than the caller asked for and never more than what is left
//! in the source, so a length field of 4 GiB in a hostile file costs nothing.

use super::InspectError;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub trait Source {
    /// Length in bytes.
    fn len(&self) -> u64;
    /// Up to `len` bytes at `off`; fewer only at the end, none past it.
    fn read_upto(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Exactly `len` bytes at `off`, or "not a valid `format` file: truncated …".
    fn read_exact(
        &self,
        off: u64,
        len: usize,
        format: &'static str,
        what: &str,
    ) -> Result<Vec<u8>, InspectError> {
        let end = off.checked_add(len as u64);
        if end.is_none_or(|e| e > self.len()) {
            return Err(InspectError::invalid(
                format,
                format!(
                    "truncated: {what} ({len} bytes at offset {off:#x}) runs past the end ({} bytes)",
                    self.len()
                ),
            ));
        }
        let b = self.read_upto(off, len)?;
        if b.len() < len {
            return Err(InspectError::invalid(
                format,
                format!("truncated: {what} at offset {off:#x} could not be read in full"),
            ));
        }
        Ok(b)
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_upto(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError> {
        let Ok(start) = usize::try_from(off) else {
            return Ok(Vec::new());
        };
        if start >= <[u8]>::len(self) {
            return Ok(Vec::new());
        }
        let end = start.saturating_add(len).min(<[u8]>::len(self));
        Ok(self[start..end].to_vec())
    }
}

/// A regular file, read with `pread`.
pub struct FileSource {
    file: File,
    len: u64,
    name: String,
}

impl FileSource {
    /// Open `path` for inspection. Refuses what is not a regular file (after symlinks), and
    /// opens with `O_NONBLOCK` so that a FIFO swapped in between cannot block the open.
    pub fn open(path: &Path) -> Result<FileSource, InspectError> {
        use std::os::unix::fs::OpenOptionsExt;
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| InspectError::Io(format!("{name}: {e}")))?;
        if !meta.is_file() {
            return Err(InspectError::NotBinary(if meta.is_dir() {
                "a directory".to_string()
            } else {
                "not a regular file".to_string()
            }));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| InspectError::Io(format!("{name}: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| InspectError::Io(format!("{name}: {e}")))?;
        if !meta.is_file() {
            return Err(InspectError::NotBinary("not a regular file".to_string()));
        }
        Ok(FileSource {
            file,
            len: meta.len(),
            name,
        })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_upto(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError> {
        if off >= self.len {
            return Ok(Vec::new());
        }
        let want = (len as u64).min(self.len - off) as usize;
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            match self.file.read_at(&mut buf[got..], off + got as u64) {
                Ok(0) => break, // the file shrank under us
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(InspectError::Io(format!("{}: {e}", self.name))),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }
}

/// A window `[base, base + len)` of another source, seen from offset 0: offsets inside a
/// slice of a universal binary are relative to the slice.
pub struct SubSource<'a> {
    inner: &'a dyn Source,
    base: u64,
    len: u64,
}

impl<'a> SubSource<'a> {
    /// The window, clipped to what the inner source holds.
    pub fn new(inner: &'a dyn Source, base: u64, len: u64) -> SubSource<'a> {
        let len = len.min(inner.len().saturating_sub(base));
        SubSource { inner, base, len }
    }
}

impl Source for SubSource<'_> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_upto(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError> {
        if off >= self.len {
            return Ok(Vec::new());
        }
        let want = (len as u64).min(self.len - off) as usize;
        self.inner.read_upto(self.base + off, want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_clipped_and_exact_reads_checked() {
        let data: &[u8] = b"0123456789";
        assert_eq!(data.read_upto(8, 100).unwrap(), b"89");
        assert!(data.read_upto(10, 1).unwrap().is_empty());
        assert!(data.read_upto(u64::MAX, 1).unwrap().is_empty());
        assert!(data.read_exact(8, 3, "ELF", "x").is_err());
        assert!(data.read_exact(u64::MAX, 3, "ELF", "x").is_err());
        let sub = SubSource::new(&data, 4, 100);
        assert_eq!(sub.len(), 6);
        assert_eq!(sub.read_upto(1, 3).unwrap(), b"567");
        assert!(sub.read_exact(5, 2, "Mach-O", "y").is_err());
    }
}
