//! Go's pclntab (runtime symbol table, magic 0xfffffff1, Go 1.20–1.27), parsed on byte
//! slices: the function table, names, pc-value tables (frame size, file, line, PCDATA),
//! file tables and inline trees. No I/O: the caller hands over the bytes, and every input
//! (a corrupt file, a hostile process) gives an answer or None, never a panic, a loop
//! without bound or an allocation sized by a field of the input.
//!
//! Layout (cmd/link/internal/ld/pcln.go, runtime/symtab.go): a 72-byte `pcHeader`, then
//! funcnametab, cutab, filetab, pctab and pclntable at offsets the header gives. pclntable
//! starts with the function table (`nfunc+1` pairs {entry offset from text, offset of the
//! `_func`}); each `_func` is 44 bytes followed by its PCDATA table offsets (into pctab)
//! and FUNCDATA offsets (from `moduledata.gofunc`). Go 1.26 stopped filling in the header's
//! `textStart`: the text address comes from the module data, so the caller passes it.

use super::le::{cstr_at, i32_at, u8_at, u32_at, u64_at};

/// `Go120PCLnTabMagic`; 1.26 and 1.27 keep it (internal/abi/symtab.go).
pub const MAGIC: u32 = 0xffff_fff1;
pub const HEADER_LEN: usize = 72;
const FUNC_LEN: usize = 44;
/// Longest name or path read: Go's longest generic instantiations are a few KiB.
const MAX_STR: usize = 64 * 1024;
/// The runtime's own bound on inline depth is the inline tree's size; nothing real is
/// nested anywhere near this deep.
const MAX_INLINE_DEPTH: usize = 1024;

/// PCDATA and FUNCDATA indexes (internal/abi/symtab.go, unchanged 1.21–1.27).
pub const PCDATA_INL_TREE_INDEX: u32 = 2;
pub const FUNCDATA_INL_TREE: u32 = 3;
/// `_func.flag` bits (internal/abi/symtab.go `FuncFlag`, unchanged 1.21–1.27).
pub const FLAG_TOP_FRAME: u8 = 1;
pub const FLAG_SP_WRITE: u8 = 2;

/// What is wrong with a pclntab header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PclntabError {
    #[error("the symbol table is cut short ({0} bytes)")]
    TooShort(usize),
    #[error("the symbol table has magic {0:#x}, not Go 1.20+'s 0xfffffff1")]
    BadMagic(u32),
    #[error("the symbol table header is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// The fixed part of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Instruction size quantum: 1 on amd64, 4 on arm64 (also the `PCQuantum`).
    pub min_lc: u8,
    pub ptr_size: u8,
    pub nfunc: usize,
    pub nfiles: usize,
    /// The text address the linker wrote (0 in Go 1.26+; relocated in PIE binaries).
    pub text_start: u64,
    pub funcname_off: usize,
    pub cu_off: usize,
    pub filetab_off: usize,
    pub pctab_off: usize,
    pub pcln_off: usize,
}

