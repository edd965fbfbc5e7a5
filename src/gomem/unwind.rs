//! The unwinder: from a goroutine's saved context to its physical frames, following the
//! runtime's own `unwinder` (runtime/traceback.go `initAt`, `resolveInternal`, `next`;
//! the same logic 1.21–1.27): frame sizes from the pcsp table, the return address at
//! `fp-8` on amd64 or in the frame's 0(SP) slot / the saved LR on arm64, stop at a
//! `TopFrame` function (goexit, mstart) or an SP-writing one, and the arm64 adjustment
//! after an injected call (sigpanic, asyncPreempt, debugCallV2).
//!
//! Pure: the stack comes in as a [`Stack`], a snapshot read once. Every word read must lie
//! in the snapshot, every pc must be a known function's, every frame inside the stack, and
//! the walk is bounded: a torn or hostile read ends in an error, never a wrong frame.

use super::image::GoArch;
use super::pclntab::{FLAG_SP_WRITE, FLAG_TOP_FRAME, Func, Pclntab};

/// Stack memory for the unwinder: words at addresses in `[lo, hi)`.
pub trait Stack {
    fn word(&self, addr: u64) -> Option<u64>;
}

/// A stack snapshot: `bytes` hold memory from `base` on.
pub struct StackBytes<'a> {
    pub base: u64,
    pub bytes: &'a [u8],
}

impl Stack for StackBytes<'_> {
    fn word(&self, addr: u64) -> Option<u64> {
        let off = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        super::le::u64_at(self.bytes, off)
    }
}

/// Where unwinding starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub pc: u64,
    pub sp: u64,
    /// arm64: the saved link register (0 when the return address is on the stack).
    pub lr: u64,
    /// Started from `syscallpc/syscallsp`: SP writes after entersyscall don't matter.
    pub syscall: bool,
}

/// One physical frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysFrame {
    pub pc: u64,
    pub sp: u64,
    pub fp: u64,
    pub func: Func,
    /// The callee was an injected call: symbolize at `pc`, not `pc-1`.
    pub trap: bool,
}

/// Walk the stack from `start`. `stack_hi` bounds every frame; `injected` says whether a
/// function is sigpanic, asyncPreempt or debugCallV2 (by name: their FuncIDs moved
/// between releases); at most `max_frames` physical frames.
pub fn unwind(
    tab: &Pclntab,
    arch: GoArch,
    start: Start,
    stack: &dyn Stack,
    stack_hi: u64,
    injected: &dyn Fn(&Func) -> bool,
    max_frames: usize,
) -> Result<Vec<PhysFrame>, String> {
    let uses_lr = arch.uses_lr();
    let (mut pc, mut sp) = (start.pc, start.sp);
    let mut lr = if uses_lr { start.lr } else { 0 };
    let word = |a: u64| {
        stack
            .word(a)
            .ok_or_else(|| format!("stack word at {a:#x} is outside the stack read"))
    };
    // A zero pc is a call through a nil function: start in the caller.
    if pc == 0 {
        pc = word(sp)?;
        if uses_lr {
            lr = 0;
        } else {
            sp += 8;
        }
    }
    let mut frames: Vec<PhysFrame> = Vec::new();
    let mut trap = false;
    loop {
        let innermost = frames.is_empty();
        if frames.len() >= max_frames {
            return Err(format!("more than {max_frames} frames"));
        }
        let f = tab
            .find_func(pc)
            .ok_or_else(|| format!("pc {pc:#x} is in no Go function"))?;
        if f.pcsp == 0 {
            // No frame information (an external function): the runtime stops here too.
            break;
        }
        let mut flag = f.flag;
        if innermost && start.syscall {
            flag &= !FLAG_SP_WRITE;
        }
        let delta = tab
            .spdelta(&f, pc)
            .filter(|d| *d >= 0)
            .ok_or_else(|| format!("no frame size at pc {pc:#x}"))?;
        let mut fp = sp.checked_add(delta as u64).ok_or("frame size overflows")?;
        if !uses_lr {
            fp += 8;
        }
        if fp > stack_hi {
            return Err(format!(
                "frame at sp {sp:#x} ends past the stack top {stack_hi:#x}"
            ));
        }
        if flag & FLAG_TOP_FRAME != 0 || flag & FLAG_SP_WRITE != 0 {
            lr = 0;
        } else if uses_lr {
            if (innermost && sp < fp) || lr == 0 {
                lr = word(sp)?;
            }
        } else if lr == 0 {
            lr = word(fp - 8)?;
        }
        frames.push(PhysFrame {
            pc,
            sp,
            fp,
            func: f,
            trap,
        });
        if lr == 0 {
            break;
        }
        let Some(flr) = tab.find_func(lr) else {
            return Err(format!("return pc {lr:#x} is in no Go function"));
        };
        if pc == lr && sp == fp {
            return Err(format!("unwinding is stuck at pc {pc:#x} sp {sp:#x}"));
        }
        let was_injected = injected(&f);
        trap = was_injected;
        pc = lr;
        lr = 0;
        sp = fp;
        if uses_lr && was_injected {
            // sighandler saved LR on the stack before faking the call.
            let x = word(sp)?;
            sp += 16;
            if tab.spdelta(&flr, pc) == Some(0) {
                lr = x;
            }
        }
    }
    Ok(frames)
}
