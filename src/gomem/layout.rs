//! Runtime layouts per Go release, 1.21–1.27: byte offsets of the `runtime.g`, `gobuf`,
//! `m` and `moduledata` fields gohang reads, and the status and wait-reason strings.
//! Measured from the DWARF of programs each toolchain built (amd64 = arm64, darwin the
//! same for these fields) and from each release's runtime/runtime2.go; the test
//! `gomem_layout` checks them against the DWARF of the toolchains installed for tests.
//! A release not listed here has no layout: the caller says so rather than guess.

/// Field offsets in `runtime.g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GLayout {
    pub stack_lo: usize,
    pub stack_hi: usize,
    pub m: usize,
    pub sched: usize,
    pub syscallsp: usize,
    pub syscallpc: usize,
    pub atomicstatus: usize,
    pub goid: usize,
    pub waitsince: usize,
    pub waitreason: usize,
    pub lockedm: usize,
    pub parent_goid: usize,
    pub gopc: usize,
    pub labels: usize,
    pub size: usize,
}

/// Field offsets in `runtime.gobuf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GobufLayout {
    pub sp: usize,
    pub pc: usize,
    pub g: usize,
    pub lr: usize,
}

/// Field offsets in `runtime.m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MLayout {
    pub procid: usize,
    pub curg: usize,
    pub id: usize,
    pub alllink: usize,
}

/// Field offsets in `runtime.moduledata` beyond the fixed prefix (offsets 0–296 are the
/// same in every release: see [`md`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleLayout {
    pub gofunc: usize,
    /// 1.26+: the end of pclntab.
    pub epclntab: Option<usize>,
    pub size: usize,
}

/// moduledata offsets shared by 1.21–1.27.
pub mod md {
    pub const PCHEADER: usize = 0;
    pub const FUNCNAMETAB: usize = 8;
    pub const CUTAB: usize = 32;
    pub const FILETAB: usize = 56;
    pub const PCTAB: usize = 80;
    pub const PCLNTABLE: usize = 104;
    pub const FTAB: usize = 128;
    pub const MINPC: usize = 160;
    pub const MAXPC: usize = 168;
    pub const TEXT: usize = 176;
    pub const ETEXT: usize = 184;
    pub const NOPTRDATA: usize = 192;
    pub const ENOPTRDATA: usize = 200;
    pub const DATA: usize = 208;
    pub const EDATA: usize = 216;
    pub const BSS: usize = 224;
    pub const EBSS: usize = 232;
    pub const NOPTRBSS: usize = 240;
    pub const ENOPTRBSS: usize = 248;
    pub const END: usize = 272;
}

/// The g status values (runtime2.go); `_Gscan` is OR-ed in while a GC scans the stack.
pub mod status {
    pub const IDLE: u32 = 0;
    pub const RUNNABLE: u32 = 1;
    pub const RUNNING: u32 = 2;
    pub const SYSCALL: u32 = 3;
    pub const WAITING: u32 = 4;
    pub const DEAD: u32 = 6;
    pub const COPYSTACK: u32 = 8;
    pub const PREEMPTED: u32 = 9;
    /// 1.26+.
    pub const LEAKED: u32 = 10;
    /// 1.26+: a dead g kept for a cgo extra M.
    pub const DEADEXTRA: u32 = 11;
    pub const SCAN: u32 = 0x1000;
}

/// Everything gohang needs to know about one release's runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The `N` of go1.N.
    pub minor: u32,
    pub g: GLayout,
    pub gobuf: GobufLayout,
    pub m: MLayout,
    pub module: ModuleLayout,
    /// `waitReasonStrings` read from the target itself (a release without a table).
    pub reasons: Option<&'static [String]>,
}