impl Header {
    pub fn parse(data: &[u8]) -> Result<Header, PclntabError> {
        if data.len() < HEADER_LEN {
            return Err(PclntabError::TooShort(data.len()));
        }
        let magic = u32_at(data, 0).unwrap_or(0);
        if magic != MAGIC {
            return Err(PclntabError::BadMagic(magic));
        }
        if data[4] != 0 || data[5] != 0 {
            return Err(PclntabError::Inconsistent("padding is not zero"));
        }
        let min_lc = data[6];
        let ptr_size = data[7];
        if !matches!(min_lc, 1 | 2 | 4) {
            return Err(PclntabError::Inconsistent(
                "instruction size is not 1, 2 or 4",
            ));
        }
        if ptr_size != 8 {
            return Err(PclntabError::Inconsistent("pointers are not 8 bytes"));
        }
        let word = |off| u64_at(data, off).unwrap_or(u64::MAX);
        let small = |v: u64| usize::try_from(v).ok().filter(|&v| v < data.len());
        let h = Header {
            min_lc,
            ptr_size,
            nfunc: usize::try_from(word(8)).unwrap_or(usize::MAX),
            nfiles: usize::try_from(word(16)).unwrap_or(usize::MAX),
            text_start: word(24),
            funcname_off: small(word(32)).ok_or(PclntabError::Inconsistent("name table"))?,
            cu_off: small(word(40)).ok_or(PclntabError::Inconsistent("compilation units"))?,
            filetab_off: small(word(48)).ok_or(PclntabError::Inconsistent("file table"))?,
            pctab_off: small(word(56)).ok_or(PclntabError::Inconsistent("pc tables"))?,
            pcln_off: small(word(64)).ok_or(PclntabError::Inconsistent("function table"))?,
        };
        // The function table: nfunc+1 pairs of u32 must fit.
        let ftab_len = h
            .nfunc
            .checked_add(1)
            .and_then(|n| n.checked_mul(8))
            .ok_or(PclntabError::Inconsistent("function count"))?;
        if h.pcln_off
            .checked_add(ftab_len)
            .is_none_or(|e| e > data.len())
        {
            return Err(PclntabError::Inconsistent(
                "function count exceeds the table",
            ));
        }
        Ok(h)
    }
}

/// A function's `_func` record, found by [`Pclntab::find_func`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    /// Runtime address of the first instruction.
    pub entry: u64,
    /// Offset of the record in pclntable.
    off: usize,
    pub name_off: i32,
    pub pcsp: u32,
    pub pcfile: u32,
    pub pcln: u32,
    pub npcdata: u32,
    pub cu_offset: u32,
    pub func_id: u8,
    pub flag: u8,
    pub nfuncdata: u8,
}

/// One entry of an inline tree (`runtime.inlinedCall`, 16 bytes, 1.21–1.27).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlinedCall {
    pub func_id: u8,
    pub name_off: i32,
    pub parent_pc: i32,
}

/// A parsed pclntab over borrowed bytes.
#[derive(Debug, Clone, Copy)]
pub struct Pclntab<'a> {
    pub header: Header,
    data: &'a [u8],
    /// `moduledata.gofunc` onwards (FUNCDATA, inline trees): inside `data` in 1.26+,
    /// in .rodata before.
    gofunc: &'a [u8],
    /// Runtime address of the text segment (`moduledata.text`).
    text: u64,
}

