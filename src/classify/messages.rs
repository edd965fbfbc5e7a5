//! Rules over what the command printed: messages that name a cause outright.
//!
//! Each rule says where the message comes from. They look at the captured tails of
//! stdout and stderr only, so a message scrolled out of the tail is missed, not invented.

use super::{Findings, tree::Tree};
use crate::classify::remedy;
use crate::verdict::{Confidence, Verdict, VerdictKind};

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    let out = &tree.ev.output;
    for text in [&out.stderr.tail, &out.stdout.tail] {
        for line in text.lines() {
            exec_of_foreign_binary(tree, line, f);
            emulator_messages(tree, line, f);
            linker_arch(tree, line, f);
            missing_xcode_tools(line, f);
        }
    }
}

/// Does something of this run execute translated: gohang itself, a process of the tree, or
/// the go binary the command ran (by its architecture and the registered emulators)? An
/// emulator that is merely registered proves nothing about a native run.
fn translated_in_play(tree: &Tree) -> bool {
    let host = &tree.ev.host;
    !host.translation.is_native()
        || tree.procs.iter().any(|p| !p.last.translation.is_native())
        || tree.ev.toolchain.as_ref().is_some_and(|t| {
            t.go.binary.as_ref().is_some_and(|b| {
                matches!(
                    crate::classify::analysis::fit(b, host),
                    crate::classify::analysis::Fit::Translated { .. }
                )
            })
        })
}

/// Messages printed when a program runs under qemu-user and the emulation falls short.
fn emulator_messages(tree: &Tree, line: &str, f: &mut Findings) {
    if f.candidates
        .iter()
        .any(|c| c.verdict.kind == VerdictKind::Translated && c.verdict.pid.is_none())
    {
        return;
    }
    let (summary, source, remedy_text) = if line.contains("qemu: uncaught target signal") {
        // qemu-user's own report of a guest crash (linux-user/signal.c); seen in multi-arch
        // container builds of Go code: moby/buildkit#2541, docker/buildx#1169.
        (
            "a program run by qemu-user crashed inside the emulator",
            "moby/buildkit#2541, docker/buildx#1169",
            remedy::emulator_failure(),
        )
    } else if line.contains("futexwakeup addr=") && line.contains("returned -") {
        // The Go runtime's futex wake failed (-38 is ENOSYS): an emulator that does not
        // implement the futex operation Go uses (golang/go#57723).
        (
            "the Go runtime's futex calls fail under the emulator (the runtime then stalls or dies)",
            "golang/go#57723",
            remedy::emulator_failure(),
        )
    } else if line.contains("fork/exec ")
        && line.ends_with(": invalid argument")
        && translated_in_play(tree)
    {
        // Go ≥ 1.23 starts children with clone(CLONE_PIDFD), which qemu-user 7.2 up to
        // (not including) 8.0 rejects with EINVAL; Debian 12 ships qemu 7.2
        // (golang/go#68976, #69259).
        (
            "the go command could not start a child process under qemu-user: qemu-user 7.2 to 7.x rejects the clone(CLONE_PIDFD) that Go 1.23 uses",
            "golang/go#68976, golang/go#69259",
            remedy::qemu_clone_pidfd(),
        )
    } else {
        return;
    };
    let v = Verdict::new(VerdictKind::Translated, Confidence::High, None, summary)
        .fact(format!("output: {}", line.trim()))
        .fact(format!("known issue: {source}"))
        .remedy(remedy_text);
    f.add(v, 0, format!("the output says `{}`", line.trim()));
}

/// Apple's linker refusing objects of another architecture: an x86_64 Go (running under
/// Rosetta) links with arm64 C objects or the reverse (golang/go#46724, #38485).
fn linker_arch(tree: &Tree, line: &str, f: &mut Findings) {
    let Some(i) = line.find("building for macOS-") else {
        return;
    };
    if !line.contains("but attempting to link with file built for") {
        return;
    }
    if f.candidates
        .iter()
        .any(|c| c.verdict.kind == VerdictKind::ArchMismatch)
    {
        return;
    }
    let building = line[i + "building for macOS-".len()..]
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .trim_end_matches(',');
    let other = line.rsplit("built for ").next().unwrap_or("?").trim();
    let ev = tree.ev;
    let v = Verdict::new(
        VerdictKind::ArchMismatch,
        Confidence::High,
        None,
        format!(
            "the linker builds for {building} but got objects built for {other}: the Go toolchain and the C toolchain disagree on the architecture"
        ),
    )
    .fact(format!("output: {}", line.trim()))
    .fact(format!("hardware architecture: {}", ev.host.hardware_arch.display_for(&ev.host.os)))
    .fact("known issue: golang/go#46724 (an x86_64 Go on an arm64 Mac makes cgo build for x86_64)".to_string())
    .remedy(remedy::arch_mismatch(
        &ev.host.os,
        &ev.host.hardware_arch,
        &[],
        ev.host.rosetta_installed,
    ));
    f.add(
        v,
        0,
        "the linker says the object files are of another architecture".to_string(),
    );
}

