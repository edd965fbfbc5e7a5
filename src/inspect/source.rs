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

/// A regular file, read with `pread`. Its first 4 KiB are read once at open: the ELF
/// header and program headers, or the Mach-O header and load commands, are almost always
/// there, so most files cost one read for their headers.
pub struct FileSource {
    file: File,
    len: u64,
    name: String,
    head: Vec<u8>,
}

const HEAD: usize = 4096;

impl FileSource {
    /// Open `path` for inspection. Opens with `O_NONBLOCK` (a FIFO in a `bin/` must not
    /// block the open) and `O_NOCTTY`, then refuses what is not a regular file.
    pub fn open(path: &Path) -> Result<FileSource, InspectError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e: std::io::Error| InspectError::Io(format!("{}: {e}", path.display()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(InspectError::NotBinary(if meta.is_dir() {
                "a directory".to_string()
            } else {
                "not a regular file".to_string()
            }));
        }
        let mut src = FileSource {
            file,
            len: meta.len(),
            name: path.display().to_string(),
            head: Vec::new(),
        };
        src.head = src.pread(0, HEAD)?;
        Ok(src)
    }
}

impl FileSource {
    fn pread(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError> {
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

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_upto(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError> {
        // Served from `head` when it holds the whole range, or everything up to the end of a
        // file shorter than `HEAD`.
        let held = self.head.len() as u64;
        let end = off.saturating_add(len as u64);
        if off < held && (end <= held || held == self.len) {
            return Ok(self.head[off as usize..end.min(held) as usize].to_vec());
        }
        self.pread(off, len)
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
    fn file_reads_beyond_the_cached_head_go_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for size in [10usize, HEAD, HEAD + 1000] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let p = dir.path().join(format!("f{size}"));
            std::fs::write(&p, &data).unwrap();
            let f = FileSource::open(&p).unwrap();
            for (off, len) in [
                (0, 64),
                (5, 4096),
                (4000, 200),
                (HEAD as u64 - 1, 2),
                (size as u64 - 1, 10),
            ] {
                let want: Vec<u8> = data.iter().skip(off as usize).take(len).copied().collect();
                assert_eq!(
                    f.read_upto(off, len).unwrap(),
                    want,
                    "size {size} off {off} len {len}"
                );
            }
        }
    }

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
