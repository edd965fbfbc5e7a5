//! Mach absolute-time ticks → nanoseconds, for the task-level CPU totals of
//! `proc_taskinfo` (`pti_total_user`, `pti_total_system`: `recount_times_mach` in xnu
//! `osfmk/kern/bsd_kern.c` `fill_taskprocinfo`).
//!
//! The tick rate is the kernel's: 24 MHz on Apple Silicon (125/3 ns a tick), 1 GHz on Intel
//! (1/1). `mach_timebase_info` gives it to a native caller. A caller translated by Rosetta 2
//! is told the Intel ratio 1/1 (its `mach_absolute_time` is rescaled to nanoseconds for it),
//! but the kernel still counts other processes' CPU time in Apple Silicon ticks: converted
//! with 1/1, CPU would be under-counted 41.7 times and a spinning `go` would look idle
//! (reported as htop-dev/htop#765, Apple FB9546856; psutil fixed it the same way in
//! giampaolo/psutil#2728). So a translated gohang converts with `hw.tbfrequency` (xnu
//! `bsd/kern/kern_mib.c` `sysctl_tbfrequency`: the timebase frequency in Hz, a 64-bit
//! value, read from the kernel without translation), and without it falls back to the
//! per-thread times, which libproc gives in nanoseconds.

/// How task-level CPU ticks become nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickRate {
    /// `ns = ticks × numer / denom`.
    Ratio { numer: u64, denom: u64 },
    /// The tick rate is not known: use the sum of the threads' nanosecond times instead
    /// (which leaves out threads that have exited).
    Unknown,
}

impl TickRate {
    /// Choose the conversion. `mach_timebase` is what `mach_timebase_info` answered,
    /// `translated` whether gohang itself runs under Rosetta 2 (`sysctl.proc_translated`),
    /// `tb_frequency` the `hw.tbfrequency` sysctl.
    pub fn choose(
        mach_timebase: Option<(u32, u32)>,
        translated: bool,
        tb_frequency: Option<u64>,
    ) -> TickRate {
        if translated {
            return match tb_frequency {
                Some(hz) if hz > 0 => TickRate::Ratio {
                    numer: 1_000_000_000,
                    denom: hz,
                },
                _ => TickRate::Unknown,
            };
        }
        match mach_timebase {
            Some((n, d)) if n > 0 && d > 0 => TickRate::Ratio {
                numer: n as u64,
                denom: d as u64,
            },
            _ => TickRate::Unknown,
        }
    }

    /// `ticks` in milliseconds; None when the rate is unknown.
    pub fn ticks_to_ms(self, ticks: u64) -> Option<u64> {
        match self {
            TickRate::Ratio { numer, denom } => {
                Some((ticks as u128 * numer as u128 / denom as u128 / 1_000_000) as u64)
            }
            TickRate::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One second of CPU on Apple Silicon is 24 000 000 ticks.
    const APPLE_SILICON_SECOND: u64 = 24_000_000;

    #[test]
    fn native_apple_silicon_uses_mach_timebase() {
        let r = TickRate::choose(Some((125, 3)), false, Some(24_000_000));
        assert_eq!(r.ticks_to_ms(APPLE_SILICON_SECOND), Some(1000));
    }

    #[test]
    fn native_intel_is_one_to_one() {
        let r = TickRate::choose(Some((1, 1)), false, Some(1_000_000_000));
        assert_eq!(r.ticks_to_ms(1_500_000_000), Some(1500));
    }

    #[test]
    fn translated_gohang_uses_the_hardware_frequency_not_the_intel_timebase() {
        // Under Rosetta mach_timebase_info answers 1/1; with it, one second of CPU on
        // Apple Silicon would read as 24 ms (41.7x too little).
        let r = TickRate::choose(Some((1, 1)), true, Some(24_000_000));
        assert_eq!(r.ticks_to_ms(APPLE_SILICON_SECOND), Some(1000));
        // Without hw.tbfrequency the ticks cannot be trusted: the thread times are used.
        assert_eq!(
            TickRate::choose(Some((1, 1)), true, None),
            TickRate::Unknown
        );
        assert_eq!(
            TickRate::choose(Some((1, 1)), true, Some(0)),
            TickRate::Unknown
        );
    }

    #[test]
    fn a_broken_timebase_is_unknown() {
        assert_eq!(TickRate::choose(None, false, None), TickRate::Unknown);
        assert_eq!(
            TickRate::choose(Some((1, 0)), false, None),
            TickRate::Unknown
        );
        assert_eq!(TickRate::Unknown.ticks_to_ms(5), None);
        // No overflow for a process with years of CPU.
        let r = TickRate::choose(Some((125, 3)), false, None);
        assert_eq!(r.ticks_to_ms(u64::MAX), Some(768_614_336_404_564));
    }
}
