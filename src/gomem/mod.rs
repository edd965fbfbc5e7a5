//! Goroutines of a live Go program (Go 1.21–1.27, amd64 and arm64), read from its memory
//! without stopping it: `gohang dump`. See docs/dump.md.
//!
//! The pure parts (`pclntab`, `layout`, `unwind`, `model`) work on byte slices and are
//! fuzzed; `memory` and `process` are the thin OS seam; `reader` ties them together and
//! validates what it read. Nothing here writes to the target or signals it; `--lock`
//! (`lock`) may pause its threads with PTRACE_INTERRUPT and always detaches.

pub mod dwarf;
pub mod evidence;
pub mod filemap;
pub mod image;
pub mod layout;
pub mod le;
pub mod lock;
pub mod memory;
pub mod model;
pub mod pclntab;
pub mod process;
pub mod reader;
pub mod unwind;

use layout::Layout;
use memory::{Memory, ReadError, Shifted};
use model::{Dump, LabelStyle, SCHEMA};

/// Why a dump could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpError {
    NoSuchProcess(u32),
    Denied(String),
    /// Not a Go program, or one gohang cannot read (no pclntab, unknown architecture).
    NotGo(String),
    /// A Go release whose layouts gohang does not know.
    UnknownRelease(String),
    Unsupported(String),
    Internal(String),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::NoSuchProcess(pid) => write!(f, "no process with pid {pid}"),
            DumpError::Denied(s)
            | DumpError::NotGo(s)
            | DumpError::UnknownRelease(s)
            | DumpError::Unsupported(s)
            | DumpError::Internal(s) => f.write_str(s),
        }
    }
}

