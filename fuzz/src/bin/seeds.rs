//! Write a seed corpus for the `inspect` fuzz target: small, valid binaries that reach
//! every part of the inspector (ELF 32/64, both byte orders, section table, build info in
//! both formats; thin Mach-O with LC_BUILD_VERSION, LC_CODE_SIGNATURE and a CodeDirectory;
//! universal binaries with FAT_MAGIC and FAT_MAGIC_64). Real Go binaries are megabytes of
//! code the inspector never reads; mutations are better spent on these few KiB.
//!
//! Usage (from `fuzz/`): `cargo run --bin seeds -- corpus/inspect [corpus/pclntab]`; the
//! second directory gets seeds for the `pclntab` target.

use std::path::PathBuf;

const MAGIC: &[u8] = b"\xff Go buildinf:";

fn uvarint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A Go ≥ 1.18 build-info blob with its strings inline.
fn inline_blob(ptr_size: u8, big: bool, goos: &str, goarch: &str) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.push(ptr_size);
    b.push(2 | big as u8);
    b.resize(32, 0);
    let version = "go1.23.5";
    let modinfo = format!(
        "0w\u{af}\u{c}\u{92}t\u{8}\u{2}A\u{e1}\u{c1}\u{7}\u{e6}\u{d6}\u{18}\u{e6}path\texample.com/seed\nmod\texample.com/seed\t(devel)\t\nbuild\tGOOS={goos}\nbuild\tGOARCH={goarch}\n\u{f9}2C1\u{86}\u{18} r\u{0}\u{82}B\u{10}A\u{16}\u{d8}\u{f2}"
    );
    for s in [version.as_bytes(), modinfo.as_bytes()] {
        uvarint(s.len(), &mut b);
        b.extend_from_slice(s);
    }
    while b.len() % 16 != 0 {
        b.push(0);
    }
    b
}

struct W {
    b: Vec<u8>,
    big: bool,
}

impl W {
    fn u16(&mut self, v: u16) {
        let x = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend_from_slice(&x);
    }
    fn u32(&mut self, v: u32) {
        let x = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend_from_slice(&x);
    }
    fn u64(&mut self, v: u64) {
        let x = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b.extend_from_slice(&x);
    }
    /// An address-sized field.
    fn addr(&mut self, is64: bool, v: u64) {
        if is64 {
            self.u64(v)
        } else {
            self.u32(v as u32)
        }
    }
    fn pad_to(&mut self, n: usize) {
        self.b.resize(n, 0);
    }
}