/// `xcrun: error: invalid active developer path`: the Command Line Tools are missing (or
/// were removed by a macOS upgrade); cgo cannot run clang (golang/go#27921). A failure,
/// not a hang: it becomes the fix of the command's own verdict.
fn missing_xcode_tools(line: &str, f: &mut Findings) {
    if !line.contains("xcrun: error: invalid active developer path") {
        return;
    }
    if let Some(c) = f
        .candidates
        .iter_mut()
        .find(|c| c.verdict.kind == VerdictKind::Healthy)
    {
        c.verdict.evidence.push(format!("output: {}", line.trim()));
        c.verdict.evidence.push(
            "the Xcode Command Line Tools are missing: cgo cannot run clang (golang/go#27921)"
                .to_string(),
        );
        c.verdict.remedy = Some("xcode-select --install".to_string());
    }
}

/// `fork/exec /path/to/tool: exec format error` (Linux ENOEXEC) or `bad CPU type in
/// executable` (macOS EBADARCH), printed by Go's os/exec when the go command runs a tool
/// of the wrong architecture (e.g. a foreign `pkg/tool/<os>_<arch>/compile`), or by
/// `go run` with GOOS/GOARCH set for another platform: it runs what it built for them
/// (golang/go#57693: `fork/exec …/b001/exe/main: exec format error` on an arm64 Mac with
/// GOOS=linux GOARCH=amd64; conda-forge/go-feedstock#132: `bad CPU type in executable` on
/// an Intel Mac with GOARCH=arm64). A shell says it too for a `go` of the wrong
/// architecture (golang/go#12527).
fn exec_of_foreign_binary(tree: &Tree, line: &str, f: &mut Findings) {
    let lower = line.to_ascii_lowercase();
    let err = if lower.contains("exec format error") {
        "exec format error"
    } else if lower.contains("bad cpu type in executable") {
        "bad CPU type in executable"
    } else {
        return;
    };
    if f.candidates
        .iter()
        .any(|c| c.verdict.kind == VerdictKind::ArchMismatch)
    {
        return;
    }
    // The path sits between "fork/exec " (Go) or "zsh: "/"sh: " and the ": <error>".
    let binary = line
        .find("fork/exec ")
        .map(|i| &line[i + "fork/exec ".len()..])
        .and_then(|rest| rest.split(": ").next())
        .map(str::to_string);
    let ev = tree.ev;
    let hw = ev.host.hardware_arch.display_for(&ev.host.os);
    let summary = match &binary {
        Some(b) => format!("`{b}` is not built for this {hw} machine and could not be run ({err})"),
        None => format!("a program of the wrong architecture could not be run ({err})"),
    };
    let mut v = Verdict::new(VerdictKind::ArchMismatch, Confidence::High, None, summary)
        .fact(format!("output: {}", line.trim()))
        .fact(format!("hardware architecture: {hw}"));
    // `go run` builds into its work directory, `$WORK/b001/exe/<name>`, for the GOOS and
    // GOARCH in effect, then runs the result here (golang/go#57693).
    if binary
        .as_deref()
        .is_some_and(|b| b.contains("/go-build") && b.contains("/exe/"))
    {
        v = v.fact(
            "it is what `go run` built in its work directory, for the GOOS/GOARCH in effect: \
             those are not this machine's (golang/go#57693)"
                .to_string(),
        );
    }
    let v = v.remedy(remedy::arch_mismatch(
        &ev.host.os,
        &ev.host.hardware_arch,
        &[],
        ev.host.rosetta_installed,
    ));
    f.add(v, 0, format!("the output says `{err}`"));
}

#[cfg(test)]
mod tests {
    use crate::classify::classify;
    use crate::evidence::{Arch, BinfmtHandler, Evidence, HostInfo, Mode, Os, Outcome, Target};
    use crate::verdict::VerdictKind;