impl Layout {
    /// The table for go1.`minor`, or None for a release gohang has no table for.
    pub fn for_minor(minor: u32) -> Option<Layout> {
        // g: 1.21 and 1.22 share offsets (1.22 only grew the tail), 1.23/1.24 added
        // syscallbp (+8 from stktopsp on), 1.25 dropped gobuf.ret (-8 after sched), 1.26
        // moved parentGoid..labels by +8.
        let g = match minor {
            21 | 22 => GLayout {
                stack_lo: 0,
                stack_hi: 8,
                m: 48,
                sched: 56,
                syscallsp: 112,
                syscallpc: 120,
                atomicstatus: 144,
                goid: 152,
                waitsince: 168,
                waitreason: 176,
                lockedm: 208,
                parent_goid: 272,
                gopc: 280,
                labels: 344,
                size: if minor == 21 { 408 } else { 424 },
            },
            23 | 24 => GLayout {
                stack_lo: 0,
                stack_hi: 8,
                m: 48,
                sched: 56,
                syscallsp: 112,
                syscallpc: 120,
                atomicstatus: 152,
                goid: 160,
                waitsince: 176,
                waitreason: 184,
                lockedm: 216,
                parent_goid: 280,
                gopc: 288,
                labels: 352,
                size: if minor == 23 { 432 } else { 440 },
            },
            25 => GLayout {
                stack_lo: 0,
                stack_hi: 8,
                m: 48,
                sched: 56,
                syscallsp: 104,
                syscallpc: 112,
                atomicstatus: 144,
                goid: 152,
                waitsince: 168,
                waitreason: 176,
                lockedm: 208,
                parent_goid: 272,
                gopc: 280,
                labels: 344,
                size: 440,
            },
            26 | 27 => GLayout {
                stack_lo: 0,
                stack_hi: 8,
                m: 48,
                sched: 56,
                syscallsp: 104,
                syscallpc: 112,
                atomicstatus: 144,
                goid: 152,
                waitsince: 168,
                waitreason: 176,
                lockedm: 208,
                parent_goid: 280,
                gopc: 288,
                labels: 352,
                size: 456,
            },
            _ => return None,
        };
        let gobuf = if minor <= 24 {
            GobufLayout {
                sp: 0,
                pc: 8,
                g: 16,
                lr: 40,
            }
        } else {
            GobufLayout {
                sp: 0,
                pc: 8,
                g: 16,
                lr: 32,
            }
        };
        let m = match minor {
            21 => MLayout {
                procid: 72,
                curg: 192,
                id: 232,
                alllink: 336,
            },
            22 | 23 => MLayout {
                procid: 72,
                curg: 192,
                id: 232,
                alllink: 328,
            },
            24 => MLayout {
                procid: 72,
                curg: 192,
                id: 232,
                alllink: 352,
            },
            25 => MLayout {
                procid: 64,
                curg: 184,
                id: 224,
                alllink: 344,
            },
            _ => MLayout {
                procid: 64,
                curg: 184,
                id: 232,
                alllink: 352,
            },
        };
        let module = match minor {
            21 | 22 => ModuleLayout {
                gofunc: 320,
                epclntab: None,
                size: 592,
            },
            23..=25 => ModuleLayout {
                gofunc: 320,
                epclntab: None,
                size: 584,
            },
            26 => ModuleLayout {
                gofunc: 320,
                epclntab: Some(328),
                size: 592,
            },
            _ => ModuleLayout {
                gofunc: 344,
                epclntab: Some(352),
                size: 568,
            },
        };
        Some(Layout {
            minor,
            g,
            gobuf,
            m,
            module,
            reasons: None,
        })
    }

    /// `gStatusStrings` (traceback.go); "???" past the end, as the runtime prints.
    pub fn status_name(&self, st: u32) -> &'static str {
        const NAMES: [&str; 12] = [
            "idle",
            "runnable",
            "running",
            "syscall",
            "waiting",
            "",
            "dead",
            "",
            "copystack",
            "preempted",
            "leaked",
            "waiting for cgo callback",
        ];
        let n = if self.minor >= 26 { 12 } else { 10 };
        NAMES
            .get(st as usize)
            .filter(|_| (st as usize) < n)
            .copied()
            .unwrap_or("???")
    }

    /// `waitReasonStrings[r]`, or the runtime's "unknown wait reason".
    pub fn wait_reason(&self, r: u8) -> &'static str {
        if let Some(rs) = self.reasons {
            return rs
                .get(r as usize)
                .map(String::as_str)
                .unwrap_or("unknown wait reason");
        }
        wait_reasons(self.minor)
            .get(r as usize)
            .copied()
            .unwrap_or("unknown wait reason")
    }
}

const WR_BASE: [&str; 38] = [
    "",
    "GC assist marking",
    "IO wait",
    "chan receive (nil chan)",
    "chan send (nil chan)",
    "dumping heap",
    "garbage collection",
    "garbage collection scan",
    "panicwait",
    "select",
    "select (no cases)",
    "GC assist wait",
    "GC sweep wait",
    "GC scavenge wait",
    "chan receive",
    "chan send",
    "finalizer wait",
    "force gc (idle)",
    "semacquire",
    "sleep",
    "sync.Cond.Wait",
    "sync.Mutex.Lock",
    "sync.RWMutex.RLock",
    "sync.RWMutex.Lock",
    "trace reader (blocked)",
    "wait for GC cycle",
    "GC worker (idle)",
    "GC worker (active)",
    "preempted",
    "debug call",
    "GC mark termination",
    "stopping the world",
    "flushing proc caches",
    "trace goroutine status",
    "trace proc status",
    "page trace flush",
    "coroutine",
    "GC weak to strong wait",
];

