//! Reading another process's memory: the one seam between gohang's goroutine reader and
//! the OS. Read-only; nothing here stops, signals or writes to the target.
//! Linux: `process_vm_readv(2)`, falling back to `pread` on /proc/PID/mem (both need
//! ptrace read access: same user and dumpable, or CAP_SYS_PTRACE, and Yama's
//! `ptrace_scope` rules). macOS: `task_for_pid` (root) and `mach_vm_read_overwrite`.

use std::fmt;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The address is not mapped (or only partly).
    Fault {
        addr: u64,
        len: usize,
    },
    /// The process is gone.
    Gone,
    /// Access refused (another user, Yama, macOS without root).
    Denied(String),
    Other(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Fault { addr, len } => write!(f, "{len} bytes at {addr:#x} are not mapped"),
            ReadError::Gone => f.write_str("the process exited"),
            ReadError::Denied(why) => f.write_str(why),
            ReadError::Other(why) => f.write_str(why),
        }
    }
}

/// Bytes of a process's address space.
pub trait Memory {
    /// Fill `buf` from `addr` or fail: a partial read is a fault.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError>;

    fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        let mut v = vec![0u8; len];
        self.read(addr, &mut v)?;
        Ok(v)
    }

    /// `len` bytes at each of `addrs` (None where a read failed), through
    /// [`Memory::read_ranges`].
    fn read_many(&self, addrs: &[u64], len: usize) -> Vec<Option<Vec<u8>>> {
        let ranges: Vec<(u64, usize)> = addrs.iter().map(|&a| (a, len)).collect();
        self.read_ranges(&ranges)
    }

    /// The bytes of each (address, length) range (None where a read failed): one system
    /// call per few hundred reads where the OS allows it.
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> Vec<Option<Vec<u8>>> {
        ranges
            .iter()
            .map(|&(a, n)| self.read_vec(a, n).ok())
            .collect()
    }

    fn read_u64(&self, addr: u64) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// A byte buffer standing for memory at `base` (tests, and images read from a file).
pub struct Snapshot {
    pub base: u64,
    pub bytes: Vec<u8>,
}

impl Memory for Snapshot {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let fault = ReadError::Fault {
            addr,
            len: buf.len(),
        };
        let off = addr.checked_sub(self.base).ok_or(fault.clone())? as usize;
        let src = self
            .bytes
            .get(off..off.checked_add(buf.len()).ok_or(fault.clone())?)
            .ok_or(fault)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Memory seen through an offset: qemu-user maps guest address `a` at host `a + base`.
pub struct Shifted<'m> {
    pub inner: &'m dyn Memory,
    pub base: u64,
}

impl Memory for Shifted<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let host = addr.checked_add(self.base).ok_or(ReadError::Fault {
            addr,
            len: buf.len(),
        })?;
        self.inner.read(host, buf)
    }

    fn read_ranges(&self, ranges: &[(u64, usize)]) -> Vec<Option<Vec<u8>>> {
        let host: Vec<(u64, usize)> = ranges
            .iter()
            .map(|&(a, n)| (a.wrapping_add(self.base), n))
            .collect();
        self.inner.read_ranges(&host)
    }
}

/// Ranges closer than this are read as one block.
const COALESCE_GAP: u64 = 512;
/// The largest block ranges are merged into.
const COALESCE_MAX: u64 = 1 << 20;

/// Read `ranges`, merging those that lie close together (the `g`s of one heap span are
/// contiguous) into blocks read by `read_blocks`, and cutting each range out of its
/// block: the kernel pins and walks each range's pages once per block rather than once
/// per range. A block that cannot be read is read range by range with `read_one`.
pub fn read_coalesced(
    ranges: &[(u64, usize)],
    read_blocks: impl Fn(&[(u64, usize)]) -> Vec<Option<Vec<u8>>>,
    read_one: impl Fn(u64, usize) -> Option<Vec<u8>>,
) -> Vec<Option<Vec<u8>>> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i].0);
    // (start, end, members)
    let mut blocks: Vec<(u64, u64, Vec<usize>)> = Vec::new();
    for i in order {
        let (a, n) = ranges[i];
        let end = a.saturating_add(n as u64);
        match blocks.last_mut() {
            Some((start, bend, members))
                if a <= bend.saturating_add(COALESCE_GAP)
                    && end.max(*bend) - *start <= COALESCE_MAX =>
            {
                *bend = end.max(*bend);
                members.push(i);
            }
            _ => blocks.push((a, end, vec![i])),
        }
    }
    let spans: Vec<(u64, usize)> = blocks
        .iter()
        .map(|&(start, end, _)| (start, (end - start) as usize))
        .collect();
    let data = read_blocks(&spans);
    let mut out: Vec<Option<Vec<u8>>> = vec![None; ranges.len()];
    for ((start, _, members), d) in blocks.into_iter().zip(data) {
        for i in members {
            let (a, n) = ranges[i];
            out[i] = match &d {
                Some(d) => {
                    let off = (a - start) as usize;
                    d.get(off..off + n).map(<[u8]>::to_vec)
                }
                None => read_one(a, n),
            };
        }
    }
    out
}

