//! Every file gohang writes or reads goes through here, so that no path a user names can
//! harm the machine, hang gohang, or make it read without end (issue 14).
//!
//! - Writes never rename over anything but a regular file. A regular file (or a new one)
//!   is written to a temporary file beside it and renamed into place, so a reader never
//!   sees half a file. A character device or a FIFO is written directly, opened with
//!   `O_NONBLOCK` (a FIFO nobody reads fails at once with `ENXIO`, see fifo(7)), and a
//!   reader that stops reading is given [`IDLE`] before gohang gives up. A directory, a
//!   block device or a socket is refused.
//! - Reads open with `O_NONBLOCK | O_NOCTTY`, so opening a FIFO cannot block, and read at
//!   most a bound chosen per kind of file ([`Limit`]); past it, a clear error instead of
//!   gigabytes in memory (`/dev/zero`). A FIFO or device is read as it comes, waiting at
//!   most [`IDLE`] for each piece.
//! - A signal that interrupts a wait (`EINTR`) ends it with an error, so SIGINT and SIGTERM
//!   are never held up by a file.
//!
//! What this module must not do: decide exit codes for callers beyond [`IoError::write_exit`]
//! and [`IoError::read_exit`],
//! or follow a path into anything it has not checked the type of.

use crate::error::{Exit, UserError};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a FIFO or device may go without accepting or giving a byte.
pub const IDLE: Duration = Duration::from_secs(5);

/// A size bound for one kind of file that gohang reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// What such a file is, for the error: "a go env file".
    pub what: &'static str,
}

/// A go env file (`GOENV`, `$GOROOT/go.env`): a handful of `KEY=VALUE` lines.
pub const ENV_FILE: Limit = Limit {
    bytes: 1 << 20,
    what: "a go env file",
};
/// A go.mod or go.work. The largest real ones are a few hundred KiB.
pub const MODULE_FILE: Limit = Limit {
    bytes: 16 << 20,
    what: "a go.mod or go.work file",
};
/// A small text file of a Go tree or of the system: VERSION, os-release, a script.
pub const SMALL_TEXT: Limit = Limit {
    bytes: 1 << 20,
    what: "a small text file",
};
/// A Go source file read for a version or a setting.
pub const SOURCE_FILE: Limit = Limit {
    bytes: 4 << 20,
    what: "a Go source file",
};
/// A gohang evidence file (`--save-evidence`, `classify`). A minute of samples of a
/// large tree with a goroutine dump stays far below this.
pub const EVIDENCE: Limit = Limit {
    bytes: 64 << 20,
    what: "a gohang evidence file",
};

/// What went wrong with a file, and the exit code it maps to.
#[derive(Debug)]
pub struct IoError {
    pub path: PathBuf,
    pub kind: IoErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoErrorKind {
    /// The file (or its directory) does not exist.
    NotFound,
    /// Permission denied, or a read-only file system.
    Permission,
    /// Larger than the bound for its kind.
    TooLarge,
    /// A directory, block device or socket where a file was wanted; a FIFO nobody reads.
    WrongType,
    /// Nothing moved through a FIFO or device for [`IDLE`].
    Stalled,
    /// A signal arrived while waiting.
    Interrupted,
    /// Any other failure of the system: no space, an I/O error.
    Io,
}

impl IoError {
    fn new(path: &Path, kind: IoErrorKind, message: impl Into<String>) -> IoError {
        IoError {
            path: path.to_path_buf(),
            kind,
            message: message.into(),
        }
    }

    fn from_io(path: &Path, doing: &str, e: std::io::Error) -> IoError {
        let kind = match e.kind() {
            ErrorKind::NotFound => IoErrorKind::NotFound,
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => IoErrorKind::Permission,
            ErrorKind::Interrupted => IoErrorKind::Interrupted,
            ErrorKind::IsADirectory => IoErrorKind::WrongType,
            _ if e.raw_os_error() == Some(libc::EPERM) => IoErrorKind::Permission,
            _ => IoErrorKind::Io,
        };
        IoError::new(path, kind, format!("{doing} {}: {e}", path.display()))
    }