/// An ELF executable with one PT_LOAD data segment holding `.go.buildinfo`. With
/// `pointers`, the blob uses the Go < 1.18 layout: two addresses of string headers.
fn elf(is64: bool, big: bool, machine: u16, pointers: bool) -> Vec<u8> {
    let (ehsize, phsize, shsize) = if is64 { (64, 56, 64) } else { (52, 32, 40) };
    let data_off = 0x100usize;
    let vaddr = 0x10000u64 + data_off as u64;
    let ptr = if is64 { 8 } else { 4 };
    let data = if pointers {
        // Header with two pointers, then the two string headers, then the bytes.
        let mut d = W {
            b: MAGIC.to_vec(),
            big,
        };
        d.b.push(ptr as u8);
        d.b.push(big as u8);
        let hdrs = vaddr + 32;
        d.addr(is64, hdrs);
        d.addr(is64, hdrs + 2 * ptr as u64);
        d.pad_to(32);
        let strings = hdrs + 4 * ptr as u64;
        d.addr(is64, strings);
        d.addr(is64, 8);
        d.addr(is64, strings + 8);
        d.addr(is64, 0);
        d.b.extend_from_slice(b"go1.17.3");
        d.b
    } else {
        inline_blob(ptr as u8, big, "linux", if is64 { "arm64" } else { "386" })
    };
    let names = b"\0.go.buildinfo\0.shstrtab\0";
    let names_off = data_off + data.len();
    let sh_off = (names_off + names.len()).div_ceil(8) * 8;

    let mut w = W { b: Vec::new(), big };
    w.b.extend_from_slice(b"\x7fELF");
    w.b.push(if is64 { 2 } else { 1 });
    w.b.push(if big { 2 } else { 1 });
    w.b.push(1);
    w.pad_to(16);
    w.u16(2); // ET_EXEC
    w.u16(machine);
    w.u32(1);
    w.addr(is64, 0x10000);
    w.addr(is64, ehsize as u64); // phoff
    w.addr(is64, sh_off as u64);
    w.u32(0);
    w.u16(ehsize);
    w.u16(phsize);
    w.u16(1);
    w.u16(shsize);
    w.u16(3);
    w.u16(2);
    // PT_LOAD, read-write
    w.u32(1);
    if is64 {
        w.u32(6);
        w.u64(data_off as u64);
        w.u64(vaddr);
        w.u64(vaddr);
        w.u64(data.len() as u64);
        w.u64(data.len() as u64);
        w.u64(0x1000);
    } else {
        w.u32(data_off as u32);
        w.u32(vaddr as u32);
        w.u32(vaddr as u32);
        w.u32(data.len() as u32);
        w.u32(data.len() as u32);
        w.u32(6);
        w.u32(0x1000);
    }
    w.pad_to(data_off);
    w.b.extend_from_slice(&data);
    w.b.extend_from_slice(names);
    w.pad_to(sh_off);
    let section = |w: &mut W, name: u32, kind: u32, flags: u64, addr: u64, off: u64, size: u64| {
        w.u32(name);
        w.u32(kind);
        w.addr(is64, flags);
        w.addr(is64, addr);
        w.addr(is64, off);
        w.addr(is64, size);
        w.u32(0);
        w.u32(0);
        w.addr(is64, 16);
        w.addr(is64, 0);
    };
    section(&mut w, 0, 0, 0, 0, 0, 0);
    section(&mut w, 1, 1, 3, vaddr, data_off as u64, data.len() as u64);
    section(&mut w, 15, 3, 0, 0, names_off as u64, names.len() as u64);
    w.b
}

fn name16(s: &str) -> [u8; 16] {
    let mut n = [0u8; 16];
    n[..s.len()].copy_from_slice(s.as_bytes());
    n
}

/// A thin 64-bit little-endian Mach-O with a __DATA,__go_buildinfo section, a build
/// version and an ad-hoc, linker-signed code signature.
fn macho(cputype: u32, cpusubtype: u32, goarch: &str) -> Vec<u8> {
    let data = inline_blob(8, false, "darwin", goarch);
    let data_off = 0x200u32;
    let sig_off = data_off + data.len() as u32;
    // SuperBlob (big-endian): one index entry for the CodeDirectory.
    let mut sig = Vec::new();
    for v in [0xfade_0cc0u32, 20 + 44, 1, 0, 20] {
        sig.extend_from_slice(&v.to_be_bytes());
    }
    for v in [0xfade_0c02u32, 44, 0x0002_0400, 0x0002_0002] {
        sig.extend_from_slice(&v.to_be_bytes());
    }
    sig.resize(20 + 44, 0);
    let sizeofcmds = (72 + 80) + 24 + 16;
    let mut w = W {
        b: Vec::new(),
        big: false,
    };
    for v in [0xfeed_facfu32, cputype, cpusubtype, 2, 3, sizeofcmds, 0, 0] {
        w.u32(v);
    }
    w.u32(0x19);
    w.u32(72 + 80);
    w.b.extend_from_slice(&name16("__DATA"));
    w.u64(0x1000);
    w.u64(0x1000);
    w.u64(data_off as u64);
    w.u64(data.len() as u64);
    w.u32(3);
    w.u32(3);
    w.u32(1);
    w.u32(0);
    w.b.extend_from_slice(&name16("__go_buildinfo"));
    w.b.extend_from_slice(&name16("__DATA"));
    w.u64(0x1000);
    w.u64(data.len() as u64);
    for v in [data_off, 4, 0, 0, 0, 0, 0, 0] {
        w.u32(v);
    }
    for v in [0x32u32, 24, 1, 0x000b_0000, 0x000e_0000, 0] {
        w.u32(v);
    }
    for v in [0x1du32, 16, sig_off, sig.len() as u32] {
        w.u32(v);
    }
    w.pad_to(data_off as usize);
    w.b.extend_from_slice(&data);
    w.b.extend_from_slice(&sig);
    w.b
}

