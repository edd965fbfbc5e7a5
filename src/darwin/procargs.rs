//! `sysctl {CTL_KERN, KERN_PROCARGS2, pid}`: a process's argv, readable for the caller's
//! own processes (root: any). Layout (xnu `bsd/kern/kern_sysctl.c` `sysctl_procargsx`):
//! a native-endian `int argc`, the executable path and its NUL, NUL padding, then argc
//! NUL-terminated arguments, then the environment, NUL padding up to a multiple of 8 bytes
//! ("Align the tail of the combined argv+envv area", `kern_exec.c` `exec_extract_strings`),
//! then the "apple" strings the kernel passes to dyld and libc (`stack_guard=`,
//! `ptr_munge=`, `executable_file=`, … `exec_add_apple_strings`), padded the same way.
//!
//! Two traps: when the environment happens to end on an 8-byte boundary (one process in
//! eight) no padding separates it from the apple strings, which then look like more
//! variables; they are recognised by their keys and dropped. And the kernel withholds the
//! environment of a `cs_restricted` process (code-signing flag `CS_RESTRICT`, xnu
//! `kern_cs.c`) from every other process unless SIP's DTrace protection is off
//! (`kern_sysctl.c` `sysctl_procargsx`, `omit_env_vars`): the buffer then ends right after
//! argv, which [`environment`] reports as [`Environ::Withheld`] rather than as an empty
//! environment.

/// The executable path and argv from a `KERN_PROCARGS2` buffer.
pub fn parse(buf: &[u8]) -> Result<(String, Vec<String>), String> {
    let Some(head) = buf.get(..4) else {
        return Err("process arguments: buffer too short".to_string());
    };
    let argc = i32::from_ne_bytes([head[0], head[1], head[2], head[3]]);
    if !(0..=65_536).contains(&argc) {
        return Err(format!("process arguments: implausible argc {argc}"));
    }
    let rest = &buf[4..];
    let path_end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let exec_path = String::from_utf8_lossy(&rest[..path_end]).into_owned();
    let mut i = path_end;
    while i < rest.len() && rest[i] == 0 {
        i += 1;
    }
    let mut argv = Vec::with_capacity(argc as usize);
    while argv.len() < argc as usize && i < rest.len() {
        let end = rest[i..]
            .iter()
            .position(|&b| b == 0)
            .map(|p| i + p)
            .unwrap_or(rest.len());
        argv.push(String::from_utf8_lossy(&rest[i..end]).into_owned());
        i = end + 1;
    }
    Ok((exec_path, argv))
}

/// Keys of the strings XNU appends after the environment (`bsd/kern/kern_exec.c`
/// `exec_add_apple_strings`, xnu-11417). Matched as prefixes.
const APPLE_KEYS: &[&str] = &[
    "stack_guard=",
    "malloc_entropy=",
    "ptr_munge=",
    "MallocNanoZone=1",
    "MallocExperiment=",
    "HardenedRuntime=",
    "pfz=",
    "main_stack=",
    "executable_file=",
    "dyld_file=",
    "executable_cdhash=",
    "dyld_flags=",
    "subsystem_root_path=",
    "executable_boothash=",
    "ptrauth_disabled=1",
    "arm64e_abi=",
    "th_port=",
    "vm_force_4k_pages=1",
];

fn is_apple_string(s: &[u8]) -> bool {
    APPLE_KEYS.iter().any(|k| s.starts_with(k.as_bytes()))
}

/// Could `s` be an apple string of a kernel newer than the list above? Their keys are
/// lower-case identifiers (or one of the listed capitalised ones).
fn looks_apple(s: &[u8]) -> bool {
    if is_apple_string(s) {
        return true;
    }
    match s.iter().position(|&b| b == b'=') {
        Some(eq) if eq > 0 => s[..eq]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_'),
        _ => false,
    }
}

/// What `KERN_PROCARGS2` says of a process's environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Environ {
    /// NUL-separated `NAME=value` entries, each followed by its NUL (possibly none).
    Present(Vec<u8>),
    /// The kernel left the environment out (a restricted target): it is not empty, it is
    /// unknown.
    Withheld,
}

/// Why an environment is missing, for the evidence's notes.
pub const WITHHELD: &str = "environment unknown: macOS withholds it for a restricted \
     program (code-signing flag CS_RESTRICT) while System Integrity Protection is on, so \
     its Go settings are read from files only";