    /// The outcome for a file gohang was asked to write (docs/exit-codes.md): no
    /// permission (77) when permission is missing, an I/O error (74) for every other
    /// failure to write (no space, a missing directory, a target that is not a file, a FIFO
    /// nobody reads), SIGINT's status when a signal interrupted the wait.
    pub fn write_exit(&self) -> Exit {
        match self.kind {
            IoErrorKind::Permission => Exit::NoPermission,
            IoErrorKind::Interrupted => Exit::Signal(libc::SIGINT),
            _ => Exit::IoError,
        }
    }

    /// The outcome for a file gohang was asked to read: no input (66) when it does not
    /// exist or is not a file, no permission (77), an I/O error (74) when too large,
    /// stalled or failing, SIGINT's status when a signal interrupted the wait.
    pub fn read_exit(&self) -> Exit {
        match self.kind {
            IoErrorKind::NotFound | IoErrorKind::WrongType => Exit::NoInput,
            IoErrorKind::Permission => Exit::NoPermission,
            IoErrorKind::Interrupted => Exit::Signal(libc::SIGINT),
            IoErrorKind::TooLarge | IoErrorKind::Stalled | IoErrorKind::Io => Exit::IoError,
        }
    }

    pub fn into_write_error(self) -> UserError {
        UserError::with(self.write_exit(), self.message)
    }

    pub fn into_read_error(self) -> UserError {
        UserError::with(self.read_exit(), self.message)
    }
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IoError {}

fn describe(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

/// Wait until `fd` is ready for `events`, at most [`IDLE`]. A signal ends the wait.
fn wait_ready(fd: i32, events: libc::c_short, path: &Path, doing: &str) -> Result<(), IoError> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the stack for the length of the call.
    let n = unsafe { libc::poll(&mut p, 1, IDLE.as_millis() as libc::c_int) };
    if n < 0 {
        return Err(IoError::from_io(
            path,
            doing,
            std::io::Error::last_os_error(),
        ));
    }
    if n == 0 {
        return Err(IoError::new(
            path,
            IoErrorKind::Stalled,
            format!(
                "{doing} {}: nothing moved for {} s (is the other end of the FIFO or device still there?)",
                path.display(),
                IDLE.as_secs()
            ),
        ));
    }
    Ok(())
}

/// Open `path` for reading without blocking, refusing a directory.
fn open_read(path: &Path) -> Result<(File, std::fs::Metadata), IoError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => IoError::new(
                path,
                IoErrorKind::NotFound,
                format!(
                    "cannot read {}: a loop of symbolic links (check where it points with `ls -l`)",
                    path.display()
                ),
            ),
            Some(libc::ENXIO) => IoError::new(
                path,
                IoErrorKind::WrongType,
                format!("cannot read {}: a socket, not a file", path.display()),
            ),
            _ => IoError::from_io(path, "cannot read", e),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| IoError::from_io(path, "cannot read", e))?;
    if meta.is_dir() {
        return Err(IoError::new(
            path,
            IoErrorKind::WrongType,
            format!("cannot read {}: it is a directory", path.display()),
        ));
    }
    Ok((file, meta))
}

/// Read all of `path`, at most `limit.bytes`: a clear error past it, and a FIFO or device
/// read as it comes (see the module comment).
pub fn read(path: &Path, limit: Limit) -> Result<Vec<u8>, IoError> {
    let (mut file, meta) = open_read(path)?;
    if meta.is_file() {
        return read_regular(file, &meta, path, limit);
    }
    // A FIFO, a pipe or a character device: no size to trust, and no promise data comes.
    // A FIFO opened without a writer reads as empty at once; wait for one first (poll
    // reports no hang-up until a writer has come and gone, see pipe(7)).
    if meta.file_type().is_fifo() {
        wait_ready(file.as_raw_fd(), libc::POLLIN, path, "reading")?;
    }
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() as u64 > limit.bytes {
                    return Err(too_large(path, limit));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                wait_ready(file.as_raw_fd(), libc::POLLIN, path, "reading")?
            }
            Err(e) => return Err(IoError::from_io(path, "cannot read", e)),
        }
    }
}

