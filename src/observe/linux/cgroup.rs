//! Is a process's cgroup frozen? cgroup v1's freezer says so in `freezer.state`
//! (`FROZEN`/`FREEZING`/`THAWED`); cgroup v2 in `cgroup.events` (`frozen 1`)
//! (kernel `Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst`, `cgroup-v2.rst`).
//! The tasks themselves show only `D` (v1, in `__refrigerator`) or a plain sleep (v2).

use crate::evidence::{CgroupInfo, CgroupVersion, CpuQuota, FrozenBy};
use procfs::FromRead;
use procfs::process::MountInfos;
use std::fs;

/// Where the v1 freezer and the v2 hierarchy are mounted, read once from our mountinfo.
#[derive(Clone, Debug, Default)]
pub struct Mounts {
    pub freezer_v1: Option<String>,
    pub unified_v2: Option<String>,
    /// The v1 `cpu` controller's mount (CFS bandwidth: `cpu.cfs_quota_us`).
    pub cpu_v1: Option<String>,
}

impl Mounts {
    pub fn read() -> Mounts {
        let Ok(bytes) = fs::read("/proc/self/mountinfo") else {
            return Mounts::default();
        };
        let Ok(infos) = MountInfos::from_read(&bytes[..]) else {
            return Mounts::default();
        };
        let mut m = Mounts::default();
        for i in infos.0 {
            let mp = i.mount_point.to_string_lossy().into_owned();
            match i.fs_type.as_str() {
                "cgroup" if i.super_options.contains_key("freezer") && m.freezer_v1.is_none() => {
                    m.freezer_v1 = Some(mp)
                }
                "cgroup" if i.super_options.contains_key("cpu") && m.cpu_v1.is_none() => {
                    m.cpu_v1 = Some(mp)
                }
                "cgroup2" if m.unified_v2.is_none() => m.unified_v2 = Some(mp),
                _ => {}
            }
        }
        m
    }

    /// The freezing state of the cgroups listed in `/proc/PID/cgroup` (its bytes).
    pub fn state_of(&self, cgroup_file: &[u8]) -> Result<CgroupInfo, String> {
        let (v1, v2) = parse_cgroup_file(cgroup_file);
        let mut found: Option<CgroupInfo> = None;
        if let (Some(path), Some(mnt)) = (&v1, &self.freezer_v1) {
            let file = format!("{}{}/freezer.state", mnt, trim_root(path));
            if let Ok(s) = fs::read_to_string(&file) {
                let state = s.trim().to_string();
                let frozen = state == "FROZEN" || state == "FREEZING";
                let info = CgroupInfo {
                    version: CgroupVersion::V1,
                    path: path.clone(),
                    frozen,
                    state: Some(state),
                    state_file: Some(file),
                    frozen_by: frozen
                        .then(|| frozen_by(mnt, path, "freezer.self_freezing", "freezer.state"))
                        .flatten(),
                    cpu_quota: None,
                };
                if info.frozen {
                    return Ok(info);
                }
                found = Some(info);
            }
        }
        if let (Some(path), Some(mnt)) = (&v2, &self.unified_v2) {
            let file = format!("{}{}/cgroup.events", mnt, trim_root(path));
            if let Ok(s) = fs::read_to_string(&file) {
                let frozen = s.lines().any(|l| l.trim() == "frozen 1");
                let info = CgroupInfo {
                    version: CgroupVersion::V2,
                    path: path.clone(),
                    frozen,
                    state: Some(if frozen { "frozen 1" } else { "frozen 0" }.to_string()),
                    state_file: Some(file),
                    frozen_by: frozen
                        .then(|| frozen_by(mnt, path, "cgroup.freeze", "cgroup.freeze"))
                        .flatten(),
                    cpu_quota: None,
                };
                if frozen || found.is_none() {
                    return Ok(info);
                }
            }
        }
        found.ok_or_else(|| "no readable freezer state (no freezer cgroup mounted)".to_string())
    }
}

/// The cgroup, from `path` up, whose own freeze holds it: v2's `cgroup.freeze` is 1 only
/// where freezing was asked for, while `cgroup.events` says `frozen 1` in every descendant
/// too; v1's `freezer.self_freezing` is 1 only where it was (cgroup-v2.rst "cgroup.freeze",
/// freezer-subsystem.rst). Writing the thaw to the process's own cgroup does nothing while
/// an ancestor stays frozen.
fn frozen_by(mnt: &str, path: &str, own_flag: &str, control: &str) -> Option<FrozenBy> {
    walk_up(mnt, path, |dir, p| {
        fs::read_to_string(format!("{dir}/{own_flag}"))
            .is_ok_and(|v| v.trim() == "1")
            .then(|| FrozenBy {
                path: p.to_string(),
                control_file: format!("{dir}/{control}"),
            })
    })
}

