//! What native stacks and Rosetta's own messages say, where the Go runtime cannot speak.
//!
//! Signals read:
//! - Call trees from the OS sampler (`Evidence.native_stacks`, macOS `/usr/bin/sample`),
//!   each thread reduced to its heaviest path:
//!   * the main thread still at `_dyld_start`: the program never reached `main()`. macOS
//!     holds a new executable there while syspolicyd (Gatekeeper/XProtect) or amfid
//!     assesses it — sometimes behind a dialog nobody sees; public reports show exactly
//!     one frame, `_dyld_start (in dyld) + 0`, 0 % CPU, a 96K footprint
//!     (rjwalters/loom#2298, entireio/cli#1065; a fresh Go build hanging until syspolicyd
//!     is killed: golang/go#37885) → `prompt-wait`;
//!   * `fork` and at-fork child handlers (`_libSystem_atfork_child`, `*_fork_child`) on the
//!     heaviest path: a forked child that never reached exec, spinning or deadlocked on a
//!     lock another thread held at fork time (golang/go#56784: `_notify_fork_child` under
//!     `syscall.forkAndExecInChild`; GoogleContainerTools/skaffold#9925: a spin in
//!     `nw_settings_child_has_forked`) → evidence and remedy on its `spinning` or `idle`
//!     verdict;
//!   * Rosetta's runtime (image `runtime`, `runtime_t8027`, `libRosettaRuntime`) at the leaf
//!     of a thread's heaviest path of a process burning CPU: the translator itself, not the
//!     Go code, is busy → strengthens `translated` (an idle translated program also waits
//!     there: its system calls pass through Rosetta);
//!   * every thread parked in the Go runtime (`runtime.semasleep`, `runtime.kevent`, …):
//!     the program waits on itself (a channel, a lock, the network poller) → evidence on
//!     `idle`.
//! - Rosetta's assertion message in the output, `assertion failed [expr]: message`
//!   followed by `(File.cpp:LINE function)` (pulumi/pulumi#8381; golang/go#68485, where
//!   the Go runtime then stalls and `GODEBUG=asyncpreemptoff=1` is the workaround, as in
//!   golang/go#42700) → `translated`, high confidence.

use super::{Findings, secs, tree::Tree};
use crate::classify::remedy;
use crate::evidence::{Evidence, NativeFrame, NativeThread, ProcessStacks, Translation};
use crate::verdict::{Confidence, Verdict, VerdictKind};
use std::collections::BTreeMap;

/// Share of a thread's samples a stack must hold to say "it is there".
const DOMINANT: f64 = 0.5;
/// Half a core over the window: the process is busy (as `activity` judges spinning).
const BUSY_SHARE: f64 = 0.5;
/// `_dyld_start` must hold nearly every sample: a starting program passes through quickly.
const DYLD_DOMINANT: f64 = 0.9;

