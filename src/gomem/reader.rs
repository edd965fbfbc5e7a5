//! Reading a live Go program's goroutines: find the roots (module data, `allgs`), decode
//! each `g`, unwind and symbolize it, and check that what was read holds together.
//!
//! Roots (GORUNTIME §4): the module data is found by a search of the live writable data
//! for the pclntab header's address, accepted only if a dozen of its fields agree with the
//! header; `allgs` from `.symtab` when present, otherwise by a validated search of the
//! live .bss. Every g is read in one read and checked (`sched.g` is itself, sp inside its
//! stack, every pc in a known function); a g that changes under the reader is read again
//! and, failing that, reported as unreadable — never with a wrong stack.

use super::image::{GoArch, Image};
use super::layout::{Layout, md, status};
use super::le::{u8_at, u32_at, u64_at};
use super::memory::{Memory, ReadError};
use super::model::{CreatedBy, Frame, Goroutine, elide};
use super::pclntab::{Func, Pclntab};
use super::unwind::{self, Stack, StackBytes, Start};
use std::cell::RefCell;
use std::collections::HashMap;

/// More goroutines than any real program keeps (the runtime has no limit; 4M × 8 B is
/// the most of `allgs` gohang reads).
pub const MAX_GOROUTINES: u64 = 1 << 22;
/// Physical frames per goroutine (a 1 GiB stack of the smallest frames is ~2^27; real
/// deep recursions are thousands).
pub const MAX_FRAMES: usize = 1 << 20;
/// Stacks up to this size are read in one read; larger ones in chunks of it.
const STACK_CHUNK: u64 = 1 << 20;
/// The most of one stack gohang reads (the runtime's default max stack is 1 GB).
const MAX_STACK_READ: u64 = 1 << 30;
/// Reads of one g before it is reported as unreadable.
const ATTEMPTS: usize = 4;
/// Largest writable segment searched for the module data.
const MAX_SEARCH: u64 = 256 << 20;

/// The module data fields gohang uses, as the process sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleData {
    pub addr: u64,
    pub pcheader: u64,
    pub text: u64,
    pub etext: u64,
    pub bss: u64,
    pub ebss: u64,
    pub end: u64,
    pub gofunc: u64,
}

/// Where a process keeps what gohang reads, and how its addresses map.
pub struct Target<'a> {
    pub mem: &'a dyn Memory,
    pub image: &'a Image,
    /// Added to a file virtual address to get the address the process uses (PIE/ASLR).
    pub bias: u64,
    pub layout: Layout,
    pub md: ModuleData,
    pub pcln: Pclntab<'a>,
    /// Where `allgs` came from, for the decision trail.
    names: RefCell<HashMap<u64, String>>,
    symbolized: RefCell<HashMap<(u64, bool), Vec<Frame>>>,
    /// `created by` frames by the creating pc (thousands of goroutines share a few).
    creators: RefCell<HashMap<u64, Option<CreatedBy>>>,
}

/// Why the roots could not be found.
#[derive(Debug)]
pub enum RootError {
    Read(ReadError),
    NotFound(String),
}

impl From<ReadError> for RootError {
    fn from(e: ReadError) -> RootError {
        RootError::Read(e)
    }
}

impl std::fmt::Display for RootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootError::Read(e) => write!(f, "{e}"),
            RootError::NotFound(s) => f.write_str(s),
        }
    }
}