fn fat(slices: &[Vec<u8>], magic64: bool) -> Vec<u8> {
    let entry = if magic64 { 32 } else { 20 };
    let mut at = (8 + entry * slices.len()).div_ceil(0x1000) * 0x1000;
    let mut out = Vec::new();
    out.extend_from_slice(&(if magic64 { 0xcafe_babfu32 } else { 0xcafe_babe }).to_be_bytes());
    out.extend_from_slice(&(slices.len() as u32).to_be_bytes());
    let mut offsets = Vec::new();
    for s in slices {
        offsets.push(at);
        out.extend_from_slice(&s[4..8].iter().rev().copied().collect::<Vec<_>>());
        out.extend_from_slice(&s[8..12].iter().rev().copied().collect::<Vec<_>>());
        if magic64 {
            out.extend_from_slice(&(at as u64).to_be_bytes());
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(&12u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        } else {
            out.extend_from_slice(&(at as u32).to_be_bytes());
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(&12u32.to_be_bytes());
        }
        at = (at + s.len()).div_ceil(0x1000) * 0x1000;
    }
    for (s, off) in slices.iter().zip(offsets) {
        out.resize(off, 0);
        out.extend_from_slice(s);
    }
    out
}

/// A small pclntab for the `pclntab` target: two functions (one with a frame, PCDATA and
/// an inline tree; one a top frame), a file table and a name table; the inline tree sits
/// in the same bytes (the target passes them as `gofunc` too), and 8 bytes of probe seed.
fn pclntab_seed(min_lc: u8) -> Vec<u8> {
    let mut names = b"main.f\0main.g\0main.inl\0".to_vec();
    let cutab = 0u32.to_le_bytes().to_vec();
    let files = b"/src/main.go\0".to_vec();
    // pc-value tables: (zigzag value delta, pc delta) pairs, 0-terminated.
    let pcsp = [2u8, 0x10, 16, 0x20, 0];
    let pcfile = [2u8, 0x30, 0];
    let pcln = [22u8, 0x30, 0];
    let pcinl = [0u8, 0x08, 2, 0x28, 0];
    let mut pctab = vec![0u8];
    let mut put = |t: &[u8]| {
        let at = pctab.len() as u32;
        pctab.extend_from_slice(t);
        at
    };
    let (sp, file, line, inl) = (put(&pcsp), put(&pcfile), put(&pcln), put(&pcinl));
    let hdr = 72usize;
    let name_off = hdr;
    let cu_off = name_off + names.len();
    let file_off = cu_off + cutab.len();
    let pctab_off = file_off + files.len();
    let pcln_off = (pctab_off + pctab.len()).next_multiple_of(8);
    let func = |entry: u32, name: i32, flag: u8, npcdata: u32, nfuncdata: u8| {
        let mut f = Vec::new();
        for v in [entry, name as u32, 0, 0, sp, file, line, npcdata, 0, 9] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&[0, flag, 0, nfuncdata]);
        f
    };
    let mut f1 = func(0, 0, 0, 3, 4);
    for v in [0u32, 0, inl, u32::MAX, u32::MAX, u32::MAX] {
        f1.extend_from_slice(&v.to_le_bytes());
    }
    let f2 = func(0x30, 7, 1, 0, 0);
    let ftab_len = 3 * 8;
    let f1_off = ftab_len as u32;
    let f2_off = f1_off + f1.len() as u32 + 4; // inline-tree offset follows f1
    let tree_off = pcln_off + f2_off as usize + f2.len();
    let mut pclntable = Vec::new();
    for (e, o) in [(0u32, f1_off), (0x30, f2_off), (0x60, 0)] {
        pclntable.extend_from_slice(&e.to_le_bytes());
        pclntable.extend_from_slice(&o.to_le_bytes());
    }
    pclntable.extend_from_slice(&f1);
    pclntable.extend_from_slice(&(tree_off as u32).to_le_bytes());
    pclntable.extend_from_slice(&f2);
    // inlinedCall {funcID, pad, nameOff, parentPc, startLine}
    pclntable.extend_from_slice(&[0, 0, 0, 0]);
    for v in [14i32, 4, 5] {
        pclntable.extend_from_slice(&v.to_le_bytes());
    }
    let mut b = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, min_lc, 8];
    for v in [
        2u64,
        1,
        0x1000,
        name_off as u64,
        cu_off as u64,
        file_off as u64,
        pctab_off as u64,
        pcln_off as u64,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.append(&mut names);
    b.extend_from_slice(&cutab);
    b.extend_from_slice(&files);
    b.extend_from_slice(&pctab);
    b.resize(pcln_off, 0);
    b.extend_from_slice(&pclntable);
    b.extend_from_slice(&0x0123_4567_89ab_cdefu64.to_be_bytes());
    b
}