    fn exited_with(stderr: &str, os: Os, binfmt: bool) -> Evidence {
        let host = HostInfo {
            arch: Arch::X86_64,
            binfmt: binfmt
                .then(|| BinfmtHandler {
                    name: "qemu-aarch64".into(),
                    enabled: true,
                    interpreter: "/usr/bin/qemu-aarch64-static".into(),
                    resolved: None,
                    flags: "PF".into(),
                    arch: Some(Arch::Aarch64),
                })
                .into_iter()
                .collect(),
            ..HostInfo::plain(
                os.clone(),
                if os == Os::Macos {
                    Arch::Aarch64
                } else {
                    Arch::X86_64
                },
                2,
            )
        };
        let target = Target {
            mode: Mode::Spawn,
            command: vec!["go".into(), "build".into()],
            pid: Some(10),
            timeout_ms: Some(10_000),
        };
        let mut ev = Evidence::new(
            host,
            target,
            Outcome::Exited {
                code: Some(1),
                signal: None,
                elapsed_ms: 900,
            },
        );
        ev.output.stderr.tail = stderr.to_string();
        ev
    }

    #[test]
    fn qemu_crash_and_futex_messages_are_translated() {
        for (text, issue) in [
            (
                "#7 99.79 qemu: uncaught target signal 11 (Segmentation fault) - core dumped\n",
                "buildkit#2541",
            ),
            (
                "futexwakeup addr=0x5ba008 returned -38\nfutexwakeup addr=0x5ba008 returned -38\n",
                "golang/go#57723",
            ),
        ] {
            let c = classify(&exited_with(text, Os::Linux, true));
            assert_eq!(c.verdicts[0].kind, VerdictKind::Translated, "{text}");
            assert!(c.verdicts[0].evidence.iter().any(|e| e.contains(issue)));
        }
    }

    #[test]
    fn invalid_argument_needs_a_translated_process() {
        let line = "go: can't start telemetry child process: fork/exec /usr/local/go/bin/go: invalid argument\n";
        // A qemu handler registered on the host proves nothing about a native run.
        let c = classify(&exited_with(line, Os::Linux, true));
        assert_eq!(
            c.verdicts[0].kind,
            VerdictKind::Healthy,
            "{:#?}",
            c.verdicts
        );
        assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::Translated));
        // gohang itself (and so the command) runs under qemu.
        let mut ev = exited_with(line, Os::Linux, true);
        ev.host.translation = crate::evidence::Translation::Binfmt {
            emulator: crate::evidence::Emulator::Qemu,
            interpreter: "/usr/bin/qemu-aarch64-static".into(),
            program: None,
            program_arch: Some(Arch::Aarch64),
        };
        let c = classify(&ev);
        assert_eq!(c.verdicts[0].kind, VerdictKind::Translated);
        assert!(
            c.verdicts[0]
                .remedy
                .as_deref()
                .unwrap()
                .contains("qemu-user 8.0")
        );
        // Without any emulation around, EINVAL from fork/exec means something else.
        let c = classify(&exited_with(line, Os::Linux, false));
        assert_eq!(c.verdicts[0].kind, VerdictKind::Healthy);
    }

    #[test]
    fn go_run_of_a_binary_built_for_another_platform_says_so() {
        let line =
            "fork/exec /var/folders/ty/T/go-build3935763930/b001/exe/main: exec format error\n";
        let c = classify(&exited_with(line, Os::Macos, false));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ArchMismatch);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("`go run` built") && e.contains("golang/go#57693")),
            "{:#?}",
            v.evidence
        );
        // A foreign tool of the toolchain is another story.
        let line = "fork/exec /usr/local/go/pkg/tool/linux_arm64/compile: exec format error\n";
        let c = classify(&exited_with(line, Os::Linux, false));
        assert!(c.verdicts[0].evidence.iter().all(|e| !e.contains("go run")));
    }

    #[test]
    fn macos_linker_and_xcrun_messages() {
        let ld = "ld: warning: ignoring file /var/folders/x/go.o, building for macOS-x86_64 but attempting to link with file built for macOS-arm64\n";
        let c = classify(&exited_with(ld, Os::Macos, false));
        assert_eq!(c.verdicts[0].kind, VerdictKind::ArchMismatch);
        assert!(
            c.verdicts[0].summary.contains("x86_64")
                && c.verdicts[0].summary.contains("macOS-arm64")
        );

        let xc = "# runtime/cgo\nxcrun: error: invalid active developer path (/Library/Developer/CommandLineTools), missing xcrun at: /Library/Developer/CommandLineTools/usr/bin/xcrun\n";
        let c = classify(&exited_with(xc, Os::Macos, false));
        assert_eq!(
            c.verdicts[0].kind,
            VerdictKind::Healthy,
            "a failure, not a hang"
        );
        assert_eq!(
            c.verdicts[0].remedy.as_deref(),
            Some("xcode-select --install")
        );
    }
}