/// [`read`] as UTF-8 text (invalid sequences replaced).
pub fn read_text(path: &Path, limit: Limit) -> Result<String, IoError> {
    Ok(lossy(read(path, limit)?))
}

/// Read a file gohang found, not one the user named to it — a go env file, a go.mod, a
/// git or ssh config, a Go tree's VERSION — as UTF-8 text, only when it is a regular file.
/// A FIFO or a device there is refused without reading it: reading would take bytes meant
/// for the process being observed, or wake a writer waiting for a reader, and wait on it.
/// Its type is checked before it is opened (opening a FIFO's read end would release a
/// writer blocked in open(2); opening a device can act on the device), and again on the
/// open file.
pub fn read_found_text(path: &Path, limit: Limit) -> Result<String, IoError> {
    let not_regular = || {
        IoError::new(
            path,
            IoErrorKind::WrongType,
            format!("{} is not a regular file; not read", path.display()),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| IoError::from_io(path, "cannot read", e))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let (file, meta) = open_read(path)?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    Ok(lossy(read_regular(file, &meta, path, limit)?))
}

/// Read the regular file `file` (opened from `path`), at most `limit.bytes`.
fn read_regular(
    mut file: File,
    meta: &std::fs::Metadata,
    path: &Path,
    limit: Limit,
) -> Result<Vec<u8>, IoError> {
    if meta.len() > limit.bytes {
        return Err(too_large(path, limit));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    (&mut file)
        .take(limit.bytes + 1)
        .read_to_end(&mut buf)
        .map_err(|e| IoError::from_io(path, "cannot read", e))?;
    if buf.len() as u64 > limit.bytes {
        return Err(too_large(path, limit));
    }
    Ok(buf)
}

fn too_large(path: &Path, limit: Limit) -> IoError {
    IoError::new(
        path,
        IoErrorKind::TooLarge,
        format!(
            "{} is larger than {} MiB, too large for {}; name the right file",
            path.display(),
            limit.bytes >> 20,
            limit.what
        ),
    )
}

fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The last `cap` bytes of the regular file at `path` and its full size; a FIFO or device
/// is refused (a trace file is always a regular file gohang wrote).
pub fn read_tail(path: &Path, cap: u64) -> Result<(Vec<u8>, u64), IoError> {
    use std::io::{Seek, SeekFrom};
    let (mut file, meta) = open_read(path)?;
    if !meta.is_file() {
        return Err(IoError::new(
            path,
            IoErrorKind::WrongType,
            format!(
                "cannot read {}: {}, not a regular file",
                path.display(),
                describe(&meta.file_type())
            ),
        ));
    }
    let len = meta.len();
    if len > cap {
        file.seek(SeekFrom::Start(len - cap))
            .map_err(|e| IoError::from_io(path, "cannot read", e))?;
    }
    let mut buf = Vec::new();
    file.take(cap)
        .read_to_end(&mut buf)
        .map_err(|e| IoError::from_io(path, "cannot read", e))?;
    Ok((buf, len))
}

/// Options for [`write`].
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// Permission bits of a new file (before the umask).
    pub mode: u32,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions { mode: 0o644 }
    }
}