/// Check a module data candidate read from memory against the pclntab header (GORUNTIME
/// §4a): every table pointer equals the header plus its offset, the function count
/// matches, the pc range lies in the text, and the release-specific fields agree.
pub fn validate_moduledata(
    b: &[u8],
    addr: u64,
    hdr_addr: u64,
    hdr: &super::pclntab::Header,
    live_text_start: u64,
    layout: &Layout,
) -> Option<ModuleData> {
    let w = |off| u64_at(b, off);
    let at = |off: usize| hdr_addr.checked_add(off as u64);
    if w(md::PCHEADER)? != hdr_addr
        || Some(w(md::FUNCNAMETAB)?) != at(hdr.funcname_off)
        || Some(w(md::CUTAB)?) != at(hdr.cu_off)
        || Some(w(md::FILETAB)?) != at(hdr.filetab_off)
        || Some(w(md::PCTAB)?) != at(hdr.pctab_off)
        || Some(w(md::PCLNTABLE)?) != at(hdr.pcln_off)
        || Some(w(md::FTAB)?) != at(hdr.pcln_off)
        || w(md::FTAB + 8)? != hdr.nfunc as u64 + 1
    {
        return None;
    }
    let (text, etext, minpc, maxpc) = (w(md::TEXT)?, w(md::ETEXT)?, w(md::MINPC)?, w(md::MAXPC)?);
    if !(text <= minpc && minpc < maxpc && maxpc <= etext) {
        return None;
    }
    let gofunc = w(layout.module.gofunc)?;
    match layout.module.epclntab {
        None => {
            if text != live_text_start {
                return None;
            }
        }
        Some(off) => {
            let epclntab = w(off)?;
            if live_text_start != 0 || !(hdr_addr < gofunc && gofunc < epclntab) {
                return None;
            }
        }
    }
    Some(ModuleData {
        addr,
        pcheader: hdr_addr,
        text,
        etext,
        bss: w(md::BSS)?,
        ebss: w(md::EBSS)?,
        end: w(md::END)?,
        gofunc,
    })
}

