//! Facts about Darwin (macOS) that need no Mac: constants, the layouts of the kernel
//! structs gohang reads, and parsers of what macOS tools print.
//!
//! Compiled and tested on every OS: no I/O, no `cfg`. The macOS backend
//! (`observe::macos`) stays a thin layer of system calls over this module, so most of its
//! logic — state mapping, struct decoding, `sample`/`csrutil`/`codesign` text, permission
//! wording — is exercised by tests on Linux too. Values come from XNU
//! (github.com/apple-oss-distributions/xnu, tag `xnu-11417.101.15`: `bsd/sys/proc.h`,
//! `bsd/sys/proc_info.h`, `bsd/sys/sysctl.h`, `osfmk/kern/cs_blobs.h`, `bsd/sys/csr.h`);
//! struct layouts are asserted at compile time for the Apple targets.

pub mod codesign;
pub mod csr;
pub mod kinfo;
pub mod permission;
pub mod procargs;
pub mod rosetta;
pub mod sample_text;
pub mod socket;
pub mod state;
pub mod ticks;

use crate::evidence::{RunState, Sample};
use std::collections::HashSet;

/// `NODEV`: no controlling terminal (`e_tdev`).
pub const NODEV: u32 = u32::MAX;
/// Major number of the pseudo-terminal slaves `/dev/ttysNNN` (`bsd/kern/tty_ptmx.c`).
const PTS_MAJOR: u32 = 16;

/// The path of a terminal device number, as far as gohang can name it without `devname(3)`:
/// `/dev/ttys003` for pseudo-terminals, `/dev/console` for the console. Darwin's `dev_t`
/// keeps the major number in the top byte and the minor in the low 24 bits.
pub fn tty_name(dev: u32) -> Option<String> {
    if dev == NODEV {
        return None;
    }
    let major = (dev >> 24) & 0xff;
    let minor = dev & 0x00ff_ffff;
    match major {
        PTS_MAJOR => Some(format!("/dev/ttys{minor:03}")),
        0 if minor == 0 => Some("/dev/console".to_string()),
        _ => None,
    }
}

/// Which processes of a stalled tree's last sample deserve native stacks (at most `max`):
/// leaves first (the end of the wait chain), then translated ones, then the root; never
/// stopped or dead ones, whose stack says nothing their state does not.
pub fn sample_candidates(sample: &Sample, max: usize) -> Vec<u32> {
    let live: Vec<_> = sample
        .processes
        .iter()
        .filter(|p| {
            !matches!(
                p.state,
                RunState::Stopped | RunState::TracingStop | RunState::Zombie | RunState::Dead
            )
        })
        .collect();
    let parents: HashSet<u32> = sample.processes.iter().map(|p| p.ppid).collect();
    let mut out: Vec<u32> = Vec::new();
    let leaves = live.iter().rev().filter(|p| !parents.contains(&p.pid));
    let translated = live.iter().filter(|p| !p.translation.is_native());
    for p in leaves.chain(translated).chain(live.first()) {
        if out.len() < max && !out.contains(&p.pid) {
            out.push(p.pid);
        }
    }
    out
}

/// The bytes of a C string declared as nested arrays. `libc` declares `vnode_info_path`'s
/// `vip_path` (`char[MAXPATHLEN]` in C) as `[[c_char; 32]; 32]`, so its `len()` is 32, not
/// 1024: bounding by it cut every working directory to 32 bytes. This takes the whole
/// array, whatever its shape.
pub fn nested_c_chars<C, const N: usize, const M: usize>(a: &[[C; N]; M]) -> &[u8]
where
    C: Copy + Into<i32>,
{
    const { assert!(std::mem::size_of::<C>() == 1, "one-byte characters only") };
    // SAFETY: `a` is M×N one-byte integers, contiguous and initialised; u8 has no invalid
    // values and alignment 1.
    unsafe { std::slice::from_raw_parts(a.as_ptr().cast::<u8>(), std::mem::size_of_val(a)) }
}

/// A NUL-terminated C string in a fixed array, lossily decoded.
pub fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_names() {
        assert_eq!(tty_name((16 << 24) | 3).as_deref(), Some("/dev/ttys003"));
        assert_eq!(
            tty_name((16 << 24) | 1234).as_deref(),
            Some("/dev/ttys1234")
        );
        assert_eq!(tty_name(0).as_deref(), Some("/dev/console"));
        assert_eq!(tty_name(NODEV), None);
        assert_eq!(tty_name(2 << 24), None);
    }

    fn proc(pid: u32, ppid: u32, state: RunState) -> crate::evidence::ProcessSnapshot {
        let state = serde_json::to_value(state).unwrap();
        serde_json::from_value(serde_json::json!({
            "pid": pid, "ppid": ppid, "comm": "x", "state": state
        }))
        .unwrap()
    }

    #[test]
    fn sample_leaves_first_then_translated_then_root() {
        let mut root = proc(10, 1, RunState::Sleeping);
        root.translation = crate::evidence::Translation::Rosetta { program_arch: None };
        let s = Sample {
            at_ms: 0,
            processes: vec![
                root,
                proc(11, 10, RunState::Sleeping),
                proc(12, 11, RunState::Running),
                proc(13, 10, RunState::Stopped),
                proc(14, 10, RunState::Sleeping),
            ],
        };
        assert_eq!(sample_candidates(&s, 4), vec![14, 12, 10]);
        assert_eq!(sample_candidates(&s, 1), vec![14]);
        assert!(
            sample_candidates(
                &Sample {
                    at_ms: 0,
                    processes: vec![]
                },
                4
            )
            .is_empty()
        );
    }

    #[test]
    fn a_path_in_nested_arrays_is_read_whole() {
        // vnode_info_path.vip_path as libc declares it; c_char is i8 on x86_64 macOS and
        // u8 on arm64 macOS, so both are tried.
        let want = "/Users/alice/go/src/github.com/acme/widget/internal/very/deep/package";
        let mut signed = [[0i8; 32]; 32];
        let mut unsigned = [[0u8; 32]; 32];
        for (i, b) in want.bytes().enumerate() {
            signed[i / 32][i % 32] = b as i8;
            unsigned[i / 32][i % 32] = b;
        }
        assert_eq!(nested_c_chars(&signed).len(), 1024);
        assert_eq!(c_str(nested_c_chars(&signed)), want);
        assert_eq!(c_str(nested_c_chars(&unsigned)), want);
        // A path of exactly MAXPATHLEN-1 bytes keeps its last byte.
        let mut full = [[b'a'; 32]; 32];
        full[31][31] = 0;
        assert_eq!(c_str(nested_c_chars(&full)).len(), 1023);
    }

    #[test]
    fn c_strings() {
        assert_eq!(c_str(b"go\0\0\0"), "go");
        assert_eq!(c_str(b"full"), "full");
        assert_eq!(c_str(b"\xff\0"), "\u{fffd}");
        assert_eq!(c_str(b""), "");
    }
}