impl Mounts {
    /// The nearest CPU bandwidth limit above the process (its own cgroup, then each
    /// ancestor): v1 `cpu.cfs_quota_us` (-1: none), v2 `cpu.max` (`max …`: none), with the
    /// limiting group's `cpu.stat` (`nr_throttled`; v1 `throttled_time` ns, v2
    /// `throttled_usec`).
    pub fn cpu_quota_of(&self, cgroup_file: &[u8]) -> Option<CpuQuota> {
        let text = String::from_utf8_lossy(cgroup_file);
        for line in text.lines() {
            let mut it = line.splitn(3, ':');
            let (Some(id), Some(ctrls), Some(path)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let found = if id == "0" && ctrls.is_empty() {
                self.unified_v2
                    .as_deref()
                    .and_then(|m| walk_up(m, path, limit_v2))
            } else if ctrls.split(',').any(|c| c == "cpu") {
                self.cpu_v1
                    .as_deref()
                    .and_then(|m| walk_up(m, path, limit_v1))
            } else {
                None
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

/// `at(directory, cgroup path)` on `mnt/path`, then on each parent up to the mount's root
/// (at most 64 levels); the first answer wins. Both the freezer and the CPU limit look up
/// the hierarchy this way.
fn walk_up<T>(mnt: &str, path: &str, mut at: impl FnMut(&str, &str) -> Option<T>) -> Option<T> {
    let mut cur = path.trim_end_matches('/').to_string();
    for _ in 0..64 {
        let dir = format!("{mnt}{}", trim_root(&cur));
        if let Some(q) = at(&dir, if cur.is_empty() { "/" } else { &cur }) {
            return Some(q);
        }
        match cur.rfind('/') {
            Some(i) if !cur.is_empty() => cur.truncate(i),
            _ => return None,
        }
    }
    None
}

fn stat_value(stat: &str, key: &str) -> Option<u64> {
    stat.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

fn limit_v2(dir: &str, path: &str) -> Option<CpuQuota> {
    let file = format!("{dir}/cpu.max");
    let max = fs::read_to_string(&file).ok()?;
    let mut w = max.split_whitespace();
    let quota_us: u64 = w.next()?.parse().ok()?; // "max" does not parse: no limit
    let period_us: u64 = w.next().and_then(|p| p.parse().ok()).unwrap_or(100_000);
    let stat = fs::read_to_string(format!("{dir}/cpu.stat")).unwrap_or_default();
    Some(CpuQuota {
        path: path.to_string(),
        file,
        quota_us,
        period_us,
        nr_throttled: stat_value(&stat, "nr_throttled").unwrap_or(0),
        throttled_us: stat_value(&stat, "throttled_usec").unwrap_or(0),
    })
}

fn limit_v1(dir: &str, path: &str) -> Option<CpuQuota> {
    let file = format!("{dir}/cpu.cfs_quota_us");
    let quota: i64 = fs::read_to_string(&file).ok()?.trim().parse().ok()?;
    if quota < 0 {
        return None;
    }
    let period_us: u64 = fs::read_to_string(format!("{dir}/cpu.cfs_period_us"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(100_000);
    let stat = fs::read_to_string(format!("{dir}/cpu.stat")).unwrap_or_default();
    Some(CpuQuota {
        path: path.to_string(),
        file,
        quota_us: quota as u64,
        period_us,
        nr_throttled: stat_value(&stat, "nr_throttled").unwrap_or(0),
        throttled_us: stat_value(&stat, "throttled_time").unwrap_or(0) / 1000,
    })
}

/// `/proc/PID/cgroup` lines are `hierarchy-ID:controller-list:path`; returns the freezer
/// (v1) path and the unified (v2, `0::path`) path.
pub fn parse_cgroup_file(bytes: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(bytes);
    let mut v1 = None;
    let mut v2 = None;
    for line in text.lines() {
        let mut it = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if id == "0" && ctrls.is_empty() {
            v2 = Some(path.to_string());
        } else if ctrls.split(',').any(|c| c == "freezer") {
            v1 = Some(path.to_string());
        }
    }
    (v1, v2)
}

fn trim_root(p: &str) -> &str {
    if p == "/" { "" } else { p }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_lines() {
        let f = b"12:freezer:/gohang-test\n11:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/user.slice\n";
        assert_eq!(
            parse_cgroup_file(f),
            (
                Some("/gohang-test".to_string()),
                Some("/user.slice".to_string())
            )
        );
        assert_eq!(parse_cgroup_file(b"0::/\n"), (None, Some("/".to_string())));
        assert_eq!(parse_cgroup_file(b"garbage"), (None, None));
    }
}
