//! What the threads are doing when nothing stops them: sleeping uninterruptibly
//! (`io-wait`), burning CPU (`spinning`), or sleeping with no cause found (`idle`).
//!
//! CPU use is the delta of utime+stime over the window (Linux `/proc/PID/stat` fields 14
//! and 15; macOS `proc_taskinfo`/`thread_basic_info` times), never an instant state: a Go
//! program's threads flicker between R and S.

use super::waits::WaitGraph;
use super::{Findings, secs, tree::ProcView, tree::Tree};
use crate::classify::remedy;
use crate::evidence::{Mode, RunState, SyscallState};
use crate::verdict::{Confidence, Verdict, VerdictKind};
use std::collections::BTreeMap;

/// Half a core of CPU over the window is "busy".
const SPIN_SHARE: f64 = 0.5;
/// On a loaded machine a spinning thread gets less than half a core but stays runnable:
/// a fifth of a core with a thread in R in this share of the samples is busy too.
const STARVED_SHARE: f64 = 0.2;
const RUNNABLE_SAMPLES: f64 = 0.8;
/// Where the kernel counts run-queue waits (Linux schedstat), the direct measure: a thread
/// running or waiting for a CPU this share of the window never sleeps, whatever CPU share
/// the loaded machine leaves it.
const CPU_BOUND_DEMAND: f64 = 0.8;
/// Below 5 % of a core, the process is asleep.
const IDLE_SHARE: f64 = 0.05;
/// Shorter windows do not tell spinning from a burst.
const MIN_SPAN_MS: u64 = 200;

