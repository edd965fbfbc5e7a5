//! `sysctl {CTL_KERN, KERN_PROCARGS2, pid}`: a process's argv, readable for the caller's
//! own processes (root: any). Layout (xnu `bsd/kern/kern_sysctl.c` `sysctl_procargsx`):
//! a native-endian `int argc`, the executable path and its NUL, NUL padding, then argc
//! NUL-terminated arguments, then the environment (which gohang never reads: it may hold
//! secrets).

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

/// The environment area that follows argv in a `KERN_PROCARGS2` buffer: NUL-separated
/// `NAME=value` strings up to the first empty one (xnu `kern_sysctl.c` `sysctl_procargsx`).
pub fn environment(buf: &[u8]) -> Vec<u8> {
    let Some(head) = buf.get(..4) else {
        return Vec::new();
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
            None => return Vec::new(),
        }
    }
    let env = &rest[i.min(rest.len())..];
    let end = env
        .windows(2)
        .position(|w| w == [0, 0])
        .map(|p| p + 1)
        .unwrap_or(env.len());
    env[..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(argc: i32, body: &[u8]) -> Vec<u8> {
        let mut b = argc.to_ne_bytes().to_vec();
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn environment_after_argv() {
        let b = buf(
            2,
            b"/usr/local/go/bin/go\0\0\0go\0version\0GOPROXY=off\0HOME=/Users/x\0\0junk",
        );
        assert_eq!(environment(&b), b"GOPROXY=off\0HOME=/Users/x\0");
        assert!(environment(&buf(5, b"/x\0a\0")).is_empty());
        assert!(environment(b"").is_empty());
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