#[cfg(target_os = "linux")]
pub use linux::ProcessMemory;

#[cfg(target_os = "linux")]
mod linux {
    use super::{Memory, ReadError};
    use std::os::unix::fs::FileExt;

    /// A live process's memory on Linux.
    pub struct ProcessMemory {
        pid: i32,
        /// Opened when `process_vm_readv` is unavailable (seccomp, old kernels).
        mem: Option<std::fs::File>,
    }

    impl ProcessMemory {
        /// Check access once with a read of the process's first mapping, so a refusal is
        /// reported before any work.
        pub fn open(pid: u32, probe_addr: u64) -> Result<ProcessMemory, ReadError> {
            let mut m = ProcessMemory {
                pid: pid as i32,
                mem: None,
            };
            let mut b = [0u8; 8];
            match m.vm_read(probe_addr, &mut b) {
                Ok(()) => Ok(m),
                Err(ReadError::Other(_)) => {
                    let f = std::fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| match e
                        .kind()
                    {
                        std::io::ErrorKind::NotFound => ReadError::Gone,
                        std::io::ErrorKind::PermissionDenied => ReadError::Denied(e.to_string()),
                        _ => ReadError::Other(format!("/proc/{pid}/mem: {e}")),
                    })?;
                    m.mem = Some(f);
                    m.read(probe_addr, &mut b)?;
                    Ok(m)
                }
                Err(e) => Err(e),
            }
        }