fn main() {
    if let Some(dir) = std::env::args().nth(2) {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("creating the corpus directory");
        for (name, min_lc) in [("pclntab-amd64", 1u8), ("pclntab-arm64", 4)] {
            let b = pclntab_seed(min_lc);
            let (table, _) = b.split_at(b.len() - 8);
            let tab = gohang::gomem::pclntab::Pclntab::new(table, table, 0x1000)
                .expect("the seed pclntab parses");
            let pc = 0x1000 + 0x0a * u64::from(min_lc);
            let f = tab.find_func(pc).expect("main.f");
            let frames = tab.logical_frames(&f, pc);
            assert_eq!(frames.len(), 2, "the inline tree resolves");
            println!("{name}: {} bytes, {frames:?}", b.len());
            std::fs::write(dir.join(name), b).expect("writing a seed");
        }
    }
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "corpus/inspect".into()),
    );
    std::fs::create_dir_all(&dir).expect("creating the corpus directory");
    let x86 = macho(0x0100_0007, 3, "amd64");
    let arm = macho(0x0100_000c, 0, "arm64");
    let arm64e = macho(0x0100_000c, 0x8000_0002, "arm64");
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("elf64-le-inline", elf(true, false, 183, false)),
        ("elf64-be-inline", elf(true, true, 22, false)),
        ("elf32-le-inline", elf(false, false, 3, false)),
        ("elf64-le-pointers", elf(true, false, 62, true)),
        ("elf32-be-pointers", elf(false, true, 8, true)),
        ("macho-x86_64", x86.clone()),
        ("macho-arm64", arm.clone()),
        ("macho-arm64e", arm64e.clone()),
        ("fat", fat(&[x86.clone(), arm.clone()], false)),
        ("fat64", fat(&[x86, arm, arm64e], true)),
        ("script", b"#!/bin/sh\nexec go \"$@\"\n".to_vec()),
    ];
    for (name, bytes) in seeds {
        let info = gohang::inspect::inspect_bytes(&bytes);
        println!(
            "{name}: {} bytes, {}",
            bytes.len(),
            match &info {
                Ok(i) => format!(
                    "{} {} {:?}",
                    i.format,
                    i.arch_names(),
                    i.go().map(|g| &g.version)
                ),
                Err(e) => e.to_string(),
            }
        );
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
    }
}