impl<'a> Pclntab<'a> {
    /// `data`: from the header to (at most) the end of the table's section or segment;
    /// `gofunc`: from `moduledata.gofunc` to the end of its segment (may be empty: then
    /// inline trees are not resolved); `text`: `moduledata.text` as the process sees it.
    pub fn new(data: &'a [u8], gofunc: &'a [u8], text: u64) -> Result<Pclntab<'a>, PclntabError> {
        let header = Header::parse(data)?;
        Ok(Pclntab {
            header,
            data,
            gofunc,
            text,
        })
    }

    pub fn text(&self) -> u64 {
        self.text
    }

    /// The PC quantum: 1 on amd64, 4 on arm64.
    pub fn pc_quantum(&self) -> u64 {
        u64::from(self.header.min_lc)
    }

    fn ftab(&self, i: usize) -> Option<(u32, u32)> {
        let at = self.header.pcln_off.checked_add(i.checked_mul(8)?)?;
        Some((u32_at(self.data, at)?, u32_at(self.data, at + 4)?))
    }

    /// The address just past the last function (the function table's end sentinel).
    pub fn end_pc(&self) -> Option<u64> {
        let (end, _) = self.ftab(self.header.nfunc)?;
        self.text.checked_add(u64::from(end))
    }

    /// The function containing `pc`, as the runtime's `findfunc` (binary search instead
    /// of `findfunctab`'s buckets; same answer).
    pub fn find_func(&self, pc: u64) -> Option<Func> {
        let rel = u32::try_from(pc.checked_sub(self.text)?).ok()?;
        let n = self.header.nfunc;
        if n == 0 {
            return None;
        }
        let (first, _) = self.ftab(0)?;
        let (end, _) = self.ftab(n)?;
        if rel < first || rel >= end {
            return None;
        }
        // Last i in [0, n) with entry(i) <= rel.
        let (mut lo, mut hi) = (0usize, n);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.ftab(mid)?.0 <= rel {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (entry_off, func_off) = self.ftab(lo)?;
        let f = self.func_at(func_off as usize)?;
        // The record must describe the entry the table pointed at.
        if f.entry != self.text + u64::from(entry_off) {
            return None;
        }
        Some(f)
    }

    /// The i-th function of the table (0 ≤ i < nfunc), for walks over every function.
    pub fn func_by_index(&self, i: usize) -> Option<Func> {
        if i >= self.header.nfunc {
            return None;
        }
        let (_, func_off) = self.ftab(i)?;
        self.func_at(func_off as usize)
    }

    fn func_at(&self, func_off: usize) -> Option<Func> {
        let at = self.header.pcln_off.checked_add(func_off)?;
        let rec = self.data.get(at..at.checked_add(FUNC_LEN)?)?;
        Some(Func {
            entry: self.text.checked_add(u64::from(u32_at(rec, 0)?))?,
            off: at,
            name_off: i32_at(rec, 4)?,
            pcsp: u32_at(rec, 16)?,
            pcfile: u32_at(rec, 20)?,
            pcln: u32_at(rec, 24)?,
            npcdata: u32_at(rec, 28)?,
            cu_offset: u32_at(rec, 32)?,
            func_id: u8_at(rec, 40)?,
            flag: u8_at(rec, 41)?,
            nfuncdata: u8_at(rec, 43)?,
        })
    }

    /// A name in funcnametab (as linked: `main.(*T[go.shape.int]).M`).
    pub fn name_at(&self, name_off: i32) -> Option<String> {
        let off = usize::try_from(name_off).ok()?;
        cstr_at(
            self.data,
            self.header.funcname_off.checked_add(off)?,
            MAX_STR,
        )
    }

    pub fn func_name(&self, f: &Func) -> Option<String> {
        self.name_at(f.name_off)
    }

    /// The value a pc-value table gives at `target` (runtime `pcvalue`); None when the
    /// table does not cover it or is malformed.
    pub fn pcvalue(&self, f: &Func, table: u32, target: u64) -> Option<i32> {
        if table == 0 {
            return None;
        }
        let start = self.header.pctab_off.checked_add(table as usize)?;
        let mut p = self.data.get(start..)?;
        let quantum = self.pc_quantum();
        let mut pc = f.entry;
        let mut val: i32 = -1;
        // Each step consumes at least two bytes, so this ends with the slice.
        loop {
            let first = pc == f.entry;
            let (uv, n) = varint(p)?;
            if uv == 0 && !first {
                return None;
            }
            p = &p[n..];
            val = val.wrapping_add(((uv >> 1) as i32) ^ (-((uv & 1) as i32)));
            let (pcd, n) = varint(p)?;
            p = &p[n..];
            pc = pc.checked_add(u64::from(pcd).checked_mul(quantum)?)?;
            if target < pc {
                return Some(val);
            }
        }
    }

    /// The SP offset at `pc` (runtime `funcspdelta`).
    pub fn spdelta(&self, f: &Func, pc: u64) -> Option<i32> {
        self.pcvalue(f, f.pcsp, pc)
    }

    /// PCDATA table `idx` at `pc`; -1 when the function has none, as the runtime says.
    pub fn pcdata(&self, f: &Func, idx: u32, pc: u64) -> i32 {
        if idx >= f.npcdata {
            return -1;
        }
        let Some(off) = f.off.checked_add(FUNC_LEN + 4 * idx as usize) else {
            return -1;
        };
        match u32_at(self.data, off) {
            Some(0) | None => -1,
            Some(table) => self.pcvalue(f, table, pc).unwrap_or(-1),
        }
    }

    /// Offset of FUNCDATA `idx` from gofunc, when the function has it.
    fn funcdata(&self, f: &Func, idx: u32) -> Option<usize> {
        if idx >= u32::from(f.nfuncdata) {
            return None;
        }
        let at = f
            .off
            .checked_add(FUNC_LEN)?
            .checked_add(4 * f.npcdata as usize)?
            .checked_add(4 * idx as usize)?;
        match u32_at(self.data, at)? {
            u32::MAX => None,
            off => Some(off as usize),
        }
    }

    /// Entry `idx` of the function's inline tree.
    pub fn inlined_call(&self, f: &Func, idx: i32) -> Option<InlinedCall> {
        let tree = self.funcdata(f, FUNCDATA_INL_TREE)?;
        let at = tree.checked_add(usize::try_from(idx).ok()?.checked_mul(16)?)?;
        Some(InlinedCall {
            func_id: u8_at(self.gofunc, at)?,
            name_off: i32_at(self.gofunc, at + 4)?,
            parent_pc: i32_at(self.gofunc, at + 8)?,
        })
    }

    /// File and line at `pc` as the runtime's `funcline1` gives them: ("?", 0) when unknown.
    pub fn file_line(&self, f: &Func, pc: u64) -> (String, i64) {
        let unknown = || ("?".to_string(), 0);
        let (Some(fileno), Some(line)) =
            (self.pcvalue(f, f.pcfile, pc), self.pcvalue(f, f.pcln, pc))
        else {
            return unknown();
        };
        if fileno < 0 || line < 0 {
            return unknown();
        }
        match self.file_name(f, fileno as u32) {
            Some(file) => (file, i64::from(line)),
            None => unknown(),
        }
    }

    fn file_name(&self, f: &Func, fileno: u32) -> Option<String> {
        let idx = (f.cu_offset as usize).checked_add(fileno as usize)?;
        let at = self.header.cu_off.checked_add(idx.checked_mul(4)?)?;
        // The cutab ends where the file table starts (the linker writes them in order).
        if at + 4 > self.header.filetab_off && self.header.cu_off < self.header.filetab_off {
            return None;
        }
        let off = u32_at(self.data, at)?;
        if off == u32::MAX {
            return Some("?".to_string());
        }
        cstr_at(
            self.data,
            self.header.filetab_off.checked_add(off as usize)?,
            MAX_STR,
        )
    }

    /// The logical frames at a physical frame, innermost first, as the runtime's
    /// `inlineUnwinder` walks them from `sym_pc` (the pc used for symbolization):
    /// (name, file, line, inlined).
    pub fn logical_frames(&self, f: &Func, sym_pc: u64) -> Vec<LogicalFrame> {
        let mut out = Vec::new();
        let mut pc = sym_pc;
        let has_tree = self.funcdata(f, FUNCDATA_INL_TREE).is_some();
        let mut idx = if has_tree {
            self.pcdata(f, PCDATA_INL_TREE_INDEX, pc)
        } else {
            -1
        };
        while idx >= 0 && out.len() < MAX_INLINE_DEPTH {
            let Some(call) = self.inlined_call(f, idx) else {
                break;
            };
            let (file, line) = self.file_line(f, pc);
            out.push(LogicalFrame {
                name: self
                    .name_at(call.name_off)
                    .unwrap_or_else(|| "?".to_string()),
                file,
                line,
                inlined: true,
            });
            let Some(next) = f.entry.checked_add_signed(i64::from(call.parent_pc)) else {
                break;
            };
            pc = next;
            idx = self.pcdata(f, PCDATA_INL_TREE_INDEX, pc);
        }
        let (file, line) = self.file_line(f, pc);
        out.push(LogicalFrame {
            name: self.func_name(f).unwrap_or_else(|| "?".to_string()),
            file,
            line,
            inlined: false,
        });
        out
    }

    /// The first function whose linked name is `name` (a walk over the table).
    pub fn func_by_name(&self, name: &str) -> Option<Func> {
        (0..self.header.nfunc)
            .filter_map(|i| self.func_by_index(i))
            .find(|f| self.name_at(f.name_off).as_deref() == Some(name))
    }
}

