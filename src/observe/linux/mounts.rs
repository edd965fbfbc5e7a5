//! Which file system a path is on, from the process's own mount table, so that gohang
//! never touches a file on a FUSE or network file system whose server has stopped
//! answering: a read there would put gohang itself into uninterruptible sleep, the very
//! hang it is diagnosing (a thread stuck like that even keeps the process from exiting).

use std::path::Path;

/// File systems served by a process or a remote machine.
pub fn is_remote(fstype: &str) -> bool {
    fstype.starts_with("fuse")
        || matches!(
            fstype,
            "nfs"
                | "nfs4"
                | "cifs"
                | "smb3"
                | "smbfs"
                | "9p"
                | "ceph"
                | "glusterfs"
                | "afs"
                | "lustre"
                | "gpfs"
                | "virtiofs"
                | "ncpfs"
                | "davfs"
                | "beegfs"
                | "orangefs"
        )
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// (mount point, file system type) of every line of a mountinfo file.
pub fn parse_mountinfo(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mp = pre.split_whitespace().nth(4)?;
            let fstype = post.split_whitespace().next()?;
            Some((unescape(mp), fstype.to_string()))
        })
        .collect()
}

/// The type of the file system holding `path` (as process `pid` sees it), when that is a
/// FUSE or network file system.
pub fn remote_fs_at(pid: u32, path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).ok()?;
    let path = path.to_string_lossy();
    let (_, fstype) = parse_mountinfo(&text)
        .into_iter()
        .filter(|(mp, _)| {
            path.as_ref() == mp
                || mp == "/"
                || path.starts_with(&format!("{}/", mp.trim_end_matches('/')))
        })
        .max_by_key(|(mp, _)| mp.len())?;
    is_remote(&fstype).then_some(fstype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    90 22 0:50 / /tmp/a\\040b rw,relatime - fuse gohang-test rw,user_id=0\n\
                    91 22 0:51 / /mnt/nfs rw - nfs4 srv:/export rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m[1], ("/tmp/a b".to_string(), "fuse".to_string()));
        assert!(
            is_remote("fuse.sshfs")
                && is_remote("nfs4")
                && !is_remote("ext4")
                && !is_remote("tmpfs")
        );
    }

    #[test]
    fn own_root_is_not_remote() {
        assert_eq!(
            remote_fs_at(std::process::id(), Path::new("/proc/self")),
            None
        );
    }
}