/// The `N` of a `go1.N[.P]` version string (`devel go1.24-abc`, `go1.23.5 X:foo` too).
pub fn go_minor(version: &str) -> Option<u32> {
    let v = version.trim().trim_start_matches("devel ").trim();
    let v = v.split_whitespace().next()?;
    let rest = v.strip_prefix("go1.")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The value of `key` in a comma-separated GODEBUG list (the last setting wins).
fn godebug(list: &str, key: &str) -> Option<String> {
    list.split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .next_back()
}

/// How the target's runtime prints labels: 1.26 only with tracebacklabels=1, 1.27 unless
/// it is 0 (the default for a main module whose `go` line is older than 1.27). The
/// effective setting is DefaultGODEBUG from the build info, overridden by $GODEBUG.
pub fn label_style(
    minor: u32,
    default_godebug: Option<&str>,
    env_godebug: Option<&str>,
) -> LabelStyle {
    let value = env_godebug
        .and_then(|e| godebug(e, "tracebacklabels"))
        .or_else(|| default_godebug.and_then(|d| godebug(d, "tracebacklabels")));
    match minor {
        26 if value.as_deref() == Some("1") => LabelStyle::Inside,
        m if m >= 27 && value.as_deref() != Some("0") => LabelStyle::After,
        _ => LabelStyle::None,
    }
}

/// `build\tDefaultGODEBUG=…` from the module info embedded in the file (`bytes`: where
/// the build info lies, see [`image::Image::buildinfo_bytes`]).
fn default_godebug(bytes: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"build\tDefaultGODEBUG=";
    let at = bytes.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &bytes[at..bytes.len().min(at + 4096)];
    let end = rest.iter().position(|&c| c == b'\n')?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// GODEBUG from the process's environment, when readable (Linux /proc/PID/environ, macOS
/// `KERN_PROCARGS2`).
fn env_godebug(pid: u32) -> Option<String> {
    let env = crate::observe::raw_environ(pid)?;
    env.split(|&c| c == 0)
        .filter_map(|kv| kv.strip_prefix(b"GODEBUG="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .next_back()
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of the runtime's `nanotime` on Linux.
fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    #[cfg(target_os = "macos")]
    let clock = libc::CLOCK_UPTIME_RAW;
    #[cfg(not(target_os = "macos"))]
    let clock = libc::CLOCK_MONOTONIC;
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    // time_t and c_long are i64 on every 64-bit target gohang builds for.
    #[allow(clippy::unnecessary_cast)]
    let ns = ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64;
    ns
}

fn denied_message(pid: u32, why: &str) -> String {
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .map(|s| s.trim().to_string());
    let yama = match scope.as_deref() {
        Some("1") => {
            " kernel.yama.ptrace_scope=1 lets only an ancestor of the process read it: run gohang as root (sudo), or lower it with `sysctl kernel.yama.ptrace_scope=0`."
        }
        Some("2") => {
            " kernel.yama.ptrace_scope=2: only root (CAP_SYS_PTRACE) may read another process: run gohang with sudo."
        }
        Some("3") => " kernel.yama.ptrace_scope=3: no process may read another until reboot.",
        _ => "",
    };
    if cfg!(target_os = "macos") {
        format!(
            "cannot read the memory of pid {pid} ({why}): on macOS this needs root (sudo gohang dump {pid}); hardened programs also need the get-task-allow entitlement"
        )
    } else {
        format!(
            "cannot read the memory of pid {pid} ({why}): it needs ptrace access — the same user and a dumpable process, or root.{yama}"
        )
    }
}

/// `runtime.waitReasonStrings` ([N]string) from the live process, via `.symtab`.
fn read_wait_reasons(mem: &dyn Memory, image: &image::Image, bias: u64) -> Option<Vec<String>> {
    let addr = image
        .symbols
        .get("runtime.waitReasonStrings")?
        .wrapping_add(bias);
    let size = *image.symbol_sizes.get("runtime.waitReasonStrings")?;
    // A Mach-O size is the gap to the next symbol: alignment padding after the array.
    let size = size - size % 16;
    if size == 0 || size > 256 * 16 {
        return None;
    }
    let b = mem.read_vec(addr, size as usize).ok()?;
    b.chunks_exact(16)
        .map(|c| {
            let (p, n) = (le::u64_at(c, 0)?, le::u64_at(c, 8)?);
            if n == 0 {
                return Some(String::new());
            }
            if n > 256 {
                return None;
            }
            let s = mem.read_vec(p, n as usize).ok()?;
            Some(String::from_utf8_lossy(&s).into_owned())
        })
        .collect()
}

/// Read every goroutine of process `pid`. `lock`: pause its threads while reading.
pub fn dump_pid(pid: u32, lock: bool) -> Result<Dump, DumpError> {
    let located = process::locate(pid).map_err(|e| match e {
        DumpError::Denied(why) => DumpError::Denied(denied_message(pid, &why)),
        e => e,
    })?;
    let image = &located.image;
    let info = crate::inspect::inspect_bytes(&image.bytes)
        .map_err(|e| DumpError::NotGo(format!("{}: {e}", located.path.display())))?;
    let go = info.go().cloned().ok_or_else(|| {
        DumpError::NotGo(format!(
            "pid {pid} ({}) is not a Go program (no Go build info)",
            located.path.display()
        ))
    })?;
    let minor = go_minor(&go.version).ok_or_else(|| {
        DumpError::UnknownRelease(format!(
            "pid {pid}: cannot parse the Go version {:?}",
            go.version
        ))
    })?;
    // A release without a table is read with layouts from its own DWARF, when it has
    // some; GOHANG_DUMP_LAYOUT=dwarf forces that path (tests compare it with the tables).
    let forced = std::env::var("GOHANG_DUMP_LAYOUT").is_ok_and(|v| v == "dwarf");
    let unknown = |why: &str| {
        DumpError::UnknownRelease(format!(
            "pid {pid} runs {}: its runtime layouts are unknown to this gohang (it knows go1.21 to go1.27), and {why}",
            go.version
        ))
    };
    let (mut layout, layout_source) = match Layout::for_minor(minor) {
        Some(l) if !forced => (l, "table"),
        table if image.has_dwarf && minor >= 21 => match dwarf::layout(&image.bytes, minor) {
            Ok(l) => (l, "dwarf"),
            Err(why) => match table {
                Some(l) => (l, "table"),
                None => return Err(unknown(&why)),
            },
        },
        Some(l) => (l, "table"),
        None => return Err(unknown("it has no DWARF to read them from")),
    };

    let proc_mem = memory::ProcessMemory::open(pid, located.probe_addr).map_err(|e| match e {
        ReadError::Denied(why) => DumpError::Denied(denied_message(pid, &why)),
        ReadError::Gone => DumpError::NoSuchProcess(pid),
        e => DumpError::Internal(format!("reading pid {pid}: {e}")),
    })?;
    let shifted = Shifted {
        inner: &proc_mem,
        base: located.guest_base,
    };
    let mem: &dyn Memory = &shifted;

    let _paused = if lock {
        Some(lock::Paused::pause(pid).map_err(|e| DumpError::Denied(denied_message(pid, &e)))?)
    } else {
        None
    };

    let root_err = |e: reader::RootError| match e {
        reader::RootError::Read(ReadError::Gone) => DumpError::NoSuchProcess(pid),
        reader::RootError::Read(ReadError::Denied(w)) => DumpError::Denied(denied_message(pid, &w)),
        e => DumpError::NotGo(format!("pid {pid} ({}): {e}", go.version)),
    };
    if layout_source == "dwarf" {
        // The wait-reason strings of this release, from the program itself.
        let strings = read_wait_reasons(mem, image, located.bias).ok_or_else(|| {
            unknown("its wait-reason strings (runtime.waitReasonStrings) cannot be read")
        })?;
        layout.reasons = Some(Box::leak(strings.into_boxed_slice()));
    }
    let (md, pclntab_vaddr) =
        reader::find_moduledata(mem, image, located.bias, &layout).map_err(root_err)?;
    let target = reader::Target::new(mem, image, located.bias, layout, md, pclntab_vaddr)
        .map_err(root_err)?;
    let (allgs, _source) = reader::read_allgs(&target).map_err(root_err)?;

    let now = monotonic_ns();
    let addrs: Vec<u64> = allgs.into_iter().filter(|&gp| gp != 0).collect();
    let goroutines = target.goroutines(&addrs, now);
    let mut notes = Vec::new();
    let running = goroutines
        .iter()
        .filter(|g| g.state == "running" && g.frames.is_empty())
        .count();
    if running > 0 {
        notes.push(format!(
            "{running} goroutine{} running and {} no readable stack",
            if running == 1 { " was" } else { "s were" },
            if running == 1 { "has" } else { "have" }
        ));
    }
    let bad = goroutines.iter().filter(|g| g.error.is_some()).count();
    if bad > 0 {
        notes.push(format!(
            "{bad} goroutine{} could not be read consistently (the program kept changing {}); try --lock",
            if bad == 1 { "" } else { "s" },
            if bad == 1 { "it" } else { "them" }
        ));
    }
    if located.qemu {
        notes.push(format!(
            "read through qemu-user (guest base {:#x})",
            located.guest_base
        ));
    }
    let style = label_style(
        minor,
        image
            .buildinfo_bytes()
            .into_iter()
            .find_map(default_godebug)
            .as_deref(),
        env_godebug(pid).as_deref(),
    );
    let summary = model::summarize(&goroutines);
    Ok(Dump {
        schema: SCHEMA,
        pid,
        go_version: go.version.clone(),
        goarch: image.arch.name().to_string(),
        layout_source,
        goroutines,
        summary,
        notes,
        label_style: style,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(go_minor("go1.23.5"), Some(23));
        assert_eq!(go_minor("go1.23.5 X:nocoverageredesign"), Some(23));
        assert_eq!(go_minor("devel go1.24-abcdef Tue"), Some(24));
        assert_eq!(go_minor("go1.27rc1"), Some(27));
        assert_eq!(go_minor("go2.0"), None);
        assert_eq!(go_minor(""), None);
    }

    #[test]
    fn label_styles() {
        assert_eq!(
            label_style(25, None, Some("tracebacklabels=1")),
            LabelStyle::None
        );
        assert_eq!(label_style(26, None, None), LabelStyle::None);
        assert_eq!(
            label_style(26, None, Some("x=1,tracebacklabels=1")),
            LabelStyle::Inside
        );
        assert_eq!(label_style(27, None, None), LabelStyle::After);
        assert_eq!(
            label_style(27, Some("tracebacklabels=0"), None),
            LabelStyle::None
        );
        assert_eq!(
            label_style(27, Some("tracebacklabels=0"), Some("tracebacklabels=1")),
            LabelStyle::After
        );
    }
}