/// One source-level frame of a physical frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalFrame {
    pub name: String,
    pub file: String,
    pub line: i64,
    pub inlined: bool,
}

/// An unsigned LEB128 varint of at most 5 bytes (a u32), and its length.
fn varint(p: &[u8]) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for (i, &b) in p.iter().take(5).enumerate() {
        v |= u32::from(b & 0x7f) << (7 * i as u32);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The name as the runtime prints it (`printFuncName`): `runtime.gopanic` is `panic`,
/// and type arguments become `[...]`. Go ≤1.26 replaces everything from the first `[` to
/// the last `]`; 1.27 keeps a generic method's name between its two bracket groups
/// (`main.(*Box[...]).Conv[...]`) and prints a malformed name whole.
pub fn print_name(name: &str, minor: u32) -> String {
    if name == "runtime.gopanic" {
        return "panic".to_string();
    }
    let Some(i) = name.find('[') else {
        return name.to_string();
    };
    let Some(j) = name.rfind(']') else {
        return name.to_string();
    };
    if j <= i {
        return name.to_string();
    }
    let simple = format!("{}[...]{}", &name[..i], &name[j + 1..]);
    if minor < 27 {
        return simple;
    }
    let interior = &name[i + 1..j];
    if !interior.contains('[') {
        return simple;
    }
    let mut depth: i32 = 1;
    let (mut rbr, mut lbr): (Option<usize>, Option<usize>) = (None, None);
    for (k, c) in interior.char_indices() {
        if c == '[' {
            depth += 1;
            if depth != 1 {
                continue;
            }
            lbr = Some(k);
            break;
        }
        if c == ']' {
            depth -= 1;
            if depth < 0 {
                break;
            }
            if depth != 0 {
                continue;
            }
            rbr = Some(k);
        }
    }
    if depth == 1 {
        match (rbr, lbr) {
            (Some(r), Some(l)) if l > r => {
                return format!(
                    "{}[...]{}[...]{}",
                    &name[..i],
                    &interior[r + 1..l],
                    &name[j + 1..]
                );
            }
            (None, None) => return simple,
            _ => {}
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(varint(&[0x80, 0x80]), None);
        assert_eq!(varint(&[0xff; 6]), None);
    }

    #[test]
    fn names_print_like_the_runtime() {
        assert_eq!(print_name("runtime.gopanic", 23), "panic");
        assert_eq!(print_name("main.main", 23), "main.main");
        assert_eq!(
            print_name(
                "cmd/go/internal/par.(*Cache[go.shape.string,go.shape.int]).Do",
                23
            ),
            "cmd/go/internal/par.(*Cache[...]).Do"
        );
        let m = "main.(*Box[go.shape.int]).Conv[go.shape.string]";
        assert_eq!(print_name(m, 26), "main.(*Box[...]");
        assert_eq!(print_name(m, 27), "main.(*Box[...]).Conv[...]");
        assert_eq!(print_name("main.f[[]int]", 27), "main.f[...]");
        assert_eq!(print_name("a]b[c", 27), "a]b[c");
        assert_eq!(print_name("x.f[a]]b[c]", 27), "x.f[a]]b[c]");
    }

    #[test]
    fn headers_are_checked() {
        assert_eq!(Header::parse(&[0; 10]), Err(PclntabError::TooShort(10)));
        let mut h = vec![0u8; 200];
        assert!(matches!(Header::parse(&h), Err(PclntabError::BadMagic(0))));
        h[..8].copy_from_slice(&[0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8]);
        // nfunc 0, every table at 72.
        for off in [32, 40, 48, 56, 64] {
            h[off] = 72;
        }
        let p = Pclntab::new(&h, &[], 0x1000).unwrap();
        assert_eq!(p.find_func(0x1000), None);
        // An absurd function count is refused, not allocated.
        h[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Header::parse(&h).is_err());
    }
}