/// Go runtime functions a parked thread sleeps in (darwin: libSystem-backed).
const GO_PARK: &[&str] = &[
    "runtime.semasleep",
    "runtime.notesleep",
    "runtime.notetsleep",
    "runtime.notetsleepg",
    "runtime.mPark",
    "runtime.stopm",
    "runtime.netpoll",
    "runtime.kevent",
    "runtime.usleep",
    "runtime.pthread_cond_wait",
    "runtime.pthread_cond_timedwait_relative_np",
];

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    rosetta_assertion(tree, f);
    let Some(ns) = &tree.ev.native_stacks else {
        return;
    };
    for ps in &ns.processes {
        if let Some(err) = &ps.error {
            f.note(format!("native stacks of pid {}: {err}", ps.pid));
            continue;
        }
        let Some(p) = tree.get(ps.pid) else {
            f.note(format!(
                "native stacks of pid {}: not in the sampled tree",
                ps.pid
            ));
            continue;
        };
        let tool = ns.tool.rsplit('/').next().unwrap_or(&ns.tool);

        if let Some(main) = at_dyld_start(ps) {
            let leaf = main.stack.last().map(frame_text).unwrap_or_default();
            let mut v = Verdict::new(
                VerdictKind::PromptWait,
                Confidence::Medium,
                Some(p.pid()),
                format!(
                    "{} never started: macOS holds it at _dyld_start, before main(), while it \
                     assesses the new executable (Gatekeeper/XProtect or code-signature \
                     checks); a security prompt may be waiting for an answer",
                    p.label()
                ),
            )
            .fact(format!(
                "native stacks ({tool}): {}/{} samples of the main thread in dyld at `{leaf}`, \
                 the program never reached main()",
                main.stack.last().map(|l| l.count).unwrap_or(0),
                main.samples
            ));
            let path = ps.path.clone().or_else(|| p.last.exe.value().cloned());
            if let Some(path) = &path {
                v = v.fact(format!("executable {path}"));
            }
            if p.span_ms() > 0 {
                v = v.fact(format!(
                    "CPU over {}: {} ms",
                    secs(p.span_ms()),
                    p.cpu_delta_ms()
                ));
            }
            // The cause is found: the fallbacks for this process ("asleep, no cause",
            // "uninterruptible sleep on a disk") no longer apply.
            let pid = p.pid();
            f.candidates.retain(|c| {
                !(c.verdict.pid == Some(pid)
                    && matches!(c.verdict.kind, VerdictKind::Idle | VerdictKind::IoWait))
            });
            f.add(
                v.remedy(remedy::dyld_assessment(path.as_deref())),
                p.depth,
                format!(
                    "{}: main thread at _dyld_start (replaces its idle/io-wait fallback)",
                    p.label()
                ),
            );
            continue;
        }

        if let Some((thread, from)) = in_fork_child(ps) {
            let chain = thread.stack[from..]
                .iter()
                .map(|fr| fr.symbol.as_str())
                .collect::<Vec<_>>()
                .join(" → ");
            let leaf = thread.stack.last().map(|l| l.count).unwrap_or(0);
            let by_go = thread
                .stack
                .iter()
                .any(|fr| fr.symbol.starts_with("syscall.forkAndExecInChild"));
            let mut facts = vec![format!(
                "native stacks ({tool}): {leaf}/{} samples inside fork()'s child side: {chain}",
                thread.samples
            )];
            if by_go {
                facts.push(
                    "called from Go's syscall.forkAndExecInChild: the child of os/exec never \
                     reached exec"
                        .to_string(),
                );
            }
            let pid = p.pid();
            let label = p.label();
            let touched = augment(
                f,
                pid,
                &[
                    VerdictKind::Spinning,
                    VerdictKind::Idle,
                    VerdictKind::IoWait,
                ],
                |v| {
                    if v.kind == VerdictKind::Idle {
                        v.summary = format!(
                            "{label} is a forked child stuck in fork()'s child-side handlers and never reached exec"
                        );
                    }
                    v.confidence = v.confidence.max(Confidence::Medium);
                    v.evidence.extend(facts.iter().cloned());
                    v.remedy = Some(remedy::fork_child(pid));
                },
            );
            f.note(format!(
                "{label}: in fork()'s child side ({chain}){}",
                if touched {
                    ""
                } else {
                    "; no verdict to add it to"
                }
            ));
            continue;
        }

        // Rosetta's runtime also carries a translated program's system calls, so its frames
        // at the leaf mean "the translator is busy" only while the process burns CPU.
        let busy = p.cpu_share().is_some_and(|s| s >= BUSY_SHARE);
        if let Some((thread, leaf)) = in_rosetta_runtime(ps).filter(|_| busy) {
            let image = leaf.image.clone().unwrap_or_default();
            let fact = format!(
                "native stacks ({tool}): thread {} spends {}/{} samples in Rosetta's runtime \
                 (`{image}`), not in the program's code: the translator itself is busy",
                short_thread(&thread.name),
                leaf.count,
                thread.samples
            );
            let code_type = ps.code_type.clone();
            let touched = augment(f, p.pid(), &[VerdictKind::Translated], |v| {
                v.confidence = Confidence::High;
                v.evidence.push(fact.clone());
                if let Some(ct) = &code_type {
                    v.evidence.push(format!("{tool}: Code Type {ct}"));
                }
            });
            if !touched {
                let v = Verdict::new(
                    VerdictKind::Translated,
                    Confidence::High,
                    Some(p.pid()),
                    format!(
                        "{} runs under Rosetta 2 and the translator itself is busy",
                        p.label()
                    ),
                )
                .fact(fact)
                .remedy(remedy::translated(
                    &Translation::Rosetta { program_arch: None },
                    &tree.ev.host.os,
                ));
                f.add(v, p.depth, format!("{}: Rosetta runtime frames", p.label()));
            }
            continue;
        }

        if let Some(parked) = parked_in_go_runtime(ps) {
            let list: Vec<String> = parked.iter().map(|(w, n)| format!("{n}× {w}")).collect();
            let poller = parked
                .keys()
                .any(|w| w.contains("kevent") || w.contains("netpoll"));
            let mut facts = vec![format!(
                "native stacks ({tool}): every thread is parked in the Go runtime ({}): the \
                 program waits on its own goroutines (a channel, a lock, a timer{}), not on \
                 the OS",
                list.join(", "),
                if poller { " or the network poller" } else { "" }
            )];
            if poller && !p.last.sockets.is_empty() {
                facts.push(format!(
                    "its network poller waits while {} socket(s) are open",
                    p.last.sockets.len()
                ));
            }
            let touched = augment(f, p.pid(), &[VerdictKind::Idle], |v| {
                v.evidence.extend(facts.iter().cloned());
            });
            f.note(format!(
                "{}: parked in the Go runtime{}",
                p.label(),
                if touched {
                    ""
                } else {
                    "; no idle verdict to add it to"
                }
            ));
        }
    }
}

