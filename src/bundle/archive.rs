//! The bundle as files: bounding their total size, the manifest, and the `.tar.gz`.
//!
//! Everything here works on bytes that were already redacted; it adds only notes of its own
//! (truncation), sizes and digests. The archive is written to a temporary file next to its
//! destination and renamed into place, so a bundle is either complete or absent. Its tar
//! headers carry no user or group names and uid/gid 0: the archive's metadata must not name
//! the user either.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Version of `manifest.json`.
pub const MANIFEST_SCHEMA: &str = "gohang.bundle/1";
/// A file is never cut below this many bytes.
const FLOOR: usize = 4 * 1024;

/// How a file may be made smaller to fit `--max-size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shrink {
    /// Never cut (small and needed to read the rest: report.md, host, redactions).
    Keep,
    /// Cut in the middle: the head and the end stay, with a note line between them.
    Text,
    /// Replaced by a JSON object with `truncated`, `original_size`, `note` and the
    /// document's beginning as text, so that the file stays valid JSON.
    Json,
}

/// One file of the bundle.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub description: String,
    pub bytes: Vec<u8>,
    pub shrink: Shrink,
    /// The size before it was cut.
    pub original_size: Option<u64>,
}

impl Part {
    pub fn new(name: &str, description: &str, bytes: Vec<u8>, shrink: Shrink) -> Part {
        Part {
            name: name.to_string(),
            description: description.to_string(),
            bytes,
            shrink,
            original_size: None,
        }
    }

    /// Serialize `value` as pretty JSON with a final newline.
    pub fn json<T: Serialize>(name: &str, description: &str, value: &T, shrink: Shrink) -> Part {
        let mut bytes = serde_json::to_vec_pretty(value).expect("bundle data serializes");
        bytes.push(b'\n');
        Part::new(name, description, bytes, shrink)
    }

    pub fn text(name: &str, description: &str, text: String, shrink: Shrink) -> Part {
        Part::new(name, description, text.into_bytes(), shrink)
    }

    /// Make the file at most `target` bytes (not below [`FLOOR`]); `limit` is named in the
    /// note.
    fn cut_to(&mut self, target: usize, limit: u64) {
        let len = self.bytes.len();
        let target = target.max(FLOOR);
        if len <= target {
            return;
        }
        let original = self.original_size.unwrap_or(len as u64);
        self.bytes = match self.shrink {
            Shrink::Keep => return,
            Shrink::Text => cut_text(&self.bytes, target, original, limit),
            Shrink::Json => cut_json(&self.bytes, target, original, limit),
        };
        self.original_size = Some(original);
    }
}

fn cut_note(original: u64, limit: u64) -> String {
    format!(
        "[gohang bundle: this file had {original} bytes and was cut to keep the bundle under {limit} bytes (--max-size)]"
    )
}

/// Keep a quarter of the room for the head and the rest for the end (where a stuck
/// command's last words are), at line boundaries, with the note between them.
fn cut_text(b: &[u8], target: usize, original: u64, limit: u64) -> Vec<u8> {
    let note = format!("\n\n{}\n\n", cut_note(original, limit));
    let room = target.saturating_sub(note.len());
    let head_len = room / 4;
    let tail_len = room - head_len;
    let mut head_end = head_len.min(b.len());
    if let Some(nl) = b[..head_end].iter().rposition(|&c| c == b'\n') {
        head_end = nl + 1;
    }
    let mut tail_start = b.len().saturating_sub(tail_len).max(head_end);
    if let Some(nl) = b[tail_start..].iter().position(|&c| c == b'\n') {
        tail_start += nl + 1;
    }
    let mut out = Vec::with_capacity(target);
    out.extend_from_slice(&b[..head_end]);
    out.extend_from_slice(note.as_bytes());
    out.extend_from_slice(&b[tail_start..]);
    out
}

#[derive(Serialize)]
struct CutJson<'a> {
    truncated: bool,
    original_size: u64,
    note: String,
    /// The beginning of the original document, as text.
    head: &'a str,
}

