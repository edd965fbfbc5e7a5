//! Little-endian reads on byte slices that never panic: every Go target gohang reads
//! (amd64, arm64) is little-endian with 8-byte pointers.

/// `u32` at `off`, or None past the end.
pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// `i32` at `off`, or None past the end.
pub fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    u32_at(b, off).map(|v| v as i32)
}

/// `u64` at `off`, or None past the end.
pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// `u8` at `off`, or None past the end.
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// The NUL-terminated string at `off` (at most `max` bytes; lossy UTF-8), or None when it
/// starts past the end or has no terminator within `max` bytes or the slice.
pub fn cstr_at(b: &[u8], off: usize, max: usize) -> Option<String> {
    let rest = b.get(off..)?;
    let rest = &rest[..rest.len().min(max)];
    let end = rest.iter().position(|&c| c == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stay_inside() {
        let b = [1u8, 0, 0, 0, 2, 0, 0, 0, b'h', b'i', 0];
        assert_eq!(u32_at(&b, 0), Some(1));
        assert_eq!(u64_at(&b, 0), Some(0x2_0000_0001));
        assert_eq!(u32_at(&b, 8), None);
        assert_eq!(u32_at(&b, usize::MAX - 1), None);
        assert_eq!(cstr_at(&b, 8, 100).as_deref(), Some("hi"));
        assert_eq!(cstr_at(&b, 8, 2), None);
        assert_eq!(cstr_at(&b, 11, 2), None);
    }
}
