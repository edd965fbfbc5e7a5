//! Fuzz the binary inspector: any bytes must give an answer — a `BinaryInfo` or a
//! "not a valid …" error — never a panic, an overflow, or an allocation driven by a length
//! in the input. Also the observer's 4 KiB header reader (`binary::exe_info_from_bytes`).
//! See docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = gohang::inspect::inspect_bytes(data) {
        // What it says must hold together: slices within the file, one arch name each.
        for s in &info.slices {
            assert!(
                s.offset
                    .checked_add(s.size)
                    .is_some_and(|e| e <= data.len() as u64)
            );
        }
        let _ = info.arch_names();
        let _ = serde_json::to_string(&info);
    }
    let _ = gohang::binary::exe_info_from_bytes(&data[..data.len().min(4096)]);
});
