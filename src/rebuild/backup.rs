//! The GOROOT's backup, and the tree operations behind it: measure, copy, compare, remove.
//!
//! # Why rename, then copy back (and not copy, then build in place)
//!
//! The original GOROOT is *renamed* to a sibling (`go.gohang-backup-<time>`), and the
//! build happens in a fresh copy made at the original path. Rolling back is then one
//! `rename(2)` of untouched inodes: the original comes back bit for bit (contents, modes,
//! symlinks, owners, times, extended attributes, hard links, code signatures), with no
//! copy of ours in the path of the restore, no space needed, and nothing that can fail
//! half-way for lack of space. Copy-then-build-in-place would restore by copying back,
//! which needs the disk that may just have filled up and rebuilds every attribute by hand.
//! The cost: a sibling must be on the same file system (a GOROOT that is itself a mount
//! point cannot be renamed; the plan refuses it), and the parent directory must be
//! writable. The copy only has to be good enough to build from, and it preserves modes,
//! symlinks, times and (as root) owners anyway.

use crate::rebuild::goroot::lexical_target;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The directory name of a backup of `name`, made at `stamp`.
pub fn backup_name(name: &str, stamp: &str) -> String {
    format!("{name}.gohang-backup-{stamp}")
}

/// A free backup path next to `goroot` (never an existing one).
pub fn backup_path(goroot: &Path, stamp: &str) -> PathBuf {
    let name = goroot
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "goroot".into());
    let parent = goroot.parent().unwrap_or(Path::new("/"));
    let mut p = parent.join(backup_name(&name, stamp));
    let mut n = 2;
    while fs::symlink_metadata(&p).is_ok() {
        p = parent.join(format!("{}-{n}", backup_name(&name, stamp)));
        n += 1;
    }
    p
}

/// Backups of `goroot` left by earlier rebuilds (siblings named `<name>.gohang-backup-*`).
pub fn existing_backups(goroot: &Path) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (goroot.parent(), goroot.file_name()) else {
        return Vec::new();
    };
    let prefix = backup_name(&name.to_string_lossy(), "");
    let mut v: Vec<PathBuf> = fs::read_dir(parent)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A symlink whose target lies outside the tree: a build could write through it into
/// files the backup does not hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EscapingLink {
    pub path: String,
    pub target: String,
    pub to_dir: bool,
}

/// Size and shape of a tree, from one walk that follows no symlink.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TreeSurvey {
    /// Disk space the tree uses (allocated blocks), what a copy needs.
    pub bytes: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub escaping_links: Vec<EscapingLink>,
    /// FIFOs, sockets, devices: not copied.
    pub special: Vec<String>,
}

pub fn survey(root: &Path) -> io::Result<TreeSurvey> {
    let mut s = TreeSurvey::default();
    walk(root, root, &mut |rel, path, md| {
        let ft = md.file_type();
        s.bytes += md.blocks() * 512;
        if ft.is_symlink() {
            s.symlinks += 1;
            let target = fs::read_link(path)?;
            let resolved = lexical_target(path, &target);
            if !resolved.starts_with(root) {
                s.escaping_links.push(EscapingLink {
                    path: rel.to_string_lossy().into_owned(),
                    target: target.to_string_lossy().into_owned(),
                    to_dir: fs::metadata(path).is_ok_and(|m| m.is_dir()),
                });
            }
        } else if ft.is_dir() {
            s.dirs += 1;
        } else if ft.is_file() {
            s.files += 1;
        } else {
            s.special.push(rel.to_string_lossy().into_owned());
        }
        Ok(())
    })?;
    Ok(s)
}

/// Visit every entry under `dir` (not `root` itself), parents before children, names in
/// order, without following symlinks.
fn walk(
    root: &Path,
    dir: &Path,
    f: &mut dyn FnMut(&Path, &Path, &fs::Metadata) -> io::Result<()>,
) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let md = fs::symlink_metadata(&path)?;
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        f(&rel, &path, &md)?;
        if md.is_dir() {
            walk(root, &path, f)?;
        }
    }
    Ok(())
}

/// Bytes available to an unprivileged writer on the file system holding `path`.
pub fn free_space(path: &Path) -> io::Result<u64> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    Ok((st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64))
}

/// The device a path lives on (`st_dev`).
pub fn device_of(path: &Path) -> io::Result<u64> {
    Ok(fs::symlink_metadata(path)?.dev())
}