/// Find and validate the module data: at `runtime.firstmoduledata` when the symbol table
/// has it, else by searching the writable file-backed segments for the header address.
pub fn find_moduledata(
    mem: &dyn Memory,
    image: &Image,
    bias: u64,
    layout: &Layout,
) -> Result<(ModuleData, u64), RootError> {
    let mut tried = Vec::new();
    for &cand in &image.pclntab_candidates {
        let Some(data) = image.pclntab_at(cand) else {
            continue;
        };
        let Ok(hdr) = super::pclntab::Header::parse(data) else {
            continue;
        };
        let hdr_addr = cand.wrapping_add(bias);
        // The header's textStart as the process has it (relocated in PIE ≤1.25).
        let live_text_start = mem.read_u64(hdr_addr + 24)?;
        if let Some(&sym) = image.symbols.get("runtime.firstmoduledata") {
            let addr = sym.wrapping_add(bias);
            let b = mem.read_vec(addr, layout.module.size)?;
            if let Some(m) = validate_moduledata(&b, addr, hdr_addr, &hdr, live_text_start, layout)
            {
                return Ok((m, cand));
            }
            tried.push("runtime.firstmoduledata".to_string());
        }
        let mut found = Vec::new();
        for seg in image.segments.iter().filter(|s| s.writable && s.filesz > 0) {
            let len = seg.filesz.min(MAX_SEARCH);
            let start = seg.vaddr.wrapping_add(bias);
            let mut off = 0u64;
            while off < len {
                let n = (len - off).min(4 << 20);
                let buf = match mem.read_vec(start + off, n as usize) {
                    Ok(b) => b,
                    Err(ReadError::Fault { .. }) => {
                        off += n;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let skew = ((8 - ((start + off) % 8)) % 8) as usize;
                let mut i = skew;
                while i + 8 <= buf.len() {
                    if u64_at(&buf, i) == Some(hdr_addr) {
                        let addr = start + off + i as u64;
                        if let Ok(b) = mem.read_vec(addr, layout.module.size)
                            && let Some(m) = validate_moduledata(
                                &b,
                                addr,
                                hdr_addr,
                                &hdr,
                                live_text_start,
                                layout,
                            )
                        {
                            found.push(m);
                        }
                    }
                    i += 8;
                }
                off += n;
            }
        }
        match found.len() {
            1 => return Ok((found[0], cand)),
            0 => tried.push(format!("a search for the header at {hdr_addr:#x}")),
            n => {
                return Err(RootError::NotFound(format!(
                    "{n} candidates for the module data: refusing to guess"
                )));
            }
        }
    }
    Err(RootError::NotFound(
        if image.pclntab_candidates.is_empty() {
            "no Go symbol table (pclntab) in the executable".to_string()
        } else {
            format!(
                "the module data was not found ({}); the Go release's layout may differ from gohang's table",
                tried.join(", ")
            )
        },
    ))
}

/// A decoded `runtime.g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawG {
    pub addr: u64,
    pub stack_lo: u64,
    pub stack_hi: u64,
    pub m: u64,
    pub sched_sp: u64,
    pub sched_pc: u64,
    pub sched_g: u64,
    pub sched_lr: u64,
    pub syscallsp: u64,
    pub syscallpc: u64,
    /// With `_Gscan` masked off.
    pub status: u32,
    pub scan: bool,
    pub goid: u64,
    pub waitsince: i64,
    pub waitreason: u8,
    pub lockedm: u64,
    pub parent_goid: u64,
    pub gopc: u64,
    pub labels: u64,
}

pub fn decode_g(b: &[u8], addr: u64, l: &Layout) -> Option<RawG> {
    let w = |off| u64_at(b, off);
    let st = u32_at(b, l.g.atomicstatus)?;
    Some(RawG {
        addr,
        stack_lo: w(l.g.stack_lo)?,
        stack_hi: w(l.g.stack_hi)?,
        m: w(l.g.m)?,
        sched_sp: w(l.g.sched + l.gobuf.sp)?,
        sched_pc: w(l.g.sched + l.gobuf.pc)?,
        sched_g: w(l.g.sched + l.gobuf.g)?,
        sched_lr: w(l.g.sched + l.gobuf.lr)?,
        syscallsp: w(l.g.syscallsp)?,
        syscallpc: w(l.g.syscallpc)?,
        status: st & !status::SCAN,
        scan: st & status::SCAN != 0,
        goid: w(l.g.goid)?,
        waitsince: w(l.g.waitsince)? as i64,
        waitreason: u8_at(b, l.g.waitreason)?,
        lockedm: w(l.g.lockedm)?,
        parent_goid: w(l.g.parent_goid)?,
        gopc: w(l.g.gopc)?,
        labels: w(l.g.labels)?,
    })
}

impl RawG {
    fn is_dead(&self, minor: u32) -> bool {
        self.status == status::DEAD
            || self.status == status::IDLE
            || (minor >= 26 && self.status == status::DEADEXTRA)
    }

    /// The checks a live g passes (GORUNTIME §1 invariants), used for the allgs search.
    fn plausible(&self, minor: u32) -> bool {
        let max_status = if minor >= 26 {
            status::DEADEXTRA
        } else {
            status::PREEMPTED
        };
        if self.status > max_status || matches!(self.status, 0 | 5 | 7) {
            return false;
        }
        if self.is_dead(minor) {
            return true;
        }
        let size = self.stack_hi.wrapping_sub(self.stack_lo);
        self.goid != 0 && self.stack_lo < self.stack_hi && size >= 2048 && size.is_power_of_two()
    }

    /// Same goroutine, same saved context: nothing relevant moved between two reads.
    fn same_context(&self, o: &RawG) -> bool {
        self.status == o.status
            && self.goid == o.goid
            && self.sched_sp == o.sched_sp
            && self.sched_pc == o.sched_pc
            && self.syscallsp == o.syscallsp
            && self.syscallpc == o.syscallpc
            && self.stack_lo == o.stack_lo
            && self.stack_hi == o.stack_hi
    }
}

/// `allgs` as a list of g addresses.
pub fn read_allgs(t: &Target) -> Result<(Vec<u64>, &'static str), RootError> {
    let mem = t.mem;
    if let Some(&sym) = t.image.symbols.get("runtime.allgs") {
        let s = mem.read_vec(sym.wrapping_add(t.bias), 24)?;
        let (ptr, len) = (u64_at(&s, 0).unwrap_or(0), u64_at(&s, 8).unwrap_or(0));
        // allgadd stores the slice before allglen: the smaller of the two is complete.
        let len = match t.image.symbols.get("runtime.allglen") {
            Some(&l) => mem.read_u64(l.wrapping_add(t.bias))?.min(len),
            None => len,
        };
        return Ok((read_ptrs(mem, ptr, len)?, "symbol table"));
    }
    // The validated search of the live .bss (GORUNTIME §4b).
    let (bss, ebss) = (t.md.bss, t.md.ebss);
    if ebss <= bss || ebss - bss > MAX_SEARCH {
        return Err(RootError::NotFound(
            "the module data's .bss range is implausible".into(),
        ));
    }
    let b = mem.read_vec(bss, (ebss - bss) as usize)?;
    let mut cands: Vec<(u64, u64, u64)> = Vec::new(); // (slot, ptr, len)
    let mut i = 0usize;
    while i + 24 <= b.len() {
        let (ptr, len, cap) = (
            u64_at(&b, i).unwrap_or(0),
            u64_at(&b, i + 8).unwrap_or(0),
            u64_at(&b, i + 16).unwrap_or(0),
        );
        if len > 0
            && len <= cap
            && cap <= MAX_GOROUTINES
            && ptr % 8 == 0
            && ptr >> 56 == 0
            && !(t.md.text..t.md.end).contains(&ptr)
            && ptr != 0
            && looks_like_allgs(t, ptr, len)
        {
            cands.push((bss + i as u64, ptr, len));
        }
        i += 8;
    }
    // During a GC mark, work.stackRoots holds the same ptr with len <= allgs' len.
    let mut by_ptr: HashMap<u64, u64> = HashMap::new();
    for &(_, ptr, len) in &cands {
        let e = by_ptr.entry(ptr).or_insert(0);
        *e = (*e).max(len);
    }
    let confirmed: Vec<(u64, u64)> = by_ptr
        .iter()
        .filter(|(ptr, _)| {
            // allgptr: exactly one other .bss word equals the slice's pointer.
            let mut n = 0;
            let mut j = 0;
            while j + 8 <= b.len() {
                if u64_at(&b, j) == Some(**ptr) {
                    n += 1;
                }
                j += 8;
            }
            n >= 2
        })
        .map(|(p, l)| (*p, *l))
        .collect();
    let pick = match (by_ptr.len(), confirmed.len()) {
        (1, _) => by_ptr.iter().next().map(|(p, l)| (*p, *l)),
        (_, 1) => Some(confirmed[0]),
        _ => None,
    };
    let Some((ptr, len)) = pick else {
        return Err(RootError::NotFound(format!(
            "{} candidates for runtime.allgs in .bss: refusing to guess",
            by_ptr.len()
        )));
    };
    Ok((read_ptrs(mem, ptr, len)?, "search of .bss"))
}

fn read_ptrs(mem: &dyn Memory, ptr: u64, len: u64) -> Result<Vec<u64>, RootError> {
    if len > MAX_GOROUTINES {
        return Err(RootError::NotFound(format!(
            "allgs claims {len} goroutines"
        )));
    }
    let b = mem.read_vec(ptr, (len * 8) as usize)?;
    Ok(b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect())
}

/// Every element (up to 64 checked, spread over the slice) points to a plausible g.
fn looks_like_allgs(t: &Target, ptr: u64, len: u64) -> bool {
    let n = len.min(64);
    for k in 0..n {
        let idx = if len <= 64 { k } else { k * (len - 1) / 63 };
        let Ok(gp) = t.mem.read_u64(ptr + idx * 8) else {
            return false;
        };
        if gp == 0 || gp % 8 != 0 || gp >> 56 != 0 {
            return false;
        }
        let Ok(b) = t.mem.read_vec(gp, t.layout.g.size) else {
            return false;
        };
        match decode_g(&b, gp, &t.layout) {
            Some(g) if g.plausible(t.layout.minor) => {}
            _ => return false,
        }
    }
    true
}

/// Stack memory read lazily in chunks (most stacks fit in the first, which a caller may
/// have read already in a batch). Chunks are few (at most 1 GiB / 1 MiB), so a list.
struct ChunkedStack<'m> {
    mem: &'m dyn Memory,
    lo: u64,
    hi: u64,
    chunks: RefCell<Vec<(u64, Option<Vec<u8>>)>>,
}