fn cut_json(b: &[u8], target: usize, original: u64, limit: u64) -> Vec<u8> {
    let text = String::from_utf8_lossy(b);
    let mut keep = target.min(text.len());
    loop {
        while keep > 0 && !text.is_char_boundary(keep) {
            keep -= 1;
        }
        let mut out = serde_json::to_vec_pretty(&CutJson {
            truncated: true,
            original_size: original,
            note: cut_note(original, limit),
            head: &text[..keep],
        })
        .expect("serializes");
        out.push(b'\n');
        // Escapes make the text longer in JSON: shrink until it fits.
        if out.len() <= target || keep == 0 {
            return out;
        }
        keep = keep.saturating_sub((out.len() - target).max(keep / 8));
    }
}

/// Cut the largest files until the total is at most `max`. Returns a note when even that
/// was not enough (the files that are never cut are larger than the limit).
pub fn bound(parts: &mut [Part], max: u64) -> Option<String> {
    loop {
        let total: u64 = parts.iter().map(|p| p.bytes.len() as u64).sum();
        if total <= max {
            return None;
        }
        let excess = (total - max) as usize;
        let Some(p) = parts
            .iter_mut()
            .filter(|p| p.shrink != Shrink::Keep && p.bytes.len() > FLOOR)
            .max_by_key(|p| p.bytes.len())
        else {
            return Some(format!(
                "the bundle holds {total} bytes, over --max-size {max}: the remaining files are not cut"
            ));
        };
        let before = p.bytes.len();
        p.cut_to(before.saturating_sub(excess), max);
        if p.bytes.len() >= before {
            // The cut could not make it smaller (the note outweighs it): stop trying it.
            p.shrink = Shrink::Keep;
        }
    }
}

/// Lowercase hex SHA-256 of `b`.
pub fn sha256_hex(b: &[u8]) -> String {
    let d = Sha256::digest(b);
    d.iter().map(|x| format!("{x:02x}")).collect()
}

/// One file in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub description: String,
    /// Set when the file was cut to fit `--max-size`: its size before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_from: Option<u64>,
}

pub fn entries(parts: &[Part]) -> Vec<FileEntry> {
    parts
        .iter()
        .map(|p| FileEntry {
            name: p.name.clone(),
            size: p.bytes.len() as u64,
            sha256: sha256_hex(&p.bytes),
            description: p.description.clone(),
            truncated_from: p.original_size,
        })
        .collect()
}

/// Write `parts` as `<dir>/<name>` entries of a gzip-compressed tar at `path` (through
/// `safeio`: a regular file is replaced by rename, a device or FIFO written directly,
/// anything else refused). Returns the archive's size.
pub fn write_tar_gz(
    path: &Path,
    dir: &str,
    parts: &[Part],
    mtime: u64,
) -> Result<u64, crate::safeio::IoError> {
    // Parts are in memory already and bounded by --max-size; so is their archive.
    let bytes = tar_gz(dir, parts, mtime).expect("a tar into memory cannot fail");
    crate::safeio::write(path, &bytes, crate::safeio::WriteOptions::default())?;
    Ok(bytes.len() as u64)
}