/// Why a copy stopped.
#[derive(Debug)]
pub enum CopyError {
    /// The stop callback asked for it (a signal arrived).
    Stopped,
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::Stopped => f.write_str("stopped"),
            CopyError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl CopyError {
    pub fn is_disk_full(&self) -> bool {
        matches!(self, CopyError::Io { source, .. } if is_disk_full(source))
    }
}

pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// Copy the tree `src` to `dst` (which must not exist), like `cp -a`: directories, regular
/// files, symlinks as symlinks, permission bits, access and modification times, and
/// owners when running as root. Hard links become separate files. `progress` gets the
/// bytes copied so far; `stop` is polled before each entry.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    progress: &mut dyn FnMut(u64),
    stop: &dyn Fn() -> bool,
) -> Result<(), CopyError> {
    let mut copied = 0u64;
    let as_root = nix::unistd::geteuid().is_root();
    copy_dir(src, dst, as_root, &mut copied, progress, stop)
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn copy_dir(
    src: &Path,
    dst: &Path,
    as_root: bool,
    copied: &mut u64,
    progress: &mut dyn FnMut(u64),
    stop: &dyn Fn() -> bool,
) -> Result<(), CopyError> {
    let md = fs::symlink_metadata(src).map_err(io_at(src))?;
    fs::create_dir(dst).map_err(io_at(dst))?;
    // Writable while it is filled; its own mode is set at the end.
    fs::set_permissions(dst, fs::Permissions::from_mode(0o700)).map_err(io_at(dst))?;
    let mut entries: Vec<_> = fs::read_dir(src)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .map_err(io_at(src))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if stop() {
            return Err(CopyError::Stopped);
        }
        let from = e.path();
        let to = dst.join(e.file_name());
        let emd = fs::symlink_metadata(&from).map_err(io_at(&from))?;
        let ft = emd.file_type();
        if ft.is_dir() {
            copy_dir(&from, &to, as_root, copied, progress, stop)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&from).map_err(io_at(&from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(io_at(&to))?;
            finish(&to, &emd, as_root, true).map_err(io_at(&to))?;
        } else if ft.is_file() {
            fs::copy(&from, &to).map_err(io_at(&to))?;
            finish(&to, &emd, as_root, false).map_err(io_at(&to))?;
            *copied += emd.blocks() * 512;
            progress(*copied);
        } else {
            return Err(CopyError::Io {
                path: from,
                source: io::Error::other("a special file (FIFO, socket or device) is not copied"),
            });
        }
    }
    finish(dst, &md, as_root, false).map_err(io_at(dst))
}

/// Owner (as root), mode (after chown, which clears set-id bits), then times.
fn finish(path: &Path, md: &fs::Metadata, as_root: bool, is_link: bool) -> io::Result<()> {
    if as_root {
        std::os::unix::fs::lchown(path, Some(md.uid()), Some(md.gid()))?;
    }
    if !is_link {
        fs::set_permissions(path, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    use nix::sys::stat::{UtimensatFlags, utimensat};
    use nix::sys::time::TimeSpec;
    let atime = TimeSpec::new(md.atime(), md.atime_nsec());
    let mtime = TimeSpec::new(md.mtime(), md.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// Remove a tree gohang made, even when it holds read-only directories (as the module
/// cache and some archives do): on a permission error, make directories writable and
/// try again.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_dirs_writable(path)?;
            fs::remove_dir_all(path)
        }
        Err(e) => Err(e),
    }
}

fn make_dirs_writable(dir: &Path) -> io::Result<()> {
    let md = fs::symlink_metadata(dir)?;
    if !md.is_dir() {
        return Ok(());
    }
    fs::set_permissions(
        dir,
        fs::Permissions::from_mode((md.mode() & 0o7777) | 0o700),
    )?;
    for e in fs::read_dir(dir)?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            make_dirs_writable(&e.path())?;
        }
    }
    Ok(())
}

/// One entry of a [`Manifest`]: what `ls -l` and `stat` would show, content excluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, i64),
    pub link: Option<PathBuf>,
    pub inode: (u64, u64),
}

/// The metadata of every entry of a tree, by relative path. Equal manifests with equal
/// inode numbers mean the same files are back where they were (a rename moves inodes,
/// it does not rewrite them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest(pub BTreeMap<PathBuf, ManifestEntry>);

