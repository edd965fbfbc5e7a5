//! Fuzz the goroutine reader's pure parts (src/gomem): the pclntab parser, the unwinder
//! over a stack taken from the same bytes, and the module data check. Any bytes must give
//! an answer or None — never a panic, an endless loop, or an allocation sized by a field
//! of the input (a hostile process controls all of these). See docs/fuzzing.md.
#![no_main]

use gohang::gomem::image::GoArch;
use gohang::gomem::layout::Layout;
use gohang::gomem::pclntab::{Header, Pclntab};
use gohang::gomem::unwind::{StackBytes, Start, unwind};
use libfuzzer_sys::fuzz_target;

const TEXT: u64 = 0x1000;

fuzz_target!(|data: &[u8]| {
    // The last 8 bytes pick the probe pcs; the rest is the table (and the inline trees).
    let (table, seed) = data.split_at(data.len().saturating_sub(8));
    let seed = seed.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
    let Ok(tab) = Pclntab::new(table, table, TEXT) else {
        return;
    };
    let end = tab.end_pc().unwrap_or(TEXT + 0x10000).min(TEXT + (1 << 20));
    for k in 0..16u64 {
        let pc = TEXT + (seed.rotate_left(k as u32 * 4) % (end - TEXT + 1));
        let Some(f) = tab.find_func(pc) else { continue };
        assert!(f.entry <= pc);
        let _ = tab.func_name(&f);
        let _ = tab.spdelta(&f, pc);
        let _ = tab.pcdata(&f, 2, pc);
        let _ = tab.logical_frames(&f, pc);
    }
    for i in 0..tab.header.nfunc.min(64) {
        let _ = tab.func_by_index(i);
    }
    // Unwind a "stack" made of the input, both architectures.
    let stack = StackBytes {
        base: 0x10_0000,
        bytes: table,
    };
    let hi = 0x10_0000 + table.len() as u64;
    for arch in [GoArch::Amd64, GoArch::Arm64] {
        let start = Start {
            pc: TEXT + seed % 0x100,
            sp: 0x10_0000,
            lr: seed >> 32,
            syscall: seed & 1 == 1,
        };
        if let Ok(frames) = unwind(&tab, arch, start, &stack, hi, &|_| false, 4096) {
            assert!(frames.len() <= 4096);
            for f in &frames {
                assert!(f.fp <= hi);
            }
        }
    }
    // The module data check on the same bytes, for every release's layout.
    if let Ok(h) = Header::parse(table) {
        for minor in 21..=27 {
            let l = Layout::for_minor(minor).unwrap();
            let _ = gohang::gomem::reader::validate_moduledata(table, 0, TEXT, &h, TEXT, &l);
        }
    }
});