/// Write `bytes` as the whole content of `path`.
///
/// A regular file or a new name: through a temporary file in the same directory renamed
/// into place (a symbolic link to a regular file has its target replaced, not the link).
/// A character device or a FIFO: written directly, without blocking. Anything else is
/// refused and left alone.
pub fn write(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<(), IoError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            // Replace the file a symlink points to, not the link; keep its permissions (an
            // evidence file someone made private stays private).
            use std::os::unix::fs::PermissionsExt;
            let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            let keep = WriteOptions {
                mode: meta.permissions().mode() & 0o7777,
            };
            write_via_rename(&real, path, bytes, keep, true)
        }
        Ok(meta) if meta.file_type().is_char_device() || meta.file_type().is_fifo() => {
            write_direct(path, bytes)
        }
        Ok(meta) => Err(IoError::new(
            path,
            IoErrorKind::WrongType,
            format!(
                "refusing to write {}: it is {}, not a file (name a new or regular file)",
                path.display(),
                describe(&meta.file_type())
            ),
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(IoError::new(
                    path,
                    IoErrorKind::WrongType,
                    format!(
                        "refusing to write {}: a symbolic link to nothing (name a new or regular file)",
                        path.display()
                    ),
                ));
            }
            write_via_rename(path, path, bytes, opts, false)
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(IoError::new(
            path,
            IoErrorKind::WrongType,
            format!("cannot write {}: a loop of symbolic links", path.display()),
        )),
        Err(e) => Err(IoError::from_io(path, "cannot write", e)),
    }
}

/// Before the work whose result goes to `path`: fail at once where [`write`] would fail
/// for sure (no directory, a directory or block device or socket in the way, no
/// permission), so nobody waits for a probe whose evidence cannot be saved. A FIFO is
/// not opened here (its reader may come later).
pub fn check_writable(path: &Path) -> Result<(), IoError> {
    use nix::unistd::{AccessFlags, access};
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() || meta.file_type().is_char_device() => {
            if access(path, AccessFlags::W_OK).is_err() {
                return Err(IoError::new(
                    path,
                    IoErrorKind::Permission,
                    format!("cannot write {}: permission denied", path.display()),
                ));
            }
        }
        Ok(meta) if meta.file_type().is_fifo() => {}
        Ok(meta) => {
            return Err(IoError::new(
                path,
                IoErrorKind::WrongType,
                format!(
                    "refusing to write {}: it is {}, not a file (name a new or regular file)",
                    path.display(),
                    describe(&meta.file_type())
                ),
            ));
        }
        Err(_) => {}
    }
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(IoError::new(
            path,
            IoErrorKind::NotFound,
            format!(
                "cannot write {}: {} is not a directory",
                path.display(),
                dir.display()
            ),
        ));
    }
    if access(&dir, AccessFlags::W_OK).is_err() {
        return Err(IoError::new(
            path,
            IoErrorKind::Permission,
            format!(
                "cannot write {}: no permission to create files in {}",
                path.display(),
                dir.display()
            ),
        ));
    }
    Ok(())
}

fn write_via_rename(
    real: &Path,
    shown: &Path,
    bytes: &[u8],
    opts: WriteOptions,
    exact_mode: bool,
) -> Result<(), IoError> {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    let tmp = real.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        // O_EXCL: never opens anything that already exists, so it cannot block or follow.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(opts.mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        if exact_mode {
            // The umask applied at creation; the replaced file's bits are wanted as they were.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(opts.mode))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, real)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        IoError::from_io(shown, "cannot write", e)
    })
}

fn write_direct(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                IoError::new(
                    path,
                    IoErrorKind::WrongType,
                    format!(
                        "cannot write {}: a FIFO that no process is reading (start the reader first)",
                        path.display()
                    ),
                )
            } else {
                IoError::from_io(path, "cannot write", e)
            }
        })?;
    let mut rest = bytes;
    while !rest.is_empty() {
        match f.write(rest) {
            Ok(0) => {
                return Err(IoError::new(
                    path,
                    IoErrorKind::Io,
                    format!("cannot write {}: it accepts no more bytes", path.display()),
                ));
            }
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                wait_ready(f.as_raw_fd(), libc::POLLOUT, path, "writing")?
            }
            Err(e) => return Err(IoError::from_io(path, "cannot write", e)),
        }
    }
    Ok(())
}