pub fn manifest(root: &Path) -> io::Result<Manifest> {
    let mut m = BTreeMap::new();
    let top = fs::symlink_metadata(root)?;
    m.insert(PathBuf::new(), entry(root, &top)?);
    walk(root, root, &mut |rel, path, md| {
        m.insert(rel.to_path_buf(), entry(path, md)?);
        Ok(())
    })?;
    Ok(Manifest(m))
}

fn entry(path: &Path, md: &fs::Metadata) -> io::Result<ManifestEntry> {
    let ft = md.file_type();
    let kind = if ft.is_dir() {
        'd'
    } else if ft.is_symlink() {
        'l'
    } else if ft.is_file() {
        'f'
    } else {
        '?'
    };
    Ok(ManifestEntry {
        kind,
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
        size: if ft.is_dir() { 0 } else { md.len() },
        mtime: (md.mtime(), md.mtime_nsec()),
        link: if ft.is_symlink() {
            Some(fs::read_link(path)?)
        } else {
            None
        },
        inode: (md.dev(), md.ino()),
    })
}

impl Manifest {
    /// The first few differences, for a message.
    pub fn differences(&self, other: &Manifest, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (p, e) in &self.0 {
            match other.0.get(p) {
                None => out.push(format!("{} is missing", p.display())),
                Some(o) if o != e => out.push(format!("{} differs", p.display())),
                _ => {}
            }
        }
        for p in other.0.keys().filter(|p| !self.0.contains_key(*p)) {
            out.push(format!("{} is new", p.display()));
        }
        out.truncate(max);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_tree(root: &Path) {
        fs::create_dir_all(root.join("src/a")).unwrap();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("src/a/x.go"), "package a\n").unwrap();
        fs::write(root.join("bin/go"), vec![7u8; 10_000]).unwrap();
        fs::set_permissions(root.join("bin/go"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../src/a/x.go", root.join("bin/link")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        fs::set_permissions(root.join("src/a"), fs::Permissions::from_mode(0o555)).unwrap();
    }

    #[test]
    fn survey_copy_and_remove() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("go");
        sample_tree(&src);
        let s = survey(&src).unwrap();
        assert_eq!((s.files, s.dirs, s.symlinks), (2, 3, 2));
        assert_eq!(s.escaping_links.len(), 1);
        assert_eq!(s.escaping_links[0].path, "etc-link");
        assert!(s.escaping_links[0].to_dir);
        assert!(s.bytes >= 10_000);

        let dst = d.path().join("copy");
        let mut last = 0;
        copy_tree(&src, &dst, &mut |n| last = n, &|| false).unwrap();
        assert!(last >= 10_000);
        let (a, b) = (manifest(&src).unwrap(), manifest(&dst).unwrap());
        for (p, e) in &a.0 {
            let o = &b.0[p];
            assert_eq!(
                (e.kind, e.mode, e.size, &e.link, e.mtime),
                (o.kind, o.mode, o.size, &o.link, o.mtime),
                "{}",
                p.display()
            );
        }
        assert_eq!(a.0.len(), b.0.len());
        assert_eq!(fs::read(dst.join("bin/go")).unwrap(), vec![7u8; 10_000]);
        // Different inodes: a copy, not the same files.
        assert!(!a.differences(&b, 10).is_empty());
        assert!(a.differences(&manifest(&src).unwrap(), 10).is_empty());

        remove_tree(&dst).unwrap();
        assert!(!dst.exists());
        remove_tree(&dst).unwrap();
    }

    #[test]
    fn copy_stops_when_asked() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("go");
        sample_tree(&src);
        let dst = d.path().join("copy");
        let r = copy_tree(&src, &dst, &mut |_| {}, &|| true);
        assert!(matches!(r, Err(CopyError::Stopped)));
        remove_tree(&dst).unwrap();
    }

    #[test]
    fn backup_names() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("go");
        fs::create_dir(&g).unwrap();
        let b = backup_path(&g, "20250101-000000");
        assert_eq!(
            b.file_name().unwrap().to_str().unwrap(),
            "go.gohang-backup-20250101-000000"
        );
        fs::create_dir(&b).unwrap();
        let b2 = backup_path(&g, "20250101-000000");
        assert!(b2.to_string_lossy().ends_with("-000000-2"));
        fs::create_dir(d.path().join("gopher")).unwrap();
        assert_eq!(existing_backups(&g), vec![b]);
    }
}