const WR_124: [&str; 44] = [
    "",
    "GC assist marking",
    "IO wait",
    "chan receive (nil chan)",
    "chan send (nil chan)",
    "dumping heap",
    "garbage collection",
    "garbage collection scan",
    "panicwait",
    "select",
    "select (no cases)",
    "GC assist wait",
    "GC sweep wait",
    "GC scavenge wait",
    "chan receive",
    "chan send",
    "finalizer wait",
    "force gc (idle)",
    "semacquire",
    "sleep",
    "sync.Cond.Wait",
    "sync.Mutex.Lock",
    "sync.RWMutex.RLock",
    "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait",
    "trace reader (blocked)",
    "wait for GC cycle",
    "GC worker (idle)",
    "GC worker (active)",
    "preempted",
    "debug call",
    "GC mark termination",
    "stopping the world",
    "flushing proc caches",
    "trace goroutine status",
    "trace proc status",
    "page trace flush",
    "coroutine",
    "GC weak to strong wait",
    "synctest.Run",
    "synctest.Wait",
    "chan receive (synctest)",
    "chan send (synctest)",
    "select (synctest)",
];

const WR_125: [&str; 47] = [
    "",
    "GC assist marking",
    "IO wait",
    "chan receive (nil chan)",
    "chan send (nil chan)",
    "dumping heap",
    "garbage collection",
    "garbage collection scan",
    "panicwait",
    "select",
    "select (no cases)",
    "GC assist wait",
    "GC sweep wait",
    "GC scavenge wait",
    "chan receive",
    "chan send",
    "finalizer wait",
    "force gc (idle)",
    "GOMAXPROCS updater (idle)",
    "semacquire",
    "sleep",
    "sync.Cond.Wait",
    "sync.Mutex.Lock",
    "sync.RWMutex.RLock",
    "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait",
    "trace reader (blocked)",
    "wait for GC cycle",
    "GC worker (idle)",
    "GC worker (active)",
    "preempted",
    "debug call",
    "GC mark termination",
    "stopping the world",
    "flushing proc caches",
    "trace goroutine status",
    "trace proc status",
    "page trace flush",
    "coroutine",
    "GC weak to strong wait",
    "synctest.Run",
    "synctest.Wait",
    "chan receive (durable)",
    "chan send (durable)",
    "select (durable)",
    "sync.WaitGroup.Wait (durable)",
    "cleanup wait",
];

/// 1.26 grouped the channel and select reasons (for leak detection's range checks).
const WR_126: [&str; 47] = [
    "",
    "GC assist marking",
    "IO wait",
    "dumping heap",
    "garbage collection",
    "garbage collection scan",
    "panicwait",
    "GC assist wait",
    "GC sweep wait",
    "GC scavenge wait",
    "finalizer wait",
    "force gc (idle)",
    "GOMAXPROCS updater (idle)",
    "semacquire",
    "sleep",
    "chan receive (nil chan)",
    "chan send (nil chan)",
    "select (no cases)",
    "select",
    "chan receive",
    "chan send",
    "sync.Cond.Wait",
    "sync.Mutex.Lock",
    "sync.RWMutex.RLock",
    "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait",
    "trace reader (blocked)",
    "wait for GC cycle",
    "GC worker (idle)",
    "GC worker (active)",
    "preempted",
    "debug call",
    "GC mark termination",
    "stopping the world",
    "flushing proc caches",
    "trace goroutine status",
    "trace proc status",
    "page trace flush",
    "coroutine",
    "GC weak to strong wait",
    "synctest.Run",
    "synctest.Wait",
    "chan receive (durable)",
    "chan send (durable)",
    "select (durable)",
    "sync.WaitGroup.Wait (durable)",
    "cleanup wait",
];

/// `waitReasonStrings` of go1.`minor` (1.21 has 32 entries, 1.22 37, 1.23 38).
pub fn wait_reasons(minor: u32) -> &'static [&'static str] {
    match minor {
        21 => &WR_BASE[..32],
        22 => &WR_BASE[..37],
        23 => &WR_BASE[..],
        24 => &WR_124[..],
        25 => &WR_125[..],
        _ => &WR_126[..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_releases_only() {
        assert!(Layout::for_minor(20).is_none());
        assert!(Layout::for_minor(28).is_none());
        for minor in 21..=27 {
            let l = Layout::for_minor(minor).unwrap();
            assert!(l.g.labels + 8 <= l.g.size);
            assert!(l.g.sched + l.gobuf.lr < l.g.syscallsp);
        }
    }

    #[test]
    fn wait_reasons_follow_the_renumbering() {
        let l = |m| Layout::for_minor(m).unwrap();
        assert_eq!(l(23).wait_reason(14), "chan receive");
        assert_eq!(l(23).wait_reason(24), "trace reader (blocked)");
        assert_eq!(l(24).wait_reason(24), "sync.WaitGroup.Wait");
        assert_eq!(l(25).wait_reason(18), "GOMAXPROCS updater (idle)");
        assert_eq!(l(26).wait_reason(19), "chan receive");
        assert_eq!(l(27).wait_reason(18), "select");
        assert_eq!(l(21).wait_reason(36), "unknown wait reason");
        assert_eq!(l(25).status_name(10), "???");
        assert_eq!(l(26).status_name(10), "leaked");
    }
}
