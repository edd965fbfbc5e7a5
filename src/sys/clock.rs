//! The one clock: the system time as seconds since the epoch, and the ways gohang writes
//! it: RFC 3339 (`2026-11-25T22:15:00Z`, in manifests), a compact stamp for archive names
//! (`20261125T221500Z`) and a log stamp for log and trace file names (`20250110-164459`).
//! All in UTC; the calendar is proleptic Gregorian (H. Hinnant's `civil_from_days`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since 1970-01-01 UTC; 0 when the clock is set before the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A UTC time as civil date and time fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// The civil time `secs` seconds after the epoch.
    pub fn from_unix(secs: u64) -> Civil {
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }
}

/// Days since 1970-01-01 to (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-11-25T22:15:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `20261125T221500Z`: RFC 3339's basic form, for file names.
pub fn compact_stamp(secs: u64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `20250110-164459`: the stamp in log and trace file names.
pub fn log_stamp(secs: u64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// [`log_stamp`] of now.
pub fn utc_stamp() -> String {
    log_stamp(now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_098), (2025, 1, 10));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn stamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(compact_stamp(1_795_644_900), "20261125T221500Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(log_stamp(1_736_527_499), "20250110-164459");
        assert_eq!(utc_stamp().len(), 15);
    }
}