pub(super) fn rules(tree: &Tree, graph: &WaitGraph, f: &mut Findings) {
    for p in &tree.procs {
        let last = p.last;
        let n = p.samples();
        if last.state == RunState::Zombie || last.state == RunState::Dead {
            continue;
        }
        if last.cgroup.value().is_some_and(|c| c.frozen) {
            continue;
        }

        // io-wait: some thread in D in every sample.
        let d_in = p.samples_where_any(RunState::DiskSleep);
        if n >= 1 && d_in == n {
            let d_threads: Vec<_> = last
                .threads
                .iter()
                .filter(|t| t.state == RunState::DiskSleep)
                .collect();
            let mut wchans: Vec<String> =
                d_threads.iter().filter_map(|t| t.wchan.clone()).collect();
            wchans.sort();
            wchans.dedup();
            if let Some(v) = super::monitor::permission_wait(tree, p, &d_threads, (d_in, n)) {
                f.add(v, p.depth, format!("{}: D in fanotify", p.label()));
                continue;
            }
            let conf = if n >= 2 && p.span_ms() >= MIN_SPAN_MS {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            let mut v = Verdict::new(
                VerdictKind::IoWait,
                conf,
                Some(p.pid()),
                format!(
                    "{} is in uninterruptible sleep{}: {} is not answering",
                    p.label(),
                    wchans
                        .first()
                        .map(|w| format!(" in {w}"))
                        .unwrap_or_default(),
                    waited_on(&wchans)
                ),
            )
            .fact(format!(
                "state D in {d_in}/{n} samples over {}; {} of {} threads in D",
                secs(p.span_ms()),
                d_threads.len().max(1),
                last.threads.len().max(1)
            ));
            if !wchans.is_empty() {
                v = v.fact(format!("wchan {}", wchans.join(", ")));
            }
            for t in d_threads.iter().take(3) {
                if let Some(SyscallState::InSyscall { nr, name, .. }) = t.syscall.value() {
                    // /proc shows host syscall numbers, also for emulated processes.
                    let name = name
                        .as_deref()
                        .or_else(|| crate::syscalls::name(&tree.ev.host.arch, *nr))
                        .map(str::to_string)
                        .unwrap_or_else(|| nr.to_string());
                    v = v.fact(format!("thread {} in syscall {name}", t.tid));
                }
            }
            f.add(
                v.remedy(remedy::io_wait(p.pid(), &tree.ev.host.os)),
                p.depth,
                format!("{}: D in {d_in}/{n} samples", p.label()),
            );
            continue;
        }

        let span = p.span_ms();
        // With a single snapshot (attach --window 0) CPU use is unknown: states still tell
        // a sleeping process, but not a spinning one.
        let measured = p.cpu_share().filter(|_| span >= MIN_SPAN_MS);
        if measured.is_none() {
            f.note(format!(
                "{}: window too short ({} ms) to measure CPU use",
                p.label(),
                span
            ));
        }
        let share = measured.unwrap_or(0.0);
        let states = thread_state_counts(p.last);

        let runnable = p.samples_where_any(RunState::Running);
        if throttled(p, share, runnable, f) {
            continue;
        }
        let demand = p.busiest_demand().filter(|(_, d)| *d >= CPU_BOUND_DEMAND);
        let starved = demand.is_some()
            || (n >= 3 && share >= STARVED_SHARE && runnable as f64 >= RUNNABLE_SAMPLES * n as f64);
        if measured.is_some() && (share >= SPIN_SHARE || starved) {
            let busiest: Vec<String> = p
                .thread_deltas()
                .into_iter()
                .filter(|(_, d)| *d > 0)
                .take(3)
                .map(|(t, d)| {
                    format!(
                        "tid {} ({}) {:.0} %",
                        t.tid,
                        t.name,
                        d as f64 * 100.0 / span as f64
                    )
                })
                .collect();
            let conf = if n >= 3 {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            let mut v = Verdict::new(
                VerdictKind::Spinning,
                conf,
                Some(p.pid()),
                format!(
                    "{} is busy on the CPU ({:.0} % of a core) without finishing: a livelock or a loop, or very slow work",
                    p.label(),
                    share * 100.0
                ),
            )
            .fact(format!("used {} ms of CPU in {} ms", p.cpu_delta_ms(), span))
            .fact(format!("thread states: {states}"));
            if share < SPIN_SHARE {
                v = v.fact(match demand {
                    Some((tid, d)) => format!(
                        "tid {tid} was running or waiting for a CPU {:.0} % of the window (schedstat): it wants more CPU than the loaded machine gives it",
                        d.min(1.0) * 100.0
                    ),
                    None => format!(
                        "a thread was runnable (R) in {runnable}/{n} samples: it wants more CPU than the loaded machine gives it"
                    ),
                });
            }
            if !busiest.is_empty() {
                v = v.fact(format!("busiest threads: {}", busiest.join(", ")));
            }
            let look = look_closer(tree, p);
            if let Some(line) = own_dump_line(tree, p, VerdictKind::Spinning) {
                v = v.fact(line);
            }
            f.note(format!(
                "{}: the next step depends on it being {:?}, the goroutine dump {:?}",
                p.label(),
                look.program,
                look.dump
            ));
            f.add(
                v.remedy(remedy::spinning(&look)),
                p.depth,
                format!("{}: CPU share {:.2}", p.label(), share),
            );
        } else if share <= IDLE_SHARE
            && p.samples_where_all(&[RunState::Sleeping, RunState::Idle]) == n
        {
            if graph.waits(p.pid()) {
                f.note(format!("{}: asleep, waiting for its children", p.label()));
                continue;
            }
            if f.explained.contains(&p.pid()) {
                f.note(format!(
                    "{}: asleep, accounted for by the verdict of another process",
                    p.label()
                ));
                continue;
            }
            if let Some(c) = f.candidates.iter().find(|c| {
                c.verdict.pid == Some(p.pid())
                    && c.verdict.kind.rank() >= VerdictKind::ChildWait.rank()
            }) {
                f.note(format!(
                    "{}: asleep, explained by {}",
                    p.label(),
                    c.verdict.kind
                ));
                continue;
            }
            // Asleep at every sample, yet bytes arrive between samples: slow, not stuck.
            let grew = super::progress::of(p);
            if let Some(v) = super::progress::verdict(
                tree,
                p,
                &grew,
                &format!("{} is asleep at every sample, yet", p.label()),
            ) {
                let fetches = crate::evidence::is_go_command(p.last)
                    || grew[0]
                        .area(p.last)
                        .is_some_and(|a| a.starts_with("GOMODCACHE"));
                let mut v = v.remedy(remedy::progressing(&grew[0].rate_text(), fetches, None));
                if let Some((fact, _)) = leaf_role(tree, p) {
                    v = v.fact(fact);
                }
                f.add(
                    v,
                    p.depth,
                    format!("{}: asleep, but {} grew", p.label(), grew[0].what(p.last)),
                );
                continue;
            }
            if graph.waited_by(p.pid()).is_some() || graph.passed_over(p.pid()).is_some() {
                child_wait(tree, graph, p, f);
                continue;
            }
            let mut waits: BTreeMap<String, usize> = BTreeMap::new();
            for t in &last.threads {
                let w = t
                    .syscall
                    .value()
                    .and_then(|s| s.name().map(str::to_string))
                    .or_else(|| t.wchan.clone())
                    .unwrap_or_else(|| "unknown".to_string());
                *waits.entry(w).or_default() += 1;
            }
            let waits: Vec<String> = waits
                .into_iter()
                .map(|(w, c)| format!("{c}× {w}"))
                .collect();
            let mut v = Verdict::new(
                VerdictKind::Idle,
                Confidence::Low,
                Some(p.pid()),
                format!("{} is asleep and no cause was identified", p.label()),
            )
            .fact(format!(
                "all {} threads sleeping in {n}/{n} samples over {}; CPU {} ms",
                last.threads.len().max(1),
                secs(span),
                p.cpu_delta_ms()
            ))
            .fact(format!(
                "waiting in: {}",
                if waits.is_empty() {
                    "unknown".to_string()
                } else {
                    waits.join(", ")
                }
            ));
            // Every call on a descriptor, named even where no kind fits it.
            let on_descriptors = super::descriptors::unexplained(p);
            for line in &on_descriptors {
                v = v.fact(line.clone());
            }
            if let Some(line) = own_dump_line(tree, p, VerdictKind::Idle) {
                v = v.fact(line);
            }
            let look = look_closer(tree, p);
            f.note(format!(
                "{}: the next step depends on it being {:?}, the goroutine dump {:?}",
                p.label(),
                look.program,
                look.dump
            ));
            let mut fix = remedy::idle(&look);
            if let Some(first) = on_descriptors.first() {
                fix = format!(
                    "{fix}; first look at what should serve the descriptor it waits on: {first}"
                );
            }
            let v = v.remedy(fix);
            f.add(
                v,
                p.depth,
                format!("{}: asleep, CPU share {:.3}", p.label(), share),
            );
        } else {
            f.note(format!(
                "{}: CPU share {:.2}, states {states}: neither busy nor idle",
                p.label(),
                share
            ));
        }
    }
}

/// What is known about `p` that decides how to look closer at it: whether it is a Go
/// program (the observers read Go build info from its executable into `go_version`),
/// whether its runtime was already asked for goroutines, how gohang was run.
/// CPU-bound but held back by its cgroup's CPU bandwidth limit: the limiting group's
/// `nr_throttled` grew over the window while a thread of the process was runnable in most
/// samples (kernel `Documentation/scheduler/sched-bwc.rst`: a group that used its quota
/// for the period is not run until the next one). It looks neither busy nor asleep: a
/// container limit (docker --cpus, systemd CPUQuota=, a Kubernetes CPU limit), not a loop.
fn throttled(p: &ProcView, share: f64, runnable: usize, f: &mut Findings) -> bool {
    let quota =
        |s: &crate::evidence::ProcessSnapshot| s.cgroup.value().and_then(|c| c.cpu_quota.clone());
    let (Some((_, first)), Some(last)) = (p.history.first(), quota(p.last)) else {
        return false;
    };
    let Some(before) = quota(first).filter(|q| q.path == last.path) else {
        return false;
    };
    let n = p.samples();
    let times = last.nr_throttled.saturating_sub(before.nr_throttled);
    let held_us = last.throttled_us.saturating_sub(before.throttled_us);
    if times == 0 || n < 2 || (runnable as f64) < RUNNABLE_SAMPLES * n as f64 {
        return false;
    }
    let allowed = last.quota_us as f64 / last.period_us.max(1) as f64;
    let v = Verdict::new(
        VerdictKind::Spinning,
        Confidence::High,
        Some(p.pid()),
        format!(
            "{} is CPU-bound and throttled by its cgroup's CPU quota ({:.0} % of a core, {}): a container limit, not a loop; it progresses at that rate",
            p.label(),
            allowed * 100.0,
            last.path
        ),
    )
    .fact(format!(
        "{}: {} µs per {} µs period",
        last.file, last.quota_us, last.period_us
    ))
    .fact(format!(
        "cpu.stat: throttled {times} times, held back {} over {} (nr_throttled {} → {})",
        secs(held_us / 1000),
        secs(p.span_ms()),
        before.nr_throttled,
        last.nr_throttled
    ))
    .fact(format!(
        "used {:.1} % of a core; a thread was runnable (R) in {runnable}/{n} samples",
        share * 100.0
    ))
    .remedy(remedy::cpu_throttled(&last.path, allowed));
    f.add(
        v,
        p.depth,
        format!(
            "{}: nr_throttled +{times} in {}, runnable {runnable}/{n}",
            p.label(),
            last.path
        ),
    );
    true
}

fn look_closer<'e>(tree: &Tree<'e>, p: &ProcView) -> remedy::LookCloser<'e> {
    let ev = tree.ev;
    let dump = match &ev.goroutines {
        Some(d) if d.pid == p.pid() && d.answered && d.source.is_some() => {
            remedy::Dump::ReadFromMemory
        }
        Some(d) if d.pid == p.pid() && d.answered => remedy::Dump::Answered,
        // A read from memory that failed leaves SIGQUIT untried.
        Some(d) if d.source.is_some() => remedy::Dump::NotTaken,
        // probe owns the stderr the dump goes to: silence is the runtime's.
        Some(d) if d.pid == p.pid() && ev.target.mode == Mode::Spawn => remedy::Dump::Silent,
        // attach reads the dump back only from a regular file.
        Some(d) if d.pid == p.pid() => remedy::Dump::NotCaptured,
        _ => remedy::Dump::NotTaken,
    };
    remedy::LookCloser {
        pid: p.pid(),
        program: program_of(p.last),
        mode: ev.target.mode,
        dump,
        traced: ev.trace.is_some(),
        host_os: &ev.host.os,
    }
}