        fn vm_read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            if buf.is_empty() {
                return Ok(());
            }
            let local = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let remote = libc::iovec {
                iov_base: addr as usize as *mut libc::c_void,
                iov_len: buf.len(),
            };
            // SAFETY: `local` covers exactly `buf`, which we own mutably; `remote` names
            // another process's memory, which the kernel checks and never dereferences here.
            let n = unsafe { libc::process_vm_readv(self.pid, &local, 1, &remote, 1, 0) };
            if n == buf.len() as isize {
                return Ok(());
            }
            if n >= 0 {
                return Err(ReadError::Fault {
                    addr,
                    len: buf.len(),
                });
            }
            let e = std::io::Error::last_os_error();
            Err(match e.raw_os_error() {
                Some(libc::EFAULT) => ReadError::Fault {
                    addr,
                    len: buf.len(),
                },
                Some(libc::ESRCH) => ReadError::Gone,
                Some(libc::EPERM) | Some(libc::EACCES) => ReadError::Denied(e.to_string()),
                _ => ReadError::Other(e.to_string()),
            })
        }
    }

    /// iovecs per process_vm_readv call (IOV_MAX is 1024).
    const BATCH: usize = 512;
    /// Bytes per batch of ranges (a range longer than this is read alone).
    const BATCH_BYTES: usize = 8 << 20;

    impl ProcessMemory {
        /// Each range in as few `process_vm_readv` calls as the iovec and byte limits
        /// allow.
        fn read_batched(&self, ranges: &[(u64, usize)]) -> Vec<Option<Vec<u8>>> {
            if self.mem.is_some() {
                return ranges
                    .iter()
                    .map(|&(a, n)| self.read_vec(a, n).ok())
                    .collect();
            }
            let mut out = Vec::with_capacity(ranges.len());
            let mut i = 0;
            while i < ranges.len() {
                let (mut j, mut bytes) = (i, 0usize);
                while j < ranges.len()
                    && j - i < BATCH
                    && (j == i || bytes.saturating_add(ranges[j].1) <= BATCH_BYTES)
                {
                    bytes = bytes.saturating_add(ranges[j].1);
                    j += 1;
                }
                let batch = &ranges[i..j];
                i = j;
                let mut bufs: Vec<Vec<u8>> = batch.iter().map(|&(_, n)| vec![0u8; n]).collect();
                let local: Vec<libc::iovec> = bufs
                    .iter_mut()
                    .map(|b| libc::iovec {
                        iov_base: b.as_mut_ptr().cast(),
                        iov_len: b.len(),
                    })
                    .collect();
                let remote: Vec<libc::iovec> = batch
                    .iter()
                    .map(|&(a, n)| libc::iovec {
                        iov_base: a as usize as *mut libc::c_void,
                        iov_len: n,
                    })
                    .collect();
                // SAFETY: each local iovec covers one buffer of `bufs`, which outlives the
                // call; remote iovecs are checked by the kernel.
                let n = unsafe {
                    libc::process_vm_readv(
                        self.pid,
                        local.as_ptr(),
                        local.len() as libc::c_ulong,
                        remote.as_ptr(),
                        remote.len() as libc::c_ulong,
                        0,
                    )
                };
                // The kernel stops at the first range it cannot read whole: the ranges
                // before it are good, the rest are read one by one.
                let mut done = if n > 0 { n as usize } else { 0 };
                for (&(a, len), buf) in batch.iter().zip(bufs) {
                    if done >= len {
                        done -= len;
                        out.push(Some(buf));
                    } else {
                        done = 0;
                        out.push(self.read_vec(a, len).ok());
                    }
                }
            }
            out
        }
    }

    impl Memory for ProcessMemory {
        fn read_ranges(&self, ranges: &[(u64, usize)]) -> Vec<Option<Vec<u8>>> {
            super::read_coalesced(
                ranges,
                |blocks| self.read_batched(blocks),
                |a, n| self.read_vec(a, n).ok(),
            )
        }

        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            let Some(f) = &self.mem else {
                return self.vm_read(addr, buf);
            };
            // pread takes a signed offset: addresses at or above 2^63 cannot be read.
            if addr >= 1 << 63 || addr.checked_add(buf.len() as u64).is_none() {
                return Err(ReadError::Fault {
                    addr,
                    len: buf.len(),
                });
            }
            match f.read_exact_at(buf, addr) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    if std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
                        Err(ReadError::Fault {
                            addr,
                            len: buf.len(),
                        })
                    } else {
                        Err(ReadError::Gone)
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EIO) => Err(ReadError::Fault {
                    addr,
                    len: buf.len(),
                }),
                Err(e) => Err(ReadError::Other(e.to_string())),
            }
        }
    }
}

#[cfg(target_os = "macos")]
pub use macos::ProcessMemory;

#[cfg(target_os = "macos")]
mod macos {
    use super::{Memory, ReadError};
    use mach2::kern_return::KERN_SUCCESS;
    use mach2::port::{MACH_PORT_NULL, mach_port_name_t};
    use mach2::traps::{mach_task_self, task_for_pid};
    use mach2::vm::mach_vm_read_overwrite;
    use mach2::vm_types::{mach_vm_address_t, mach_vm_size_t};

    /// A live process's memory on macOS, through its task port (needs root; hardened
    /// targets need the `get-task-allow` entitlement; SIP platform binaries are refused).
    pub struct ProcessMemory {
        task: mach_port_name_t,
    }

    impl ProcessMemory {
        pub fn open(pid: u32, probe_addr: u64) -> Result<ProcessMemory, ReadError> {
            let m = ProcessMemory::attach(pid)?;
            let mut b = [0u8; 8];
            m.read(probe_addr, &mut b)?;
            Ok(m)
        }

        /// The task port alone, before any address is known.
        pub fn attach(pid: u32) -> Result<ProcessMemory, ReadError> {
            let mut task: mach_port_name_t = MACH_PORT_NULL;
            // SAFETY: task_for_pid writes one port name into `task`, which we own.
            let kr = unsafe { task_for_pid(mach_task_self(), pid as i32, &mut task) };
            if kr != KERN_SUCCESS {
                return Err(ReadError::Denied(format!(
                    "task_for_pid refused (kern_return {kr})"
                )));
            }
            Ok(ProcessMemory { task })
        }