impl Stack for ChunkedStack<'_> {
    fn word(&self, addr: u64) -> Option<u64> {
        if addr < self.lo || addr.checked_add(8)? > self.hi {
            return None;
        }
        let k = (addr - self.lo) / STACK_CHUNK;
        let base = self.lo + k * STACK_CHUNK;
        let mut chunks = self.chunks.borrow_mut();
        let at = match chunks.iter().position(|(c, _)| *c == k) {
            Some(at) => at,
            None => {
                let len = (self.hi - base).min(STACK_CHUNK);
                chunks.push((k, self.mem.read_vec(base, len as usize).ok()));
                chunks.len() - 1
            }
        };
        StackBytes {
            base,
            bytes: chunks[at].1.as_deref()?,
        }
        .word(addr)
    }
}

impl<'a> Target<'a> {
    pub fn new(
        mem: &'a dyn Memory,
        image: &'a Image,
        bias: u64,
        layout: Layout,
        md: ModuleData,
        pclntab_vaddr: u64,
    ) -> Result<Target<'a>, RootError> {
        let data = image
            .pclntab_at(pclntab_vaddr)
            .ok_or_else(|| RootError::NotFound("pclntab is outside the file".into()))?;
        let gofunc = image.slice_at(md.gofunc.wrapping_sub(bias)).unwrap_or(&[]);
        let pcln =
            Pclntab::new(data, gofunc, md.text).map_err(|e| RootError::NotFound(e.to_string()))?;
        Ok(Target {
            mem,
            image,
            bias,
            layout,
            md,
            pcln,
            names: RefCell::new(HashMap::new()),
            symbolized: RefCell::new(HashMap::new()),
            creators: RefCell::new(HashMap::new()),
        })
    }

    pub fn arch(&self) -> GoArch {
        self.image.arch
    }

    fn name(&self, f: &Func) -> String {
        self.names
            .borrow_mut()
            .entry(f.entry)
            .or_insert_with(|| self.pcln.func_name(f).unwrap_or_else(|| "?".into()))
            .clone()
    }

    fn injected(&self, f: &Func) -> bool {
        matches!(
            self.name(f).as_str(),
            "runtime.sigpanic" | "runtime.asyncPreempt" | "runtime.debugCallV2"
        )
    }

    /// The logical frames of one physical frame, cached by (pc, trap).
    fn symbolize(&self, pf: &unwind::PhysFrame) -> Vec<Frame> {
        let key = (pf.pc, pf.trap);
        if let Some(v) = self.symbolized.borrow().get(&key) {
            return v.clone();
        }
        let f = &pf.func;
        let sym_pc = if !pf.trap && pf.pc > f.entry {
            pf.pc - 1
        } else {
            pf.pc
        };
        let minor = self.layout.minor;
        let frames: Vec<Frame> = self
            .pcln
            .logical_frames(f, sym_pc)
            .into_iter()
            .map(|lf| Frame {
                function: super::pclntab::print_name(&lf.name, minor),
                file: lf.file,
                line: lf.line,
                pc_offset: if !lf.inlined && pf.pc > f.entry {
                    Some(pf.pc - f.entry)
                } else {
                    None
                },
                inlined: lf.inlined,
            })
            .collect();
        self.symbolized.borrow_mut().insert(key, frames.clone());
        frames
    }

    fn created_by(&self, g: &RawG) -> Option<CreatedBy> {
        if g.goid == 1 {
            return None;
        }
        let cached = self
            .creators
            .borrow_mut()
            .entry(g.gopc)
            .or_insert_with(|| self.creator_frame(g.gopc))
            .clone();
        let mut c = cached?;
        c.goroutine = (g.parent_goid != 0).then_some(g.parent_goid);
        Some(c)
    }

    fn creator_frame(&self, gopc: u64) -> Option<CreatedBy> {
        let g = RawG {
            gopc,
            ..RawG::default()
        };
        let f = self.pcln.find_func(g.gopc)?;
        let q = self.pcln.pc_quantum();
        let trace_pc = if g.gopc > f.entry { g.gopc - q } else { g.gopc };
        let (file, line) = self.pcln.file_line(&f, trace_pc);
        Some(CreatedBy {
            function: super::pclntab::print_name(&self.name(&f), self.layout.minor),
            file,
            line,
            pc_offset: (g.gopc > f.entry).then(|| g.gopc - f.entry),
            goroutine: None,
        })
    }

    /// The Linux thread id of the M running `g` (`m.procid`).
    fn thread_of(&self, g: &RawG) -> Option<u32> {
        if g.m == 0 {
            return None;
        }
        let id = self.mem.read_u64(g.m + self.layout.m.procid as u64).ok()?;
        u32::try_from(id).ok().filter(|&t| t > 0)
    }

    /// A Go string {ptr, len} at most 64 KiB long.
    fn go_string(&self, p: u64, n: u64) -> Option<String> {
        if n > 1 << 16 {
            return None;
        }
        let v = self.mem.read_vec(p, n as usize).ok()?;
        Some(String::from_utf8_lossy(&v).into_owned())
    }

    /// pprof labels: 1.24+ `*LabelSet{list []label{key, value string}}` in order; ≤1.23 a
    /// `map[string]string` (read from its buckets, sorted by key, as pprof prints them).
    fn labels(&self, g: &RawG) -> Vec<(String, String)> {
        if g.labels == 0 {
            return Vec::new();
        }
        let read = if self.layout.minor >= 24 {
            self.label_list(g.labels)
        } else {
            self.label_map(g.labels)
        };
        read.unwrap_or_default()
    }

    fn label_list(&self, at: u64) -> Option<Vec<(String, String)>> {
        let s = self.mem.read_vec(at, 24).ok()?;
        let (ptr, len) = (u64_at(&s, 0)?, u64_at(&s, 8)?);
        if len > 1024 {
            return None;
        }
        let b = self.mem.read_vec(ptr, (len * 32) as usize).ok()?;
        (0..len as usize)
            .map(|i| {
                let e = i * 32;
                Some((
                    self.go_string(u64_at(&b, e)?, u64_at(&b, e + 8)?)?,
                    self.go_string(u64_at(&b, e + 16)?, u64_at(&b, e + 24)?)?,
                ))
            })
            .collect()
    }

    /// A `*map[string]string` of the pre-1.24 (bucket) implementation: hmap {count, flags,
    /// B, noverflow, hash0, buckets, oldbuckets, …}; a bucket is 8 tophash bytes, 8 keys,
    /// 8 values and an overflow pointer (272 bytes for string/string).
    fn label_map(&self, at: u64) -> Option<Vec<(String, String)>> {
        const BUCKET: usize = 8 + 8 * 16 + 8 * 16 + 8;
        const MIN_TOP_HASH: u8 = 5;
        // g.labels is a *labelMap: a pointer to the map header's pointer.
        let hmap = self.mem.read_u64(at).ok()?;
        let h = self.mem.read_vec(hmap, 48).ok()?;
        let (count, b, buckets, old) = (
            u64_at(&h, 0)?,
            u8_at(&h, 9)?,
            u64_at(&h, 16)?,
            u64_at(&h, 24)?,
        );
        // Labels are a handful; a growing map (oldbuckets set) is not read.
        if count > 1024 || b > 8 || old != 0 {
            return None;
        }
        let mut out = Vec::new();
        let mut budget = 4096usize;
        for i in 0..(1u64 << b) {
            let mut bucket = buckets.checked_add(i * BUCKET as u64)?;
            while bucket != 0 && budget > 0 {
                budget -= 1;
                let bk = self.mem.read_vec(bucket, BUCKET).ok()?;
                for slot in 0..8 {
                    if bk[slot] < MIN_TOP_HASH {
                        continue;
                    }
                    let k = 8 + slot * 16;
                    let v = 8 + 128 + slot * 16;
                    out.push((
                        self.go_string(u64_at(&bk, k)?, u64_at(&bk, k + 8)?)?,
                        self.go_string(u64_at(&bk, v)?, u64_at(&bk, v + 8)?)?,
                    ));
                }
                bucket = u64_at(&bk, BUCKET - 8)?;
            }
        }
        if out.len() as u64 != count {
            return None;
        }
        out.sort();
        Some(out)
    }

    fn status_text(&self, g: &RawG) -> (String, Option<String>) {
        let l = &self.layout;
        let leaked = l.minor >= 26 && g.status == status::LEAKED;
        let mut reason = None;
        let mut s = l.status_name(g.status).to_string();
        if (g.status == status::WAITING || leaked) && g.waitreason != 0 {
            s = l.wait_reason(g.waitreason).to_string();
            reason = Some(s.clone());
        }
        if leaked {
            s.push_str(" (leaked)");
        }
        if g.scan {
            s.push_str(" (scan)");
        }
        (s, reason)
    }

    /// Read every g of `addrs` in order, dead ones left out. The common case costs one
    /// batched read of all gs, one stack read each, and one batched re-read to check that
    /// nothing moved; a g that fails any check goes through [`Target::goroutine`]'s retries.
    pub fn goroutines(&self, addrs: &[u64], now_ns: i64) -> Vec<Goroutine> {
        let l = &self.layout;
        let first = self.mem.read_many(addrs, l.g.size);
        // (index, goroutine, the g as read) of walks to confirm.
        let mut slots: Vec<Option<Goroutine>> = vec![None; addrs.len()];
        let mut pending: Vec<(usize, RawG)> = Vec::new();
        let mut slow: Vec<usize> = Vec::new();
        let gs: Vec<Option<RawG>> = addrs
            .iter()
            .zip(first)
            .map(|(&addr, bytes)| bytes.and_then(|b| decode_g(&b, addr, l)))
            .collect();
        // The first stack chunk of every goroutine to unwind, read in a few batched calls
        // rather than one system call per goroutine.
        let starts: Vec<Option<Start>> = gs
            .iter()
            .map(|g| {
                g.as_ref()
                    .filter(|g| !g.is_dead(l.minor) && g.status != status::RUNNING)
                    .and_then(|g| stack_start(g).ok())
            })
            .collect();
        let ranges: Vec<(u64, usize)> = starts
            .iter()
            .zip(&gs)
            .filter_map(|(s, g)| {
                let (s, g) = (s.as_ref()?, g.as_ref()?);
                Some((s.sp, (g.stack_hi - s.sp).min(STACK_CHUNK) as usize))
            })
            .collect();
        let mut prefetched = self.mem.read_ranges(&ranges).into_iter();
        for (i, (g, start)) in gs.into_iter().zip(starts).enumerate() {
            let Some(g) = g else {
                slow.push(i);
                continue;
            };
            if g.is_dead(l.minor) {
                continue;
            }
            let mut out = self.describe(&g, now_ns);
            if g.status == status::RUNNING {
                out.thread = self.thread_of(&g);
                slots[i] = Some(out);
                continue;
            }
            let result = match start {
                Some(start) => self.unwind_from(&g, start, prefetched.next().flatten()),
                None => self.stack_of(&g),
            };
            match result {
                Ok(frames) => {
                    out.frames = frames;
                    out.elided = elide(&mut out.frames);
                    if g.status == status::SYSCALL {
                        out.thread = self.thread_of(&g);
                    }
                    slots[i] = Some(out);
                    pending.push((i, g));
                }
                Err(_) => slow.push(i),
            }
        }
        let again_addrs: Vec<u64> = pending.iter().map(|(i, _)| addrs[*i]).collect();
        let again = self.mem.read_many(&again_addrs, l.g.size);
        for ((i, g), b) in pending.iter().zip(again) {
            let same = b
                .and_then(|b| decode_g(&b, g.addr, l))
                .is_some_and(|a| a.same_context(g));
            if !same {
                slots[*i] = None;
                slow.push(*i);
            }
        }
        for i in slow {
            slots[i] = self.goroutine(addrs[i], now_ns);
        }
        slots.into_iter().flatten().collect()
    }

    /// Read the g at `addr`: None when it is dead (not printed, as the runtime skips it).
    pub fn goroutine(&self, addr: u64, now_ns: i64) -> Option<Goroutine> {
        let l = &self.layout;
        let mut last_err = String::new();
        let mut last: Option<RawG> = None;
        for _ in 0..ATTEMPTS {
            let raw = match self.mem.read_vec(addr, l.g.size) {
                Ok(b) => decode_g(&b, addr, l),
                Err(e) => {
                    last_err = e.to_string();
                    if e == ReadError::Gone {
                        break;
                    }
                    continue;
                }
            };
            let Some(g) = raw else { continue };
            if g.is_dead(l.minor) {
                return None;
            }
            last = Some(g);
            let mut out = self.describe(&g, now_ns);
            if g.status == status::RUNNING {
                out.thread = self.thread_of(&g);
                return Some(out);
            }
            match self.stack_of(&g) {
                Ok(frames) => {
                    // Read the g again: its context must not have moved meanwhile.
                    let again = self
                        .mem
                        .read_vec(addr, l.g.size)
                        .ok()
                        .and_then(|b| decode_g(&b, addr, l));
                    if again.is_some_and(|a| a.same_context(&g)) {
                        out.frames = frames;
                        out.elided = elide(&mut out.frames);
                        if g.status == status::SYSCALL {
                            out.thread = self.thread_of(&g);
                        }
                        return Some(out);
                    }
                    last_err = "the goroutine moved while being read".into();
                }
                Err(e) => last_err = e,
            }
        }
        let g = last?;
        let mut out = self.describe(&g, now_ns);
        out.error = Some(format!(
            "not read consistently in {ATTEMPTS} tries: {last_err}"
        ));
        Some(out)
    }

    fn describe(&self, g: &RawG, now_ns: i64) -> Goroutine {
        let (status_text, wait_reason) = self.status_text(g);
        let wait_minutes = if (g.status == status::WAITING || g.status == status::SYSCALL)
            && g.waitsince != 0
            && now_ns > g.waitsince
        {
            ((now_ns - g.waitsince) / 60_000_000_000) as u64
        } else {
            0
        };
        Goroutine {
            id: g.goid,
            state: self.layout.status_name(g.status).to_string(),
            status: status_text,
            wait_reason,
            wait_minutes,
            locked_to_thread: g.lockedm != 0,
            thread: None,
            labels: self.labels(g),
            frames: Vec::new(),
            elided: 0,
            created_by: self.created_by(g),
            error: None,
        }
    }

    fn stack_of(&self, g: &RawG) -> Result<Vec<Frame>, String> {
        let start = stack_start(g)?;
        self.unwind_from(g, start, None)
    }

    /// Unwind from `start`; `first`: the stack's first chunk when already read.
    fn unwind_from(
        &self,
        g: &RawG,
        start: Start,
        first: Option<Vec<u8>>,
    ) -> Result<Vec<Frame>, String> {
        let stack = ChunkedStack {
            mem: self.mem,
            lo: start.sp,
            hi: g.stack_hi,
            chunks: RefCell::new(first.map(|b| vec![(0, Some(b))]).unwrap_or_default()),
        };
        let phys = unwind::unwind(
            &self.pcln,
            self.arch(),
            start,
            &stack,
            g.stack_hi,
            &|f| self.injected(f),
            MAX_FRAMES,
        )?;
        if phys.is_empty() {
            return Err(format!("no frame at pc {:#x}", start.pc));
        }
        Ok(phys.iter().flat_map(|pf| self.symbolize(pf)).collect())
    }
}

/// Where a goroutine's unwinding starts (`sched`, or `syscallsp/pc` in a system call),
/// checked against its stack bounds.
fn stack_start(g: &RawG) -> Result<Start, String> {
    if g.status == status::COPYSTACK {
        return Err("its stack is being moved".into());
    }
    if g.sched_g != g.addr {
        return Err(format!("sched.g is {:#x}, not the g itself", g.sched_g));
    }
    let start = if g.syscallsp != 0 {
        Start {
            pc: g.syscallpc,
            sp: g.syscallsp,
            lr: 0,
            syscall: true,
        }
    } else {
        Start {
            pc: g.sched_pc,
            sp: g.sched_sp,
            lr: g.sched_lr,
            syscall: false,
        }
    };
    if !(g.stack_lo <= start.sp && start.sp < g.stack_hi) {
        return Err(format!(
            "sp {:#x} is outside its stack [{:#x}, {:#x})",
            start.sp, g.stack_lo, g.stack_hi
        ));
    }
    if g.stack_hi - start.sp > MAX_STACK_READ {
        return Err("the stack is larger than 1 GiB".into());
    }
    Ok(start)
}