/// The environment in a `KERN_PROCARGS2` buffer, without the apple strings that follow it.
pub fn environment(buf: &[u8]) -> Environ {
    let Some(head) = buf.get(..4) else {
        return Environ::Present(Vec::new());
    };
    let argc = i32::from_ne_bytes([head[0], head[1], head[2], head[3]]).max(0) as usize;
    let rest = &buf[4..];
    let mut i = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    while i < rest.len() && rest[i] == 0 {
        i += 1;
    }
    for _ in 0..argc {
        match rest[i.min(rest.len())..].iter().position(|&b| b == 0) {
            Some(p) => i += p + 1,
            None => return Environ::Present(Vec::new()),
        }
    }
    let area = &rest[i.min(rest.len())..];
    if area.is_empty() {
        // Every process has apple strings after its environment; nothing at all after argv
        // is the kernel cutting the buffer (omit_env_vars).
        return Environ::Withheld;
    }
    // Entries up to the first empty string (the alignment padding, or the end).
    let mut entries: Vec<&[u8]> = Vec::new();
    for e in area.split(|&b| b == 0) {
        if e.is_empty() {
            break;
        }
        entries.push(e);
    }
    // No padding: the apple strings follow directly. They start at the first known key
    // after which every entry looks like one.
    let cut = (0..entries.len())
        .find(|&k| is_apple_string(entries[k]) && entries[k..].iter().all(|e| looks_apple(e)))
        .unwrap_or(entries.len());
    let mut out = Vec::new();
    for e in &entries[..cut] {
        out.extend_from_slice(e);
        out.push(0);
    }
    Environ::Present(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(argc: i32, body: &[u8]) -> Vec<u8> {
        let mut b = argc.to_ne_bytes().to_vec();
        b.extend_from_slice(body);
        b
    }

    fn present(b: &[u8]) -> Vec<u8> {
        match environment(b) {
            Environ::Present(v) => v,
            Environ::Withheld => panic!("withheld"),
        }
    }

    #[test]
    fn environment_after_argv() {
        let b = buf(
            2,
            b"/usr/local/go/bin/go\0\0\0go\0version\0GOPROXY=off\0HOME=/Users/x\0\0junk",
        );
        assert_eq!(present(&b), b"GOPROXY=off\0HOME=/Users/x\0");
        assert!(present(&buf(5, b"/x\0a\0")).is_empty());
        assert!(present(b"").is_empty());
    }

    /// The layout XNU writes (kern_exec.c): argv and envv, NULs to an 8-byte boundary,
    /// then the apple strings, NULs to an 8-byte boundary.
    fn stack_strings(argv: &[&str], env: &[&str], apple: &[&str]) -> Vec<u8> {
        let mut area = b"/usr/local/go/bin/go\0".to_vec();
        while !area.len().is_multiple_of(8) {
            area.push(0);
        }
        for s in argv.iter().chain(env) {
            area.extend_from_slice(s.as_bytes());
            area.push(0);
        }
        while !area.len().is_multiple_of(8) {
            area.push(0);
        }
        for s in apple {
            area.extend_from_slice(s.as_bytes());
            area.push(0);
        }
        while !area.len().is_multiple_of(8) {
            area.push(0);
        }
        buf(argv.len() as i32, &area)
    }

    const APPLE: &[&str] = &[
        "stack_guard=0x2b1e5c1a9d7f0000",
        "malloc_entropy=0x8c1fd3e45a3b2f11,0x5d66e0a2b1c34e07",
        "ptr_munge=0x6c4b9e1f2a3d5e00",
        "main_stack=0x16f603000,0x800000,0x16b603000,0x4000000",
        "executable_file=0x1a01000011,0x2f1b4c",
        "dyld_file=0x1a01000011,0xfffffff00001bb8",
        "th_port=0x103",
    ];

    #[test]
    fn apple_strings_are_not_environment_whatever_the_alignment() {
        // Try every padding length: the environment's length decides whether a NUL
        // separates it from the apple strings (7 in 8) or not (1 in 8).
        let mut unpadded = 0;
        for n in 0..8 {
            let pad = "x".repeat(n);
            let goflags = format!("GOFLAGS=-mod=mod{pad}");
            let env = [
                "HOME=/Users/alice",
                goflags.as_str(),
                "http_proxy=http://p:3128",
            ];
            let b = stack_strings(&["go", "build"], &env, APPLE);
            let raw = b.len();
            let mut want = Vec::new();
            for e in env {
                want.extend_from_slice(e.as_bytes());
                want.push(0);
            }
            assert_eq!(present(&b), want, "padding {n} (buffer of {raw} bytes)");
            let text = String::from_utf8_lossy(&b);
            if !text.contains("3128\0\0") {
                unpadded += 1;
            }
        }
        assert_eq!(unpadded, 1, "one length of eight leaves no padding");
    }

    #[test]
    fn a_user_variable_named_like_an_apple_key_in_the_middle_is_kept() {
        let env = ["MallocNanoZone=1", "GOPROXY=off"];
        let b = stack_strings(&["go"], &env, APPLE);
        assert_eq!(present(&b), b"MallocNanoZone=1\0GOPROXY=off\0");
    }

    #[test]
    fn a_withheld_environment_is_not_empty() {
        // omit_env_vars: the kernel's buffer ends right after argv.
        let b = buf(2, b"/usr/bin/login\0\0\0\0login\0-pf\0");
        assert_eq!(environment(&b), Environ::Withheld);
        // An empty environment still has its apple strings after it.
        let b = stack_strings(&["go"], &[], APPLE);
        assert_eq!(environment(&b), Environ::Present(Vec::new()));
    }

    #[test]
    fn go_build_command_line() {
        let b = buf(
            3,
            b"/usr/local/go/bin/go\0\0\0\0go\0build\0./...\0HOME=/Users/me\0SECRET=x\0",
        );
        let (path, argv) = parse(&b).unwrap();
        assert_eq!(path, "/usr/local/go/bin/go");
        assert_eq!(argv, vec!["go", "build", "./..."]);
    }

    #[test]
    fn odd_buffers() {
        assert!(parse(b"").is_err());
        assert!(parse(&buf(-1, b"x\0")).is_err());
        // argc larger than what follows: take what is there.
        let (_, argv) = parse(&buf(5, b"/bin/x\0\0x\0y")).unwrap();
        assert_eq!(argv, vec!["x", "y"]);
        // Invalid UTF-8 survives lossily; an empty argument is kept.
        let (_, argv) = parse(&buf(3, b"/p\0a\xff\0\0z\0")).unwrap();
        assert_eq!(argv, vec!["a\u{fffd}", "", "z"]);
        let (p, argv) = parse(&buf(0, b"/only/path\0\0ENV=1\0")).unwrap();
        assert_eq!(p, "/only/path");
        assert!(argv.is_empty());
    }
}