        /// The task's mapped regions as (start, size), lowest first, at most `max`.
        /// `mach_vm_region` returns the region at or above the address it is given, so
        /// the walk moves from one region's end to the next; it stops at the top of the
        /// address space (KERN_INVALID_ADDRESS) or on any other failure.
        pub fn regions(&self, max: usize) -> Vec<(u64, u64)> {
            use mach2::port::mach_port_t;
            use mach2::vm::mach_vm_region;
            use mach2::vm_region::{
                VM_REGION_BASIC_INFO_64, vm_region_basic_info_64, vm_region_info_t,
            };
            let mut out = Vec::new();
            let mut addr: mach_vm_address_t = 0;
            while out.len() < max {
                let mut size: mach_vm_size_t = 0;
                let mut info = vm_region_basic_info_64::default();
                let mut count = vm_region_basic_info_64::count();
                let mut object: mach_port_t = MACH_PORT_NULL;
                // SAFETY: every out-pointer refers to a local of the type the call
                // writes; `count` says how many ints `info` holds. The object name of
                // this flavor is always MACH_PORT_NULL (xnu vm_map_region), so there is
                // no right to release.
                let kr = unsafe {
                    mach_vm_region(
                        self.task,
                        &mut addr,
                        &mut size,
                        VM_REGION_BASIC_INFO_64,
                        (&mut info as *mut vm_region_basic_info_64) as vm_region_info_t,
                        &mut count,
                        &mut object,
                    )
                };
                if kr != KERN_SUCCESS || size == 0 {
                    break;
                }
                out.push((addr, size));
                match addr.checked_add(size) {
                    Some(next) => addr = next,
                    None => break,
                }
            }
            out
        }
    }

    impl Drop for ProcessMemory {
        fn drop(&mut self) {
            // SAFETY: the port name came from task_for_pid and is released once.
            unsafe {
                mach2::mach_port::mach_port_deallocate(mach_task_self(), self.task);
            }
        }
    }

    impl Memory for ProcessMemory {
        // One Mach call per block of nearby ranges rather than one per range.
        fn read_ranges(&self, ranges: &[(u64, usize)]) -> Vec<Option<Vec<u8>>> {
            super::read_coalesced(
                ranges,
                |blocks| {
                    blocks
                        .iter()
                        .map(|&(a, n)| self.read_vec(a, n).ok())
                        .collect()
                },
                |a, n| self.read_vec(a, n).ok(),
            )
        }

        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            if buf.is_empty() {
                return Ok(());
            }
            let mut out: mach_vm_size_t = 0;
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
            let kr = unsafe {
                mach_vm_read_overwrite(
                    self.task,
                    addr as mach_vm_address_t,
                    buf.len() as mach_vm_size_t,
                    buf.as_mut_ptr() as mach_vm_address_t,
                    &mut out,
                )
            };
            if kr == KERN_SUCCESS && out as usize == buf.len() {
                Ok(())
            } else {
                Err(ReadError::Fault {
                    addr,
                    len: buf.len(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Nearby ranges are read as one block, far ones apart, each cut out exactly; a block
    /// that fails is read range by range.
    #[test]
    fn coalesced_reads() {
        let mem = Snapshot {
            base: 0x1000,
            bytes: (0..=255u8).cycle().take(0x4000).collect(),
        };
        let at = |a: u64, n: usize| mem.read_vec(a, n).ok();
        let ranges = [
            (0x1200, 16), // 488 bytes past the next ones, given first
            (0x1000, 16),
            (0x1010, 8),  // adjacent
            (0x1008, 4),  // inside the first block
            (0x3000, 32), // far: a block of its own
            (0x1000, 0),
        ];
        let blocks = RefCell::new(Vec::new());
        let got = read_coalesced(
            &ranges,
            |b| {
                blocks.borrow_mut().extend_from_slice(b);
                b.iter().map(|&(a, n)| at(a, n)).collect()
            },
            at,
        );
        assert_eq!(*blocks.borrow(), vec![(0x1000, 0x210), (0x3000, 32)]);
        for (r, g) in ranges.iter().zip(&got) {
            assert_eq!(g, &at(r.0, r.1), "{r:x?}");
        }
        // The block fails (it runs past the end): its ranges are read one by one.
        let ranges = [(0x4ff0, 16), (0x5000, 8)];
        let got = read_coalesced(&ranges, |b| b.iter().map(|_| None).collect(), at);
        assert_eq!(got, vec![at(0x4ff0, 16), None]);
    }
}