/// Open a regular file for appending (a log), creating it with `mode`; anything that
/// exists and is not a regular file is refused, and the open cannot block.
pub fn open_append(path: &Path, mode: u32) -> Result<File, IoError> {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                IoError::new(
                    path,
                    IoErrorKind::WrongType,
                    format!("refusing to write {}: a FIFO, not a file", path.display()),
                )
            } else {
                IoError::from_io(path, "cannot write", e)
            }
        })?;
    let meta = f
        .metadata()
        .map_err(|e| IoError::from_io(path, "cannot write", e))?;
    if !meta.is_file() {
        return Err(IoError::new(
            path,
            IoErrorKind::WrongType,
            format!(
                "refusing to write {}: it is {}, not a file",
                path.display(),
                describe(&meta.file_type())
            ),
        ));
    }
    clear_nonblock(&f);
    Ok(f)
}

/// Create a new regular file with `mode`; fails if anything exists at `path` (so it never
/// opens, follows or blocks on what is there).
pub fn create_new(path: &Path, mode: u32) -> Result<File, IoError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| IoError::from_io(path, "cannot create", e))
}

/// O_NONBLOCK has no effect on a regular file, but clear it so the descriptor behaves as
/// any other once its type is known.
fn clear_nonblock(f: &File) {
    let fd = f.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function borrows; no memory is passed.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_fifo_is_not_opened_and_its_writer_stays_blocked() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("env");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // A writer blocked in open(2) until some reader opens the FIFO.
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let opened = std::fs::OpenOptions::new().write(true).open(&path);
            let _ = tx.send(opened.is_ok());
        });
        std::thread::sleep(Duration::from_millis(100));
        let started = std::time::Instant::now();
        let e = read_found_text(&fifo, ENV_FILE).unwrap_err();
        assert_eq!(e.kind, IoErrorKind::WrongType, "{}", e.message);
        assert!(e.message.contains("not a regular file"), "{}", e.message);
        assert!(started.elapsed() < Duration::from_secs(1));
        // Had it been opened for reading, the writer's open would have returned.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        // Release the writer.
        let _reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
        // A regular file reads as text; a directory is refused.
        let f = d.path().join("go.env");
        std::fs::write(&f, "GOPROXY=off\n").unwrap();
        assert_eq!(read_found_text(&f, ENV_FILE).unwrap(), "GOPROXY=off\n");
        assert!(read_found_text(d.path(), ENV_FILE).is_err());
    }

    #[test]
    fn a_regular_file_is_replaced_and_a_symlink_kept() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::write(&real, "old").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new", WriteOptions::default()).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            2,
            "no temp left"
        );
    }

    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("ev.json");
        std::fs::write(&f, "old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        write(&f, b"new", WriteOptions::default()).unwrap();
        let m = std::fs::metadata(&f).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
    }

    #[test]
    fn a_directory_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = write(d.path(), b"x", WriteOptions::default()).unwrap_err();
        assert_eq!(e.kind, IoErrorKind::WrongType);
        let e = read(d.path(), SMALL_TEXT).unwrap_err();
        assert_eq!(e.kind, IoErrorKind::WrongType);
    }

    #[test]
    fn too_large_past_the_bound() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("big");
        std::fs::write(&f, vec![b'a'; 100]).unwrap();
        let small = Limit {
            bytes: 99,
            what: "a test file",
        };
        assert_eq!(read(&f, small).unwrap_err().kind, IoErrorKind::TooLarge);
        assert_eq!(
            read(
                &f,
                Limit {
                    bytes: 100,
                    ..small
                }
            )
            .unwrap()
            .len(),
            100
        );
    }
}