/// Is it a Go program? Go build info says yes; an executable that was read and has none
/// says no; an executable that could not be read (or, under binfmt translation, a guest
/// program that could not be) leaves it open.
fn program_of(p: &crate::evidence::ProcessSnapshot) -> remedy::Program {
    use crate::evidence::Translation;
    if p.go_version.is_some() {
        return remedy::Program::Go;
    }
    let read = match &p.translation {
        // `binary` is the interpreter's; the guest's header was read if its arch is known.
        Translation::Binfmt { program_arch, .. } => program_arch.is_some(),
        _ => p.binary.value().is_some(),
    };
    if read {
        remedy::Program::Other
    } else {
        remedy::Program::Unknown
    }
}

/// The line a goroutine dump of this very process adds to its own verdict.
fn own_dump_line(tree: &Tree, p: &ProcView, kind: VerdictKind) -> Option<String> {
    let dump = tree.ev.goroutines.as_ref()?;
    (dump.pid == p.pid() && dump.answered)
        .then(|| super::goroutine_line(dump, kind))
        .flatten()
}

/// The end of a wait chain is asleep: the processes above wait for one that never returns.
///
/// A parent that waits for any of several children is linked to one of them (see
/// `WaitGraph::pick`); a chain that hangs below one of the others is a side branch: it
/// still gets its verdict, at low confidence and ranked below the main chain's.
fn child_wait(tree: &Tree, graph: &WaitGraph, p: &ProcView, f: &mut Findings) {
    let mut edges = graph.chain_to(p.pid());
    let head = edges.first().map(|e| e.parent).unwrap_or(p.pid());
    let side = graph.passed_over(head);
    if let Some(s) = side {
        let mut up = graph.chain_to(s.parent);
        up.push(s);
        up.extend(edges);
        edges = up;
    }
    let name = |pid: u32| {
        tree.get(pid)
            .map(|q| q.last.display_name())
            .unwrap_or_else(|| "?".to_string())
    };
    let top = edges.first().map(|e| e.parent).unwrap_or(p.pid());
    let chain: Vec<String> = std::iter::once(top)
        .chain(edges.iter().map(|e| e.child))
        .map(|pid| format!("{} ({pid})", name(pid)))
        .collect();
    let hows: Vec<String> = edges
        .iter()
        .map(|e| format!("{} → {}: {}", e.parent, e.child, e.how))
        .collect();
    let sleeps_in = p
        .last
        .threads
        .iter()
        .find_map(|t| {
            tree.syscall_of(t)
                .map(|(n, _)| n)
                .or_else(|| t.wchan.clone())
        })
        .unwrap_or_else(|| "an unknown wait".to_string());
    let command = p.last.command_line();
    let tool = tool_setting(tree, &edges.iter().map(|e| e.child).collect::<Vec<_>>());
    let explicit = edges.iter().all(|e| e.explicit);
    let guessed = edges
        .iter()
        .any(|e| e.choice.as_ref().is_some_and(|c| c.guess));
    let confidence = if side.is_some() {
        Confidence::Low
    } else if explicit && !guessed && p.samples() >= 2 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut v = Verdict::new(
        VerdictKind::ChildWait,
        confidence,
        Some(p.pid()),
        format!(
            "{} (pid {top}) {} {} (pid {}, `{command}`), which never returns: it is asleep in {sleeps_in}",
            name(top),
            if side.is_some() { "may be waiting for" } else { "waits for" },
            p.last.display_name(),
            p.pid()
        ),
    )
    .fact(format!("wait chain: {}", chain.join(" → ")))
    .fact(format!("how each waits: {}", hows.join("; ")));
    for e in &edges {
        let Some(c) = &e.choice else { continue };
        let others: Vec<String> = c
            .others
            .iter()
            .map(|o| format!("pid {o} ({})", name(*o)))
            .collect();
        v = v.fact(format!(
            "pid {} waits for any of its children ({}); pid {} ({}) is taken as the one because {}{}; passed over: {}",
            e.parent,
            e.how,
            e.child,
            name(e.child),
            c.why,
            if c.guess { ", which is a guess" } else { "" },
            others.join(", ")
        ));
    }
    if let Some(s) = side {
        let picked = graph
            .waited_by_any(s.parent)
            .map(|e| format!("pid {} ({})", e.child, name(e.child)))
            .unwrap_or_else(|| "another child".to_string());
        v = v.fact(format!(
            "a side branch: pid {} waits for any of its children ({}) and was taken to wait for {picked}, not for pid {}",
            s.parent, s.how, s.child
        ));
    }
    v = v.fact(format!(
        "pid {}: state {} in {}/{} samples, {} ms of CPU over {}",
        p.pid(),
        p.last.state,
        p.samples(),
        p.samples(),
        p.cpu_delta_ms(),
        secs(p.span_ms())
    ));
    if let Some(t) = &tool {
        v = v.fact(format!("it was started as the tool named by {t}"));
    }
    let role = leaf_role(tree, p);
    if let Some((fact, _)) = &role {
        v = v.fact(fact.clone());
    }
    let mut fix = remedy::child_wait(p.pid(), &command, tool.as_deref());
    if let Some((_, advice)) = &role {
        fix = format!("{advice}; {fix}");
    }
    let v = v.remedy(fix);
    f.add(
        v,
        // Below every leaf of the main chain.
        if side.is_some() { 0 } else { p.depth },
        format!(
            "{}: leaf of a wait chain{}, asleep",
            p.label(),
            if side.is_some() {
                " (a side branch)"
            } else {
                ""
            }
        ),
    );
}