/// Add to the candidate verdict of `pid` whose kind is the first of `kinds` found.
fn augment(
    f: &mut Findings,
    pid: u32,
    kinds: &[VerdictKind],
    edit: impl FnOnce(&mut Verdict),
) -> bool {
    for k in kinds {
        if let Some(c) = f
            .candidates
            .iter_mut()
            .find(|c| c.verdict.kind == *k && c.verdict.pid == Some(pid))
        {
            edit(&mut c.verdict);
            return true;
        }
    }
    false
}

fn frame_text(fr: &NativeFrame) -> String {
    match &fr.image {
        Some(i) => format!("{} (in {i})", fr.symbol),
        None => fr.symbol.clone(),
    }
}

/// "Thread_123" out of "Thread_123: Main Thread   DispatchQueue_1: …".
fn short_thread(name: &str) -> String {
    let main = name.contains("Main Thread");
    let id = name
        .split(|c: char| c == ':' || c.is_whitespace())
        .next()
        .unwrap_or(name);
    if main {
        format!("{id} (main)")
    } else {
        id.to_string()
    }
}

fn is_rosetta_thread(t: &NativeThread) -> bool {
    t.name.contains("com.apple.rosetta")
}

fn is_rosetta_image(image: &str) -> bool {
    image == "runtime" || image.starts_with("runtime_t") || image.contains("Rosetta")
}

fn share(count: u32, of: u32) -> f64 {
    if of == 0 {
        0.0
    } else {
        count as f64 / of as f64
    }
}

/// The main thread, when its heaviest path begins at `_dyld_start` and stays in dyld (or a
/// system call it makes) for nearly all samples.
pub(crate) fn at_dyld_start(ps: &ProcessStacks) -> Option<&NativeThread> {
    let main = ps.threads.iter().find(|t| !is_rosetta_thread(t))?;
    let first = main.stack.first()?;
    let leaf = main.stack.last()?;
    let in_loader = main.stack.iter().all(|fr| {
        matches!(
            fr.image.as_deref(),
            Some("dyld") | Some("libsystem_kernel.dylib") | None
        )
    });
    (first.symbol == "_dyld_start" && in_loader && share(leaf.count, main.samples) >= DYLD_DOMINANT)
        .then_some(main)
}

fn is_fork_frame(symbol: &str) -> bool {
    matches!(symbol, "fork" | "__fork" | "_fork" | "libc_fork")
        || symbol.contains("atfork_child")
        || symbol.ends_with("fork_child")
}

/// A thread whose heaviest path goes through `fork` into the child-side handlers, and the
/// index of the first such frame.
pub(crate) fn in_fork_child(ps: &ProcessStacks) -> Option<(&NativeThread, usize)> {
    ps.threads
        .iter()
        .filter(|t| !is_rosetta_thread(t))
        .find_map(|t| {
            let i = t.stack.iter().position(|fr| is_fork_frame(&fr.symbol))?;
            // The child side: a handler below fork, or fork itself at the leaf is not enough.
            let child_side = t.stack[i..]
                .iter()
                .any(|fr| fr.symbol.contains("atfork_child") || fr.symbol.ends_with("fork_child"));
            let leaf = t.stack.last()?;
            (child_side && share(leaf.count, t.samples) >= DOMINANT).then_some((t, i))
        })
}

/// A non-Rosetta thread whose heaviest leaf is in Rosetta's runtime for most samples.
pub(crate) fn in_rosetta_runtime(ps: &ProcessStacks) -> Option<(&NativeThread, &NativeFrame)> {
    ps.threads
        .iter()
        .filter(|t| !is_rosetta_thread(t))
        .find_map(|t| {
            let leaf = t.stack.last()?;
            (leaf.image.as_deref().is_some_and(is_rosetta_image)
                && share(leaf.count, t.samples) >= DOMINANT)
                .then_some((t, leaf))
        })
}

