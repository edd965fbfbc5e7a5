//! Facts about Darwin (macOS) that need no Mac: constants, the layouts of the kernel
//! structs gohang reads, and parsers of what macOS tools print.
//!
//! Compiled and tested on every OS: no I/O, no `cfg`. The macOS backend
//! (`observe::macos`) stays a thin layer of system calls over this module, so most of its
//! logic — state mapping, struct decoding, `sample`/`csrutil`/`codesign` text, permission
//! wording — is exercised by tests on Linux too. Values come from XNU
//! (`bsd/sys/proc.h`, `bsd/sys/proc_info.h`, `bsd/sys/sysctl.h`, `osfmk/kern/cs_blobs.h`,
//! `bsd/sys/csr.h`) as recorded in the project's macOS notes.

pub mod codesign;
pub mod csr;
pub mod kinfo;
pub mod permission;
pub mod procargs;
pub mod rosetta;
pub mod sample_text;
pub mod socket;
pub mod state;

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

    #[test]
    fn c_strings() {
        assert_eq!(c_str(b"go\0\0\0"), "go");
        assert_eq!(c_str(b"full"), "full");
        assert_eq!(c_str(b"\xff\0"), "\u{fffd}");
        assert_eq!(c_str(b""), "");
    }
}