/// The go setting (CC, CXX, AR, PKG_CONFIG, GIT_SSH_COMMAND, …) a process of the chain was
/// started from, with where it was set: the go command's environment, or (for the settings
/// `go env -w` can write) the go env file and its line, as `gocontext` read them.
fn tool_setting(tree: &Tree, chain: &[u32]) -> Option<String> {
    let go = tree
        .procs
        .iter()
        .find(|q| crate::evidence::is_go_command(q.last))?;
    let ctx = tree.ev.go.as_ref().filter(|c| c.pid == go.pid());
    for var in [
        "CC",
        "CXX",
        "AR",
        "PKG_CONFIG",
        "GIT_SSH_COMMAND",
        "GIT_ASKPASS",
    ] {
        let (val, origin) = match go.last.env.get(var).filter(|v| !v.is_empty()) {
            Some(v) => (v.clone(), None),
            None => match ctx.and_then(|c| c.settings.get(var)) {
                Some(s) if !s.value.is_empty() => (s.value.clone(), Some(s.origin())),
                _ => continue,
            },
        };
        let first = val.split_whitespace().next().unwrap_or(&val);
        let used = chain.iter().filter_map(|pid| tree.get(*pid)).any(|q| {
            q.last.argv.value().is_some_and(|a| {
                a.iter()
                    .take(2)
                    .any(|x| x == first || x.ends_with(&format!("/{first}")))
            })
        });
        if used {
            return Some(match origin {
                Some(o) => format!(
                    "{var}={val} (set with `go env -w` in {o}; `go env -u {var}` removes it)"
                ),
                None => format!("{var}={val}"),
            });
        }
    }
    None
}