/// Where each thread is parked, when every (non-Rosetta) thread is parked in the Go runtime.
pub(crate) fn parked_in_go_runtime(ps: &ProcessStacks) -> Option<BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    let mut any = false;
    for t in ps.threads.iter().filter(|t| !is_rosetta_thread(t)) {
        let park = t.stack.iter().rev().find_map(|fr| {
            GO_PARK
                .iter()
                .find(|p| fr.symbol == **p || fr.symbol.starts_with(&format!("{p}.")))
        })?;
        *out.entry(park.to_string()).or_default() += 1;
        any = true;
    }
    any.then_some(out)
}

/// Rosetta's assertion: `assertion failed [expr]: message` and `(File.cpp:LINE function)`,
/// on one line or two. Returns the text joined on one line.
pub(crate) fn find_rosetta_assertion(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("assertion failed [") else {
            continue;
        };
        let head = line[at..].trim();
        let location = |s: &str| -> bool {
            let s = s.trim();
            s.starts_with('(')
                && s.ends_with(')')
                && s.split_whitespace().next().is_some_and(|loc| {
                    let loc = loc.trim_start_matches('(');
                    loc.rsplit_once(':').is_some_and(|(file, n)| {
                        (file.ends_with(".cpp") || file.ends_with(".h") || file.ends_with(".mm"))
                            && n.trim_end_matches(')').chars().all(|c| c.is_ascii_digit())
                    })
                })
        };
        // Same line: "... (File.cpp:12 fn)".
        if let Some(open) = head.rfind(" (")
            && location(&head[open..])
        {
            return Some(head.to_string());
        }
        if let Some(next) = lines.get(i + 1)
            && location(next)
        {
            return Some(format!("{head} {}", next.trim()));
        }
    }
    None
}