fn tar_gz(dir: &str, parts: &[Part], mtime: u64) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut dir_header = tar::Header::new_ustar();
    dir_header.set_entry_type(tar::EntryType::Directory);
    dir_header.set_mode(0o755);
    dir_header.set_size(0);
    dir_header.set_mtime(mtime);
    dir_header.set_uid(0);
    dir_header.set_gid(0);
    dir_header.set_cksum();
    tar.append_data(&mut dir_header, format!("{dir}/"), std::io::empty())?;
    for p in parts {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(p.bytes.len() as u64);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        tar.append_data(&mut h, format!("{dir}/{}", p.name), p.bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

/// The host's name as a file name part: its first label, with only letters, digits and `-`.
pub fn host_label(nodename: &str) -> String {
    let first = nodename.split('.').next().unwrap_or("");
    let clean: String = first
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "host".to_string()
    } else {
        clean
    }
}

/// `gohang-bundle-HOST-20261125T221500Z.tar.gz`.
pub fn default_name(host: &str, secs: u64) -> String {
    format!(
        "gohang-bundle-{}-{}.tar.gz",
        host_label(host),
        crate::sys::clock::compact_stamp(secs)
    )
}

/// The directory inside the archive: the file's name without `.tar.gz` / `.tgz`.
pub fn dir_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))
        .unwrap_or(&name);
    if stem.is_empty() || stem.starts_with('.') {
        "gohang-bundle".to_string()
    } else {
        stem.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            default_name("build-01.corp.example", 1_795_644_900),
            "gohang-bundle-build-01-20261125T221500Z.tar.gz"
        );
        assert_eq!(host_label("a b/c"), "a_b_c");
        assert_eq!(host_label(""), "host");
        assert_eq!(dir_name(Path::new("/x/y/bug.tar.gz")), "bug");
        assert_eq!(dir_name(Path::new("bug.tgz")), "bug");
        assert_eq!(dir_name(Path::new("bug")), "bug");
        assert_eq!(dir_name(Path::new(".tar.gz")), "gohang-bundle");
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_largest_parts_are_cut_to_fit_with_a_note() {
        let line = "0123456789abcdef\n";
        let big_text = line.repeat(10_000); // 170 KB
        let values: Vec<String> = (0..5000).map(|i| format!("value \"{i}\"")).collect();
        let mut parts = vec![
            Part::text("small.txt", "", "keep me\n".to_string(), Shrink::Text),
            Part::text(
                "out.txt",
                "",
                big_text.clone() + "LAST LINE\n",
                Shrink::Text,
            ),
            Part::json("data.json", "", &values, Shrink::Json),
            Part::text("report.md", "", "x".repeat(20_000), Shrink::Keep),
        ];
        let max = 64 * 1024;
        assert_eq!(bound(&mut parts, max), None);
        let total: usize = parts.iter().map(|p| p.bytes.len()).sum();
        assert!(total as u64 <= max, "{total}");
        assert_eq!(parts[0].bytes, b"keep me\n", "small files stay whole");
        assert_eq!(parts[0].original_size, None);
        assert_eq!(parts[3].bytes.len(), 20_000, "Keep is never cut");
        let out = String::from_utf8(parts[1].bytes.clone()).unwrap();
        assert!(
            out.starts_with(line) && out.ends_with("LAST LINE\n"),
            "head and end stay"
        );
        assert!(out.contains("was cut to keep the bundle under 65536 bytes"));
        assert_eq!(parts[1].original_size, Some(big_text.len() as u64 + 10));
        // The cut JSON is still JSON and says what it was.
        let v: serde_json::Value = serde_json::from_slice(&parts[2].bytes).unwrap();
        assert_eq!(v["truncated"], true);
        assert!(v["head"].as_str().unwrap().starts_with("[\n  \"value"));
        assert_eq!(v["original_size"].as_u64(), parts[2].original_size, "{v}");
        let e = entries(&parts);
        assert_eq!(e[1].truncated_from, parts[1].original_size);
        assert_eq!(e[0].sha256, sha256_hex(b"keep me\n"));
    }

    #[test]
    fn a_limit_below_the_kept_files_is_reported() {
        let mut parts = vec![Part::text("a", "", "x".repeat(100_000), Shrink::Keep)];
        assert!(
            bound(&mut parts, 64 * 1024)
                .unwrap()
                .contains("over --max-size")
        );
    }

    #[test]
    fn archive_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("b.tar.gz");
        let parts = vec![
            Part::text("a.txt", "", "hello\n".into(), Shrink::Text),
            Part::json("b.json", "", &serde_json::json!({"k": 1}), Shrink::Json),
        ];
        let size = write_tar_gz(&path, "b", &parts, 1_795_644_900).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&path).unwrap(),
        ));
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            assert_eq!(e.header().uid().unwrap(), 0);
            assert_eq!(e.header().username().unwrap(), Some(""));
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).unwrap();
            seen.push((name, body));
        }
        assert_eq!(seen[0].0, "b/");
        assert_eq!(seen[1], ("b/a.txt".to_string(), b"hello\n".to_vec()));
        assert_eq!(seen[2].0, "b/b.json");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