/// What the waiting leaf is to the go command above it, and advice about that program
/// rather than about modules: a test binary `go test` runs, a generator `go generate`
/// runs for a `//go:generate` directive, the `-toolexec` program (from go's arguments or
/// GOFLAGS, with where that was set), or one of the toolchain's own tools
/// (`pkg/tool/GOOS_GOARCH/compile`, `asm`, `link`, `cgo`, `vet`; `cmd/go/internal/work`).
pub(super) fn leaf_role(tree: &Tree, p: &ProcView) -> Option<(String, String)> {
    let argv = p.last.argv.value().cloned().unwrap_or_default();
    let argv0 = argv.first().cloned().unwrap_or_else(|| p.last.comm.clone());
    let base = argv0.rsplit('/').next().unwrap_or(&argv0).to_string();
    let chain = tree.chain_to(p.pid());
    let go = chain
        .iter()
        .rev()
        .skip(1)
        .filter_map(|pid| tree.get(*pid))
        .find(|q| crate::evidence::is_go_command(q.last))?;
    let go_args: Vec<String> = go.last.argv.value().cloned().unwrap_or_default();
    let sub = go_args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    // -toolexec: on go's command line, else in GOFLAGS (with its source).
    let ctx = tree.ev.go.as_ref();
    let toolexec = go_args
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            a.strip_prefix("-toolexec=")
                .or_else(|| a.strip_prefix("--toolexec="))
                .map(str::to_string)
                .or_else(|| {
                    (a == "-toolexec" || a == "--toolexec")
                        .then(|| go_args.get(i + 1).cloned())
                        .flatten()
                })
                .map(|v| (v, "the go command's arguments".to_string()))
        })
        .or_else(|| {
            let flags = ctx?.settings.get("GOFLAGS")?;
            flags.value.split_whitespace().find_map(|f| {
                f.strip_prefix("-toolexec=")
                    .map(|v| (v.to_string(), format!("GOFLAGS, set in {}", flags.origin())))
            })
        });
    if let Some((prog, origin)) = toolexec {
        let first = prog.split_whitespace().next().unwrap_or(&prog).to_string();
        let fb = first.rsplit('/').next().unwrap_or(&first);
        if argv0 == first || base == fb {
            return Some((
                format!(
                    "it is the -toolexec program `{prog}` (from {origin}), which go runs in front of every tool"
                ),
                format!(
                    "the -toolexec program `{prog}` is what hangs, not the build: run the build once without -toolexec (remove it from {origin}) to confirm, then look at `{first}` itself"
                ),
            ));
        }
    }
    if base.ends_with(".test") || (sub == "test" && argv.iter().any(|a| a.starts_with("-test."))) {
        return Some((
            format!(
                "it is the test binary `go test` built and runs ({argv0}): the hang is in the tests, not in go"
            ),
            format!(
                "a test hangs: `go test -run 'NAME' -timeout 30s` makes the test binary print every goroutine's stack and exit when the time is up (the default -timeout is 10m), and `gohang attach {} --goroutines` reads them now without ending it",
                p.pid()
            ),
        ));
    }
    if sub == "generate" || p.last.env.contains_key("GOLINE") {
        // go generate sets GOFILE (the file's base name), GOLINE and GOPACKAGE in the
        // generator's environment and runs it in the package's directory
        // (`go help generate`): together they name the directive.
        let directive = directive_of(p.last);
        let at = directive
            .as_deref()
            .map(|d| format!(" at {d}"))
            .unwrap_or_default();
        let source = if directive.is_some() {
            "from the generator's GOFILE, GOLINE and its working directory".to_string()
        } else {
            "its GOFILE and GOLINE environment variables name the file and line".to_string()
        };
        let edit = directive
            .as_deref()
            .map(|d| format!("; the directive is {d}: fix or remove it there"))
            .unwrap_or_default();
        return Some((
            format!(
                "it is a generator that `go generate` runs for the //go:generate directive{at} (`{}`; {source})",
                p.last.command_line()
            ),
            format!(
                "the generator `{base}` hangs, not go: `go generate -x -run '{base}'` prints the directive's command so you can run it alone; check what it reads (a generator that reads its stdin waits for ever under go generate){edit}"
            ),
        ));
    }
    let in_tooldir = argv0.contains("/pkg/tool/");
    if in_tooldir
        && matches!(
            base.as_str(),
            "compile" | "asm" | "link" | "cgo" | "vet" | "cover"
        )
    {
        return Some((
            format!("it is the Go toolchain's own `{base}` ({argv0}), run by go {sub}"),
            format!(
                "the toolchain's {base} hangs, not a download: `go {sub} -x` prints its command line to run alone; a {base} asleep may wait on a file it reads (a FIFO or a device among the sources or -I/-L paths) or on its parent's pipe"
            ),
        ));
    }
    None
}

/// `DIR/FILE:LINE` of the //go:generate directive that started a generator, from the
/// GOFILE and GOLINE go generate puts in its environment and its working directory (the
/// package's); the bare `FILE:LINE` without a working directory.
pub(super) fn directive_of(p: &crate::evidence::ProcessSnapshot) -> Option<String> {
    let file = p.env.get("GOFILE").filter(|f| !f.is_empty())?;
    let line = p.env.get("GOLINE").filter(|l| !l.is_empty())?;
    Some(match p.cwd.as_deref() {
        Some(dir) if !file.starts_with('/') => {
            format!("{}/{file}:{line}", dir.trim_end_matches('/'))
        }
        _ => format!("{file}:{line}"),
    })
}