fn rosetta_assertion(tree: &Tree, f: &mut Findings) {
    let ev: &Evidence = tree.ev;
    let found = [&ev.output.stderr.tail, &ev.output.stdout.tail]
        .into_iter()
        .find_map(|t| find_rosetta_assertion(t));
    let Some(assertion) = found else {
        return;
    };
    let fact = format!("Rosetta 2 reported an internal error before the stall: `{assertion}`");
    let mut touched = false;
    for c in f
        .candidates
        .iter_mut()
        .filter(|c| c.verdict.kind == VerdictKind::Translated)
    {
        c.verdict.confidence = Confidence::High;
        c.verdict.evidence.push(fact.clone());
        touched = true;
    }
    if !touched {
        let command = ev.target.command.join(" ");
        let v = Verdict::new(
            VerdictKind::Translated,
            Confidence::High,
            ev.target.pid,
            format!("Rosetta 2 failed inside its translator while running `{command}`"),
        )
        .fact(fact)
        .remedy(remedy::translated(
            &Translation::Rosetta { program_arch: None },
            &ev.host.os,
        ));
        f.add(
            v,
            0,
            "Rosetta's assertion message in the output".to_string(),
        );
    } else {
        f.note("Rosetta's assertion message in the output".to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(symbol: &str, image: &str, count: u32) -> NativeFrame {
        NativeFrame {
            symbol: symbol.to_string(),
            image: (!image.is_empty()).then(|| image.to_string()),
            count,
        }
    }

    fn thread(name: &str, samples: u32, stack: Vec<NativeFrame>) -> NativeThread {
        NativeThread {
            name: name.to_string(),
            samples,
            stack,
        }
    }

    fn stacks(threads: Vec<NativeThread>) -> ProcessStacks {
        ProcessStacks {
            pid: 1,
            threads,
            ..ProcessStacks::default()
        }
    }

    #[test]
    fn dyld_start_detection() {
        let ps = stacks(vec![thread(
            "Thread_1: Main Thread",
            826,
            vec![frame("_dyld_start", "dyld", 826)],
        )]);
        assert!(at_dyld_start(&ps).is_some());
        // Deeper in the loader, waiting in a system call: still before main.
        let ps = stacks(vec![thread(
            "Thread_1: Main Thread",
            800,
            vec![
                frame("_dyld_start", "dyld", 800),
                frame(
                    "dyld4::prepare(dyld4::APIs&, dyld3::MachOAnalyzer const*)",
                    "dyld",
                    800,
                ),
                frame("__fcntl", "libsystem_kernel.dylib", 790),
            ],
        )]);
        assert!(at_dyld_start(&ps).is_some());
        // A running program starts at `start (in dyld)` and reaches main.
        let ps = stacks(vec![thread(
            "Thread_1: Main Thread",
            800,
            vec![frame("start", "dyld", 800), frame("main", "hello", 800)],
        )]);
        assert!(at_dyld_start(&ps).is_none());
        // Passing through dyld during a short window is not a stall.
        let ps = stacks(vec![thread(
            "Thread_1",
            800,
            vec![frame("_dyld_start", "dyld", 100)],
        )]);
        assert!(at_dyld_start(&ps).is_none());
    }

    #[test]
    fn fork_child_detection() {
        let ps = stacks(vec![thread(
            "Thread_9: Main Thread",
            900,
            vec![
                frame("runtime.asmcgocall.abi0", "go", 900),
                frame("syscall.forkAndExecInChild1", "go", 900),
                frame("fork", "libsystem_c.dylib", 900),
                frame("_libSystem_atfork_child", "libSystem.B.dylib", 900),
                frame("_malloc_fork_child", "libsystem_malloc.dylib", 890),
                frame("_os_unfair_lock_lock_slow", "libsystem_platform.dylib", 880),
            ],
        )]);
        let (t, i) = in_fork_child(&ps).unwrap();
        assert_eq!(t.stack[i].symbol, "fork");
        // fork() in the parent's stack alone (no child-side handler) is not this case.
        let ps = stacks(vec![thread(
            "Thread_9",
            900,
            vec![
                frame("fork", "libsystem_c.dylib", 900),
                frame("__fork", "libsystem_kernel.dylib", 900),
            ],
        )]);
        assert!(in_fork_child(&ps).is_none());
    }

    #[test]
    fn rosetta_runtime_and_go_parking() {
        let ps = stacks(vec![
            thread(
                "Thread_2: Main Thread",
                1000,
                vec![
                    frame("runtime.mstart.abi0", "go", 1000),
                    frame("???", "runtime", 950),
                ],
            ),
            thread(
                "Thread_3: com.apple.rosetta.exceptionserver",
                1000,
                vec![frame("???", "runtime", 1000)],
            ),
        ]);
        let (t, leaf) = in_rosetta_runtime(&ps).unwrap();
        assert!(t.name.contains("Main"));
        assert_eq!(leaf.count, 950);
        // The exception server alone (present in every translated process) is not a sign.
        let ps2 = stacks(vec![ps.threads[1].clone()]);
        assert!(in_rosetta_runtime(&ps2).is_none());

        let parked = stacks(vec![
            thread(
                "Thread_4: Main Thread",
                900,
                vec![
                    frame("runtime.mstart", "go", 900),
                    frame("runtime.semasleep.abi0", "go", 900),
                    frame("runtime.pthread_cond_wait.abi0", "go", 900),
                    frame("__psynch_cvwait", "libsystem_kernel.dylib", 900),
                ],
            ),
            thread(
                "Thread_5",
                900,
                vec![
                    frame("runtime.netpoll", "go", 900),
                    frame("runtime.kevent.abi0", "go", 900),
                    frame("kevent", "libsystem_kernel.dylib", 900),
                ],
            ),
        ]);
        let p = parked_in_go_runtime(&parked).unwrap();
        assert_eq!(p.get("runtime.pthread_cond_wait"), Some(&1));
        assert_eq!(p.get("runtime.kevent"), Some(&1));
        let busy = stacks(vec![thread(
            "Thread_6",
            900,
            vec![frame("main.loop", "go", 900)],
        )]);
        assert!(parked_in_go_runtime(&busy).is_none());
    }

    #[test]
    fn rosetta_assertion_shapes() {
        let two_lines = "go: downloading golang.org/x/mod v0.17.0\n\
assertion failed [arm_interval().contains(address)]: code fragment does not contain the given arm address\n\
(CodeFragmentMetadata.cpp:48 instruction_extents_for_arm_address)\n";
        let a = find_rosetta_assertion(two_lines).unwrap();
        assert!(a.starts_with("assertion failed [arm_interval()"));
        assert!(a.ends_with("(CodeFragmentMetadata.cpp:48 instruction_extents_for_arm_address)"));
        let one_line = "    assertion failed [inst.has_value()]: failed to decode instruction: 0x0 (StateRecovery.cpp:336 determine_state_recovery_action_forward_branches)";
        assert!(find_rosetta_assertion(one_line).is_some());
        // C assert() output and prose are not Rosetta's.
        assert!(
            find_rosetta_assertion("Assertion failed: (x > 0), function f, file a.c, line 3.")
                .is_none()
        );
        assert!(
            find_rosetta_assertion("assertion failed [x]: no location here\nnext line").is_none()
        );
        assert!(find_rosetta_assertion("").is_none());
    }

    #[test]
    fn thread_labels() {
        assert_eq!(
            short_thread("Thread_42: Main Thread   DispatchQueue_1: q"),
            "Thread_42 (main)"
        );
        assert_eq!(short_thread("Thread_7"), "Thread_7");
    }
}