/// Who a kernel wait channel waits for, from the function's subsystem prefix.
fn waited_on(wchans: &[String]) -> &'static str {
    let any = |pat: &str| wchans.iter().any(|w| w.contains(pat));
    if any("fuse") {
        "a FUSE file system server"
    } else if any("nfs") || any("rpc_") {
        "an NFS server"
    } else if any("cifs") || any("smb") {
        "an SMB server"
    } else if any("io_schedule")
        || any("blk")
        || any("bit_wait")
        || any("folio_wait")
        || any("wait_on_page")
    {
        "a disk (or the storage under it)"
    } else if any("vfork") {
        "a vfork child that has not exec'd yet"
    } else {
        "a disk, NFS or FUSE server"
    }
}

/// "2 running, 7 sleeping".
fn thread_state_counts(p: &crate::evidence::ProcessSnapshot) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in &p.threads {
        *counts.entry(t.state.to_string()).or_default() += 1;
    }
    if counts.is_empty() {
        return p.state.to_string();
    }
    counts
        .into_iter()
        .map(|(s, c)| format!("{c} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::classify::classify;
    use crate::evidence::{Evidence, Fact, GoroutineDump, Mode};
    use crate::verdict::VerdictKind;

    /// A real idle Go program (tests/go/sleeper.go) as probe recorded it: pid 22143.
    fn sleeper() -> Evidence {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_idle_go_sleeper/evidence.json"
        ))
        .unwrap()
    }

    fn each_process(ev: &mut Evidence, f: impl Fn(&mut crate::evidence::ProcessSnapshot)) {
        for s in &mut ev.samples {
            for p in &mut s.processes {
                f(p);
            }
        }
    }

    fn not_go(ev: &mut Evidence) {
        each_process(ev, |p| p.go_version = None);
    }

    fn attached(ev: &mut Evidence) {
        ev.target.mode = Mode::Attach;
        ev.outcome = crate::evidence::Outcome::Attached;
    }

    fn remedy(ev: &Evidence) -> String {
        let c = classify(ev);
        assert_eq!(c.verdicts[0].kind, VerdictKind::Idle, "{:#?}", c.reasons);
        assert_eq!(c.verdicts[0].pid, Some(22143));
        c.verdicts[0].remedy.clone().unwrap()
    }

    /// The idle sleeper, with a counter of pid 22143 that rises between samples.
    fn sleeper_growing(grow: impl Fn(&mut crate::evidence::ProcessSnapshot, u64)) -> Evidence {
        let mut ev = sleeper();
        for s in &mut ev.samples {
            let at = s.at_ms;
            for p in s.processes.iter_mut().filter(|p| p.pid == 22143) {
                grow(p, at);
            }
        }
        ev
    }

    #[test]
    fn an_asleep_process_whose_reads_grow_is_progressing_not_idle() {
        let ev = sleeper_growing(|p, at| {
            p.io = Some(crate::evidence::IoCounters {
                rchar: 1000 + at * 4,
                wchar: 0,
                read_bytes: None,
            })
        });
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Progressing, "{:#?}", c.reasons);
        assert_eq!(v.pid, Some(22143));
        assert_eq!(v.confidence, crate::verdict::Confidence::Low);
        assert!(
            v.summary
                .contains("is asleep at every sample, yet: the bytes it reads grew by")
                && v.summary.contains("(3.9 KiB/s), since "),
            "{}",
            v.summary
        );
        assert!(v.remedy.as_deref().unwrap().contains("nothing is stuck"));
        assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::Idle));
        // The same counter standing still: idle, as before.
        let still = sleeper_growing(|p, _| {
            p.io = Some(crate::evidence::IoCounters {
                rchar: 1000,
                wchar: 0,
                read_bytes: Some(0),
            })
        });
        assert_eq!(classify(&still).verdicts[0].kind, VerdictKind::Idle);
    }

    #[test]
    fn a_growing_file_in_gocache_names_the_file_and_the_cache() {
        let ev = sleeper_growing(|p, at| {
            p.env
                .insert("GOCACHE".into(), "/home/dev/.cache/go-build".into());
            p.written_files = vec![crate::evidence::WrittenFile {
                fd: 9,
                path: "/home/dev/.cache/go-build/3f/3fab-d.1234.tmp".into(),
                size: 100 + at * 10,
            }];
        });
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Progressing, "{:#?}", c.reasons);
        assert_eq!(v.confidence, crate::verdict::Confidence::Medium);
        assert!(
            v.summary.contains(
                "the file /home/dev/.cache/go-build/3f/3fab-d.1234.tmp (fd 9, in GOCACHE) grew by"
            ),
            "{}",
            v.summary
        );
        assert!(
            v.evidence[0].contains("its size rose by"),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn a_cc_from_the_go_env_file_is_named_with_its_file_and_line() {
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_cc_never_returns/evidence.json"
        ))
        .unwrap();
        // The same build, with CC set by `go env -w` instead of the environment.
        each_process(&mut ev, |p| {
            p.env.remove("CC");
        });
        let ctx = ev.go.as_mut().unwrap();
        ctx.settings.insert(
            "CC".into(),
            crate::evidence::Setting {
                value: "/home/gopher/src/app/slowcc".into(),
                source: "/home/gopher/.config/go/env".into(),
                line: Some(2),
            },
        );
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ChildWait, "{c:#?}");
        let origin = "CC=/home/gopher/src/app/slowcc (set with `go env -w` in /home/gopher/.config/go/env line 2; `go env -u CC` removes it)";
        assert!(
            v.evidence
                .iter()
                .any(|e| e == &format!("it was started as the tool named by {origin}")),
            "{:#?}",
            v.evidence
        );
        assert!(v.remedy.as_deref().unwrap().contains(origin));
    }

    #[test]
    fn a_go_program_under_probe_is_told_to_let_probe_take_the_dump() {
        let r = remedy(&sleeper());
        assert!(
            r.contains("run the command again under `gohang probe --goroutines -- …`"),
            "{r}"
        );
        assert!(
            !r.contains("kill -QUIT"),
            "probe has stopped the process already: {r}"
        );
    }

    #[test]
    fn a_go_program_under_attach_is_told_to_attach_with_goroutines() {
        let mut ev = sleeper();
        attached(&mut ev);
        let r = remedy(&ev);
        assert!(r.contains("gohang attach 22143 --goroutines"), "{r}");
        assert!(!r.contains("gohang probe"), "{r}");
    }

    #[test]
    fn a_program_without_go_build_info_gets_no_goroutine_advice() {
        let mut ev = sleeper();
        not_go(&mut ev);
        let r = remedy(&ev);
        assert!(r.starts_with("it is not a Go program"), "{r}");
        assert!(r.contains("gohang probe --trace -- …"), "{r}");
        assert!(
            !r.contains("--goroutines") && !r.contains("kill -QUIT"),
            "{r}"
        );

        attached(&mut ev);
        let r = remedy(&ev);
        assert!(r.contains("gohang attach 22143 --trace"), "{r}");
        assert!(r.contains("cat /proc/22143/task/*/stack"), "{r}");

        ev.host.os = crate::evidence::Os::Macos;
        let r = remedy(&ev);
        assert!(r.contains("`sample 22143`"), "{r}");
        assert!(!r.contains("/proc/"), "{r}");
    }

    #[test]
    fn a_trace_already_taken_is_not_advised_again() {
        let mut ev = sleeper();
        not_go(&mut ev);
        attached(&mut ev);
        ev.trace = Some(crate::evidence::TraceSummary {
            tool: "strace".into(),
            ..Default::default()
        });
        let r = remedy(&ev);
        assert!(!r.contains("--trace`"), "{r}");
        assert!(r.contains("trace is in the evidence"), "{r}");
    }

    #[test]
    fn an_unreadable_executable_gets_both_pieces_of_advice() {
        let mut ev = sleeper();
        not_go(&mut ev);
        each_process(&mut ev, |p| {
            p.binary = Fact::unavailable("permission denied")
        });
        let r = remedy(&ev);
        assert!(r.contains("whether it is a Go program is unknown"), "{r}");
        assert!(r.contains("if it is, ask the Go runtime"), "{r}");
        assert!(
            r.contains("if not, run the command again under `gohang probe --trace"),
            "{r}"
        );
    }

    #[test]
    fn a_dump_already_taken_is_quoted_and_not_asked_for_again() {
        let mut ev = sleeper();
        ev.goroutines = Some(GoroutineDump {
            source: None,
            pid: 22143,
            answered: true,
            goroutines: crate::goroutines::parse(
                "goroutine 1 [sleep, 2 minutes]:\ntime.Sleep(0x34630b8a000)\n\t/usr/local/go/src/runtime/time.go:315 +0xf2\nmain.main()\n\t/src/sleeper.go:12 +0x45\n",
            ),
            note: None,
        });
        let c = classify(&ev);
        let v = &c.verdicts[0];
        let r = v.remedy.as_deref().unwrap();
        assert!(
            r.starts_with("the Go runtime already answered SIGQUIT"),
            "{r}"
        );
        assert!(r.contains("gohang bundle -- …"), "{r}");
        let quoted: Vec<_> = v
            .evidence
            .iter()
            .filter(|e| e.starts_with("Go runtime of pid 22143: goroutine 1 [sleep"))
            .collect();
        assert_eq!(quoted.len(), 1, "quoted once: {:#?}", v.evidence);

        // A dump of another process says nothing about this one.
        ev.goroutines.as_mut().unwrap().pid = 1;
        assert!(remedy(&ev).contains("gohang probe --goroutines -- …"));
    }

    #[test]
    fn io_wait_advice_is_the_hosts_own() {
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_go_on_dead_fuse_mount/evidence.json"
        ))
        .unwrap();
        let r = |ev: &Evidence| {
            let c = classify(ev);
            assert_eq!(c.verdicts[0].kind, VerdictKind::IoWait, "{:#?}", c.reasons);
            c.verdicts[0].remedy.clone().unwrap()
        };
        assert!(r(&ev).contains("umount -l"));
        ev.host.os = crate::evidence::Os::Macos;
        let mac = r(&ev);
        assert!(mac.contains("umount -f MOUNTPOINT"), "{mac}");
        assert!(
            !mac.contains("/proc/") && !mac.contains("umount -l") && !mac.contains("findmnt"),
            "{mac}"
        );
    }

    #[test]
    fn a_runtime_that_did_not_answer_points_below_the_runtime() {
        let mut ev = sleeper();
        ev.goroutines = Some(GoroutineDump {
            source: None,
            pid: 22143,
            answered: false,
            goroutines: Vec::new(),
            note: Some("the Go runtime printed no goroutines".into()),
        });
        let r = remedy(&ev);
        // No dump has causes besides a runtime that does not run: the go command catches
        // SIGQUIT while go run/go test wait, and GOTRACEBACK=none prints nothing.
        assert!(
            r.starts_with("no goroutine dump came back for SIGQUIT")
                && r.contains("`go run` and `go test`")
                && r.contains("GOTRACEBACK=none"),
            "{r}"
        );
        assert!(r.contains("gohang probe --trace -- …"), "{r}");

        // attach: the dump went to the process's own stderr.
        attached(&mut ev);
        let r = remedy(&ev);
        assert!(r.contains("at the end of the process's own stderr"), "{r}");
    }

    /// The real spinner (tests/fixtures/linux_spinning_go_program), its CPU use scaled down
    /// to `share` of a core, as on a machine whose other work takes the rest.
    #[test]
    fn a_runnable_process_held_back_by_its_cpu_quota_is_throttled_not_idle() {
        // 2 % of a core, always runnable: without the quota this is "neither busy nor idle".
        let mut ev = starved_spinner(0.02);
        let n = ev.samples.len() as u64;
        for (i, s) in ev.samples.iter_mut().enumerate() {
            for p in &mut s.processes {
                p.cgroup = crate::evidence::Fact::Collected(crate::evidence::CgroupInfo {
                    version: crate::evidence::CgroupVersion::V2,
                    path: "/ci/job".into(),
                    state_file: None,
                    frozen: false,
                    state: None,
                    frozen_by: None,
                    cpu_quota: Some(crate::evidence::CpuQuota {
                        path: "/ci".into(),
                        file: "/sys/fs/cgroup/ci/cpu.max".into(),
                        quota_us: 2000,
                        period_us: 100_000,
                        nr_throttled: 40 + 5 * i as u64,
                        throttled_us: 1_000_000 + 90_000 * i as u64,
                    }),
                });
            }
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Spinning, "{:#?}", c.reasons);
        assert!(
            v.summary
                .contains("throttled by its cgroup's CPU quota (2 % of a core, /ci)"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.starts_with(&format!("cpu.stat: throttled {} times", 5 * (n - 1)))),
            "{:#?}",
            v.evidence
        );
        // Counters that do not move: no throttling seen.
        for s in &mut ev.samples {
            for p in &mut s.processes {
                if let crate::evidence::Fact::Collected(c) = &mut p.cgroup {
                    c.cpu_quota.as_mut().unwrap().nr_throttled = 40;
                }
            }
        }
        assert!(!classify(&ev).verdicts[0].summary.contains("throttled"));
    }

    fn starved_spinner(share: f64) -> Evidence {
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_spinning_go_program/evidence.json"
        ))
        .unwrap();
        let t0 = ev.samples[0].at_ms;
        for s in &mut ev.samples {
            let cpu = 720 + ((s.at_ms - t0) as f64 * share) as u64;
            for p in &mut s.processes {
                p.cpu_ms = cpu;
            }
        }
        ev
    }

    #[test]
    fn a_spinner_starved_of_cpu_but_always_runnable_is_spinning() {
        let c = classify(&starved_spinner(0.3));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Spinning, "{:#?}", c.reasons);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("runnable (R) in 5/5 samples")),
            "{:#?}",
            v.evidence
        );
        // A full-speed spinner needs no such excuse.
        let c = classify(&starved_spinner(0.9));
        assert!(
            !c.verdicts[0]
                .evidence
                .iter()
                .any(|e| e.contains("runnable (R)"))
        );
    }

    #[test]
    fn the_same_cpu_share_while_asleep_is_not_spinning() {
        let mut ev = starved_spinner(0.3);
        each_process(&mut ev, |p| {
            for t in &mut p.threads {
                t.state = crate::evidence::RunState::Sleeping;
            }
            p.state = crate::evidence::RunState::Sleeping;
        });
        let c = classify(&ev);
        assert_ne!(
            c.verdicts[0].kind,
            VerdictKind::Spinning,
            "{:#?}",
            c.reasons
        );
    }

    /// A spinner given a tenth of a core and seen runnable in only two samples of five: the
    /// sampled states cannot tell it from a sleeper, its run-queue wait (schedstat) can.
    fn spinner_behind_a_run_queue(waiting_share: f64) -> Evidence {
        let mut ev = starved_spinner(0.1);
        let t0 = ev.samples[0].at_ms;
        for (i, s) in ev.samples.iter_mut().enumerate() {
            let elapsed = s.at_ms - t0;
            for p in &mut s.processes {
                for (k, t) in p.threads.iter_mut().enumerate() {
                    t.state = if k == 0 && i % 2 == 1 {
                        crate::evidence::RunState::Running
                    } else {
                        crate::evidence::RunState::Sleeping
                    };
                    if k == 0 {
                        (t.utime_ms, t.stime_ms) = (500 + elapsed / 10, 0);
                        t.run_delay_ms = Some(40 + (elapsed as f64 * waiting_share) as u64);
                    } else {
                        t.run_delay_ms = Some(3);
                    }
                }
            }
        }
        ev
    }

    #[test]
    fn a_thread_that_is_running_or_queued_all_the_window_is_spinning() {
        let ev = spinner_behind_a_run_queue(0.88);
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Spinning, "{:#?}", c.reasons);
        let tid = ev.samples[0].processes[0].threads[0].tid;
        assert!(
            v.evidence.iter().any(|e| e.starts_with(&format!(
                "tid {tid} was running or waiting for a CPU 98 % of the window (schedstat)"
            ))),
            "{:#?}",
            v.evidence
        );
        // Without the run-queue wait the same samples are not busy enough to say so.
        let mut unknown = ev.clone();
        each_process(&mut unknown, |p| {
            for t in &mut p.threads {
                t.run_delay_ms = None;
            }
        });
        assert_ne!(classify(&unknown).verdicts[0].kind, VerdictKind::Spinning);
        // A thread that mostly sleeps is not CPU-bound, whatever it waited for a CPU.
        let sleeper = spinner_behind_a_run_queue(0.3);
        assert_ne!(classify(&sleeper).verdicts[0].kind, VerdictKind::Spinning);
    }
}
