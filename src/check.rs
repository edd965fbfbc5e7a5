//! `gohang check`: a doctor for the Go toolchain, without running it.
//!
//! It gathers facts by reading files and kernel state (each step time-boxed, see
//! `toolchain::timebox`), then [`evaluate`] — a pure function, tested on hand-made facts
//! for macOS and Linux alike — turns them into checks: ✓ fine, ! worth knowing, ✗ wrong,
//! with a paste-ready fix under every ✗ and !. `docs/check-and-scan.md` explains each
//! check and its sources.
//!
//! Exit codes (DESIGN.md): 0 native and consistent; 1 wrong architecture or translated;
//! 2 mixed — part native, part not — or otherwise inconsistent (Go versions that differ, a
//! missing tool directory); 66 no `go` on PATH; 64 usage.
//!
//! # JSON format (`gohang.check/1`)
//!
//! One object: `schema`, `host` (as in `gohang.report/1`), `shell` (gohang's ancestors,
//! parent first, with their translation), `go_on_path[]` (`path`, `resolved`,
//! `dir_index`), `toolchain` (the first go: `go`, `goroot`, `goroot_source`, `tool_dir`,
//! `scan` of its GOROOT; null without a go), `analysis` (`go_fit`, `state`:
//! `native`/`foreign`/`mixed`, `foreign[]`, `invalid[]`, `version_mismatches[]`,
//! `stale_dirs[]`, …), `environment` (`env_file`, `settings[]` with `name`, `value`,
//! `source`), `installs[]`, `checks[]` (`id`, `status`: `ok`/`warn`/`fail`, `title`,
//! `summary`, `details[]`, `fix`, `impact`), `notes[]`, `exit_code`.

use crate::error::{Exit, UserError};
use crate::evidence::{Arch, HostInfo, Os};
use crate::guard;
use crate::output::{Output, emit};
use crate::rebuild::advice::{install_instead, replace_with_archive};
use crate::rebuild::foreign::Platform;
use crate::rebuild::version::GoVersion;
use crate::toolchain::analysis::{self, Analysis, ArchState, Fit};
use crate::toolchain::discover::{self, Install, PathGo, Places};
use crate::toolchain::goenv::{self, EnvFindings, SettingSource};
use crate::toolchain::hardware::{self, Ancestor};
use crate::toolchain::timebox::{self, CHECK_LIMIT};
use crate::toolchain::{Env, FileKind, ToolchainEvidence};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

pub const CHECK_SCHEMA: &str = "gohang.check/1";
/// How many processes above gohang are looked at for translation (shell, terminal, …).
const ANCESTORS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn symbol(&self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
        }
    }
}

/// What a failed check does to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    None,
    /// The toolchain is of the wrong architecture, or runs translated: exit 1.
    WrongArch,
    /// Part native, part not, or otherwise inconsistent: exit 2.
    Mixed,
    /// No go at all: exit 66.
    NoGo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub title: String,
    pub summary: String,
    #[serde(default)]
    pub details: Vec<String>,
    #[serde(default)]
    pub fix: Option<String>,
    pub impact: Impact,
}

impl Check {
    fn new(id: &str, title: &str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            id: id.to_string(),
            status,
            title: title.to_string(),
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
            impact: Impact::None,
        }
    }
    fn details(mut self, d: Vec<String>) -> Check {
        self.details = d;
        self
    }
    fn fix(mut self, f: impl Into<String>) -> Check {
        self.fix = Some(f.into());
        self
    }
    fn impact(mut self, i: Impact) -> Check {
        self.impact = i;
        self
    }
}

/// Everything `check` looks at, gathered before any judgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub host: HostInfo,
    pub shell: Result<Vec<Ancestor>, String>,
    pub path_dirs: Vec<String>,
    pub path_gos: Vec<PathGo>,
    pub toolchain: Option<ToolchainEvidence>,
    /// The GOROOT of the first go ignoring $GOROOT: its own installation.
    pub own_goroot: Option<String>,
    /// Whether the directory holding the GOROOT is writable by this user (a fix that
    /// replaces the tree needs it, else `sudo`); None when unknown.
    pub goroot_parent_writable: Option<bool>,
    pub env: EnvFindings,
    pub installs: Result<Vec<Install>, String>,
    pub notes: Vec<String>,
}

impl Facts {
    /// Does a process above gohang (or gohang itself) run translated?
    pub fn translated_shell(&self) -> bool {
        !self.host.translation.is_native()
            || self
                .shell
                .as_ref()
                .is_ok_and(|a| a.iter().any(|p| !p.translation.is_native()))
    }
}

/// Read the facts. Every step has a deadline; one that misses it becomes a note.
pub fn gather(env: &Env) -> Facts {
    let mut notes = Vec::new();
    let host = timebox::run("hardware", CHECK_LIMIT, hardware::host).unwrap_or_else(|e| {
        notes.push(e.to_string());
        HostInfo::of_build()
    });
    let os = host.os.clone();

    let h = host.clone();
    let shell = timebox::run("parent processes", CHECK_LIMIT, move || {
        hardware::ancestors(&h, ANCESTORS)
    })
    .map_err(|e| e.to_string());

    let (e, o) = (env.clone(), os.clone());
    let envf = timebox::run("go env file", CHECK_LIMIT, move || goenv::findings(&e, &o))
        .unwrap_or_else(|err| {
            notes.push(err.to_string());
            goenv::findings_from(env, None, Vec::new())
        });
    notes.extend(envf.file_error.clone());

    let e = env.clone();
    let path_gos = timebox::run("PATH", CHECK_LIMIT, move || discover::path_gos(&e))
        .unwrap_or_else(|err| {
            notes.push(err.to_string());
            Vec::new()
        });

    let mut facts = Facts {
        host,
        shell,
        path_dirs: env
            .get("PATH")
            .map(|p| p.split(':').map(str::to_string).collect())
            .unwrap_or_default(),
        path_gos,
        toolchain: None,
        own_goroot: None,
        goroot_parent_writable: None,
        env: envf,
        installs: Ok(Vec::new()),
        notes,
    };
    let translated = facts.translated_shell();

    if let Some(first) = facts.path_gos.first() {
        let go = first.path.clone();
        let (e, f, h) = (env.clone(), facts.env.clone(), facts.host.clone());
        match timebox::run("GOROOT", CHECK_LIMIT, move || {
            let mut t = crate::toolchain::evidence_for(Path::new(&go), &e, &f, &h, translated);
            // check writes fixes for many findings; who owns the tree is always asked.
            t.ask_package_owner();
            // Its own GOROOT, as if $GOROOT were not set anywhere.
            let bare = Env::from_pairs(e.iter().filter(|(k, _)| *k != "GOROOT"));
            let mut bare_f = f.clone();
            bare_f.file_values.retain(|(k, _)| k != "GOROOT");
            let own = discover::goroot_for(Path::new(&go), &bare, &bare_f, &h.os)
                .map(|(r, _)| r.display().to_string());
            let writable = t
                .scan
                .as_ref()
                .and_then(|s| Path::new(&s.root).parent().map(Path::to_path_buf))
                .map(|p| nix::unistd::access(&p, nix::unistd::AccessFlags::W_OK).is_ok());
            (t, own, writable)
        }) {
            Ok((t, own, writable)) => {
                facts.toolchain = Some(t);
                facts.own_goroot = own;
                facts.goroot_parent_writable = writable;
            }
            Err(err) => facts.notes.push(err.to_string()),
        }
    }

    let (e, f, o) = (env.clone(), facts.env.clone(), os);
    facts.installs = timebox::run("toolchain discovery", CHECK_LIMIT, move || {
        discover::installs(&e, &f, &Places::for_os(&o))
    })
    .map_err(|e| e.to_string());
    facts
}

/// The report `check` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub schema: String,
    pub host: HostInfo,
    pub shell: Vec<Ancestor>,
    pub go_on_path: Vec<PathGo>,
    pub toolchain: Option<ToolchainEvidence>,
    pub analysis: Option<Analysis>,
    pub environment: EnvFindings,
    pub installs: Vec<Install>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
    pub exit_code: u8,
}

/// Judge the facts.
pub fn evaluate(f: &Facts) -> CheckReport {
    let translated = f.translated_shell();
    let analysis = f
        .toolchain
        .as_ref()
        .map(|t| analysis::analyze(t, &f.host, translated));
    let mut checks = vec![
        hardware_check(f),
        shell_check(f, analysis.as_ref()),
        go_check(f, analysis.as_ref()),
    ];
    if let (Some(t), Some(a)) = (&f.toolchain, &analysis)
        && t.go.kind == FileKind::Binary
    {
        checks.push(goroot_check(f, t, a));
        if t.scan.is_some() {
            checks.push(tools_check(f, t, a));
            if let Some(c) = required_tools_check(f, t, a) {
                checks.push(c);
            }
            checks.push(versions_check(f, t, a));
            checks.push(stale_check(t, a));
        }
    }
    checks.push(env_check(f));
    if let Some(c) = homebrew_check(f) {
        checks.push(c);
    }
    if let Some(c) = emulation_check(f) {
        checks.push(c);
    }
    checks.push(installs_check(f));
    let exit_code = outcome(&checks).code();
    let mut notes = f.notes.clone();
    if let Some(t) = &f.toolchain {
        notes.extend(t.notes.iter().cloned());
    }
    CheckReport {
        schema: CHECK_SCHEMA.to_string(),
        host: f.host.clone(),
        shell: f.shell.clone().unwrap_or_default(),
        go_on_path: f.path_gos.clone(),
        toolchain: f.toolchain.clone(),
        analysis,
        environment: f.env.clone(),
        installs: f.installs.clone().unwrap_or_default(),
        checks,
        notes,
        exit_code,
    }
}

/// No go ([`Exit::NoInput`], 66); else 2 for anything mixed or inconsistent, 1 for a wrong
/// architecture or translation, 0 when nothing failed.
pub fn outcome(checks: &[Check]) -> Exit {
    let failed = |i: Impact| {
        checks
            .iter()
            .any(|c| c.status == Status::Fail && c.impact == i)
    };
    if failed(Impact::NoGo) {
        Exit::NoInput
    } else if failed(Impact::Mixed) {
        Exit::Unidentified
    } else if failed(Impact::WrongArch) {
        Exit::Diagnosed
    } else {
        Exit::Ok
    }
}

fn hw_name(host: &HostInfo) -> String {
    host.hardware_arch.display_for(&host.os)
}

fn hardware_check(f: &Facts) -> Check {
    let h = &f.host;
    let hw = hw_name(h);
    let mut details = vec![format!(
        "uname -m says {} (it reports the translated architecture under Rosetta or qemu)",
        h.arch.display_for(&h.os)
    )];
    if h.os == Os::Macos {
        details.push(format!(
            "hw.optional.arm64: {}",
            if h.hardware_arch == Arch::Aarch64 {
                1
            } else {
                0
            }
        ));
    }
    if h.translation.is_native() {
        Check::new(
            "hardware",
            "hardware",
            Status::Ok,
            format!("{hw} {} machine; gohang runs natively", h.os),
        )
        .details(details)
    } else {
        Check::new(
            "hardware",
            "hardware",
            Status::Warn,
            format!(
                "{hw} {} machine; gohang itself runs translated by {}",
                h.os,
                h.translation.translator()
            ),
        )
        .details(details)
        .fix(format!(
            "install a gohang built for {hw}, and start it from a native shell"
        ))
    }
}

fn shell_check(f: &Facts, analysis: Option<&Analysis>) -> Check {
    let hw = hw_name(&f.host);
    let ancestors = match &f.shell {
        Ok(a) => a,
        Err(e) => {
            return Check::new(
                "shell",
                "shell",
                Status::Warn,
                format!("could not read gohang's parent processes: {e}"),
            );
        }
    };
    let chain: Vec<String> = ancestors
        .iter()
        .map(|a| {
            format!(
                "{} (pid {}): {}",
                if a.name.is_empty() { "?" } else { &a.name },
                a.pid,
                if a.translation.is_native() {
                    "native".to_string()
                } else {
                    format!("translated by {}", a.translation.translator())
                }
            )
        })
        .collect();
    let Some(a) = ancestors.iter().find(|a| !a.translation.is_native()) else {
        return Check::new(
            "shell",
            "shell",
            Status::Ok,
            "the shell and the processes above it run natively",
        )
        .details(chain);
    };
    let arch = a
        .translation
        .program_arch()
        .map(|x| x.display_for(&f.host.os))
        .unwrap_or_else(|| "foreign".to_string());
    let who = format!(
        "{} (pid {}) runs translated by {} as {arch}",
        a.name,
        a.pid,
        a.translation.translator()
    );
    if f.host.os == Os::Macos {
        // A translated process makes the universal binaries it starts run their x86_64
        // slice (Apple, "About the Rosetta translation environment";
        // DeterminateSystems/nix-installer#344).
        return Check::new(
            "shell",
            "shell",
            Status::Fail,
            format!("{who}: what it starts prefers {arch} binaries, on this {hw} machine"),
        )
        .details(chain)
        .fix(
            "open a native terminal: quit it, in Finder choose Get Info on the terminal app and \
             untick \"Open using Rosetta\"; for this session only, start a native shell: \
             arch -arm64 /bin/zsh -l",
        )
        .impact(Impact::WrongArch);
    }
    // Linux: the emulator runs one program. qemu-user hands the guest's execve to the host
    // kernel as it is ("after execve the process leaves QEMU's control", linux-user/
    // syscall.c do_execv), and the kernel picks the loader for the new program from that
    // program's own header (fs/exec.c search_binary_handler: binfmt_elf for a native ELF,
    // binfmt_misc for a registered foreign one). So a native go started from an emulated
    // shell runs natively; there is no preferred architecture, unlike Rosetta 2 on macOS.
    let fix = format!(
        "start the shell from a {hw} build of it (in a container: an image for linux/{0}, or \
         --platform=linux/{0})",
        f.host.hardware_arch.goarch()
    );
    let native_toolchain = analysis.is_none_or(|a| {
        a.state == ArchState::Native && a.go_fit.as_ref().is_some_and(Fit::is_native)
    });
    if native_toolchain {
        Check::new(
            "shell",
            "shell",
            Status::Warn,
            format!(
                "{who}, but only it is emulated: the kernel picks the loader per program \
                 (binfmt_misc), so the native go and tools it starts run natively on this \
                 {hw} machine"
            ),
        )
        .details(chain)
        .fix(fix)
    } else {
        Check::new(
            "shell",
            "shell",
            Status::Fail,
            format!(
                "{who}, and the go toolchain is not native either (below): this looks like \
                 an environment for {arch}, such as a container image for another platform"
            ),
        )
        .details(chain)
        .fix(fix)
        .impact(Impact::WrongArch)
    }
}

/// A native install to switch to, or how to get one.
fn native_go_fix(f: &Facts) -> String {
    let h = &f.host;
    let native = f.installs.as_ref().ok().and_then(|v| {
        v.iter().find(|i| {
            i.go.binary
                .as_ref()
                .is_some_and(|b| analysis::fit(b, h).is_native())
        })
    });
    let goos = h.os.goos();
    let goarch = h.hardware_arch.goarch();
    let mut lines = Vec::new();
    if let Some(i) = native {
        lines.push(format!(
            "export PATH={}:\"$PATH\"    # a native {} ({}) already installed",
            crate::shell::quote(&format!("{}/bin", i.goroot)),
            i.go.go_version().unwrap_or("go"),
            i.source.label()
        ));
    }
    if h.os == Os::Macos && h.hardware_arch == Arch::Aarch64 {
        lines.push(format!(
            "or install an arm64 Go: {}",
            crate::classify::advice::MAC_ARM64_GO
        ));
    } else {
        lines.push(format!(
            "or install Go for this machine: the {goos}-{goarch} archive from https://go.dev/dl/"
        ));
    }
    lines.join("\n")
}

fn go_check(f: &Facts, a: Option<&Analysis>) -> Check {
    let Some(first) = f.path_gos.first() else {
        return no_go_on_path(f);
    };
    let details = path_go_details(f);
    let t = f.toolchain.as_ref();
    let go = t.map(|t| &t.go);
    match (go.map(|g| g.kind), a.and_then(|a| a.go_fit.as_ref())) {
        (None, _) => Check::new(
            "go",
            "go on PATH",
            Status::Warn,
            format!("{}: could not be inspected in time", first.path),
        )
        .details(details),
        (Some(FileKind::NotBinary), _) => Check::new(
            "go",
            "go on PATH",
            Status::Warn,
            format!(
                "{} is not a binary ({}): a version manager's shim decides which go runs, \
                 per directory; see the installs below",
                first.path,
                go.and_then(|g| g.problem.clone()).unwrap_or_default()
            ),
        )
        .details(details),
        (Some(FileKind::Invalid | FileKind::Unreadable), _) => Check::new(
            "go",
            "go on PATH",
            Status::Fail,
            format!(
                "{}: {}",
                first.resolved,
                go.and_then(|g| g.problem.clone()).unwrap_or_default()
            ),
        )
        .details(details)
        .fix(native_go_fix(f).trim_start_matches("or ").to_string())
        .impact(Impact::Mixed),
        (Some(FileKind::Binary), Some(fit)) => {
            let t = t.expect("a binary go has toolchain evidence");
            binary_go_check(f, first, t, fit, details)
        }
        (Some(FileKind::Binary), None) => Check::new(
            "go",
            "go on PATH",
            Status::Warn,
            format!("{}: inspected, but its architecture is unknown", first.path),
        )
        .details(details),
    }
}

/// No go on PATH: the installs found elsewhere, and how to get a native one.
fn no_go_on_path(f: &Facts) -> Check {
    let mut details: Vec<String> = f
        .installs
        .as_ref()
        .map(|v| {
            v.iter()
                .map(|i| format!("found, not on PATH: {} ({})", i.goroot, i.source.label()))
                .collect()
        })
        .unwrap_or_default();
    if details.is_empty() {
        details.push("no Go installation found in the usual places either".to_string());
    }
    Check::new("go", "go on PATH", Status::Fail, "no go on PATH")
        .details(details)
        .fix(native_go_fix(f).trim_start_matches("or ").to_string())
        .impact(Impact::NoGo)
}

/// Every go on PATH, in order: the first runs, the others are shadowed.
fn path_go_details(f: &Facts) -> Vec<String> {
    f.path_gos
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let link = if g.resolved != g.path {
                format!(" → {}", g.resolved)
            } else {
                String::new()
            };
            let role = if i == 0 { "runs" } else { "shadowed" };
            format!("{}. {}{link} ({role})", i + 1, g.path)
        })
        .collect()
}

/// "arm64 Mach-O go1.22.0 darwin/arm64": the go binary as inspected.
fn describe_go(t: &ToolchainEvidence) -> String {
    let b = t.go.binary.as_ref();
    let info = b.and_then(|b| b.go());
    format!(
        "{} {}{}",
        b.map(|b| format!("{} {}", b.arch_names(), b.format))
            .unwrap_or_default(),
        info.map(|g| g.version.clone()).unwrap_or_default(),
        info.and_then(|g| Some(format!(" {}/{}", g.goos.as_ref()?, g.goarch.as_ref()?)))
            .unwrap_or_default()
    )
    .trim()
    .to_string()
}

/// The go on PATH is a binary whose fit to this machine is known.
fn binary_go_check(
    f: &Facts,
    first: &PathGo,
    t: &ToolchainEvidence,
    fit: &Fit,
    details: Vec<String>,
) -> Check {
    let hw = hw_name(&f.host);
    let what = describe_go(t);
    match fit {
        Fit::Native => Check::new(
            "go",
            "go on PATH",
            Status::Ok,
            format!("{}: {what}, native", first.path),
        )
        .details(details),
        Fit::Translated { by } => Check::new(
            "go",
            "go on PATH",
            Status::Fail,
            format!(
                "{} is {what}: on this {hw} machine it runs translated by {by}",
                first.path
            ),
        )
        .details(details)
        .fix(native_go_fix(f))
        .impact(Impact::WrongArch),
        Fit::Foreign { why } => Check::new(
            "go",
            "go on PATH",
            Status::Fail,
            format!("{} is {what} and cannot run here: {why}", first.path),
        )
        .details(details)
        .fix(native_go_fix(f))
        .impact(Impact::WrongArch),
    }
}

/// The release a reinstall should bring back: the go binary's own (its build info), else
/// the GOROOT's `VERSION`; None for a development build.
fn release_of(t: &ToolchainEvidence) -> Option<GoVersion> {
    let from_go = t.go.go_version().and_then(GoVersion::parse);
    let from_file = || {
        t.scan
            .as_ref()
            .and_then(|s| s.version_file.as_deref())
            .and_then(GoVersion::parse)
    };
    from_go.or_else(from_file).filter(GoVersion::is_release)
}

/// How to get a sound GOROOT at `goroot` back. Never unpacking over the old tree
/// (go.dev/doc/install: "Do not untar the archive into an existing /usr/local/go tree"),
/// and removing nothing before the new release is downloaded and unpacked. A tree a
/// package manager owns gets that package manager's install instead; `gohang rebuild`
/// comes first when `rebuild` (it fixes foreign and missing tool directories, and says so
/// itself when the tree cannot be rebuilt).
fn reinstall_fix(f: &Facts, t: &ToolchainEvidence, goroot: &str, rebuild: bool) -> String {
    let platform = Platform::native(&f.host);
    let version = release_of(t);
    let tree = match guard::judge_tree(t.tree.as_ref()) {
        guard::TreeJudgement::Owned(owner) => {
            let mut lines = vec![format!(
                "{goroot} belongs to {}: reinstall it with its package manager, not by hand:",
                owner.describe()
            )];
            lines.extend(
                install_instead(&f.host, version, Some(&owner))
                    .into_iter()
                    .map(|l| l.trim_start_matches("# ").to_string()),
            );
            return lines.join("\n");
        }
        guard::TreeJudgement::Refused(why) => return guard::refused_replacement(goroot, &why),
        guard::TreeJudgement::Replaceable(tree) => tree,
    };
    let q = crate::shell::quote(&tree.path().display().to_string());
    let mut lines = Vec::new();
    if rebuild {
        lines.push(
            "rebuild it natively (gohang prints its plan first, and says so when a rebuild is \
             not possible here):"
                .to_string(),
        );
        lines.push(format!("gohang rebuild --goroot {q}"));
    }
    let or = if rebuild { "or " } else { "" };
    let target = format!("{}/{}", platform.goos, platform.goarch);
    match version {
        Some(v) => {
            lines.push(format!(
                "{or}replace the whole GOROOT with the official {v} for {target}: downloaded, \
                 unpacked beside it, then swapped in (nothing is removed unless both worked{}):",
                if f.goroot_parent_writable == Some(false) {
                    "; sudo, as its directory is not yours"
                } else {
                    ""
                }
            ));
            lines.push(replace_with_archive(
                &tree,
                &v.go_name(),
                &platform.goos,
                &platform.goarch,
                f.goroot_parent_writable == Some(false),
            ));
        }
        None => lines.push(format!(
            "{or}replace the whole GOROOT with a release for {target} from https://go.dev/dl/, \
             unpacked into an empty directory, never over the old one (go.dev/doc/install)"
        )),
    }
    lines.join("\n")
}

/// No GOROOT at all: a fresh install in the usual place.
fn fresh_install_fix(f: &Facts, t: &ToolchainEvidence) -> String {
    install_instead(&f.host, release_of(t), None)
        .into_iter()
        .map(|l| l.trim_start_matches("# ").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The GOROOT as scanned (its real path), to show files relative to it.
fn scan_root(t: &ToolchainEvidence) -> String {
    t.scan
        .as_ref()
        .map(|s| s.root.clone())
        .or_else(|| t.goroot.clone())
        .unwrap_or_default()
}

fn rel<'a>(path: &'a str, root: &str) -> &'a str {
    path.strip_prefix(root)
        .map(|p| p.trim_start_matches('/'))
        .filter(|p| !p.is_empty())
        .unwrap_or(path)
}

fn goroot_check(f: &Facts, t: &ToolchainEvidence, a: &Analysis) -> Check {
    let Some(root) = &t.goroot else {
        return Check::new(
            "goroot",
            "GOROOT",
            Status::Fail,
            "no GOROOT: $GOROOT is unset and the go binary has no pkg/tool directory beside it",
        )
        .fix(fresh_install_fix(f, t))
        .impact(Impact::Mixed);
    };
    let source = t.goroot_source.clone().unwrap_or_default();
    let Some(dir) = &a.tool_dir else {
        return Check::new(
            "goroot",
            "GOROOT",
            Status::Warn,
            format!(
                "{root} ({source}); the go binary does not say which pkg/tool directory it uses"
            ),
        );
    };
    let mut details = vec![format!("GOROOT from the {source}")];
    if let Some(v) = t.scan.as_ref().and_then(|s| s.version_file.as_ref()) {
        details.push(format!("VERSION: {v}"));
    }
    if !a.tool_dir_present {
        let present: Vec<String> = t
            .scan
            .iter()
            .flat_map(|s| s.tool_dirs.iter().map(|d| d.name.clone()))
            .collect();
        details.push(format!(
            "pkg/tool holds: {}",
            if present.is_empty() {
                "nothing".to_string()
            } else {
                present.join(", ")
            }
        ));
        return Check::new(
            "goroot",
            "GOROOT",
            Status::Fail,
            format!(
                "{root}/pkg/tool/{dir} is missing: this go runs its compiler and linker from \
                 there and fails with `no such tool`"
            ),
        )
        .details(details)
        .fix(reinstall_fix(f, t, root, true))
        .impact(Impact::Mixed);
    }
    if let Some(own) = &f.own_goroot
        && !same_dir(own, root)
    {
        let how = f
            .env
            .settings
            .iter()
            .find(|s| s.name == "GOROOT")
            .map(|s| goenv::removal(s, &f.host.os))
            .unwrap_or_else(|| "unset GOROOT".to_string());
        details.push(format!("the go binary's own GOROOT: {own}"));
        return Check::new(
            "goroot",
            "GOROOT",
            Status::Warn,
            format!(
                "GOROOT={root} ({source}) is not where this go comes from: it runs another \
                 installation's tools"
            ),
        )
        .details(details)
        .fix(how);
    }
    Check::new(
        "goroot",
        "GOROOT",
        Status::Ok,
        format!("{root}; tools from pkg/tool/{dir}"),
    )
    .details(details)
}

fn same_dir(a: &str, b: &str) -> bool {
    let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| p.into());
    a == b || canon(a) == canon(b)
}

fn tools_check(f: &Facts, t: &ToolchainEvidence, a: &Analysis) -> Check {
    let hw = hw_name(&f.host);
    let root = scan_root(t);
    let dir = a.tool_dir.clone().unwrap_or_default();
    if a.state == ArchState::Native {
        return Check::new(
            "tools",
            "tool architectures",
            Status::Ok,
            format!(
                "{} binaries (go, bin/, pkg/tool/{dir}), all native {hw}",
                a.binaries
            ),
        );
    }
    let mut details: Vec<String> = a
        .foreign
        .iter()
        .map(|x| format!("{}: {}, {}", rel(&x.path, &root), x.arch, x.detail))
        .collect();
    details.extend(
        a.invalid
            .iter()
            .map(|x| format!("{}: {}", rel(&x.path, &root), x.detail)),
    );
    let bad = a.foreign.len() + a.invalid.len();
    let (impact, summary) = if a.state == ArchState::Foreign {
        (
            Impact::WrongArch,
            format!(
                "all {} binaries are foreign to this {hw} machine",
                a.binaries
            ),
        )
    } else {
        (
            Impact::Mixed,
            format!(
                "mixed: {bad} of {} binaries {} not native to this {hw} machine",
                a.binaries,
                if bad == 1 { "is" } else { "are" }
            ),
        )
    };
    Check::new("tools", "tool architectures", Status::Fail, summary)
        .details(details)
        .fix(reinstall_fix(f, t, &root, true))
        .impact(impact)
}

/// The tools the go command runs from its tool directory for everyday work, and when
/// (cmd/go/internal/work: gc.go, exec.go). It finds each with `base.Tool`, which stops with
/// `go: no such tool "NAME"` when the file is missing (cmd/go/internal/base/tool.go). The
/// ones it only names in `-x` output (`pack`, `buildid`: done inside cmd/go) are not here.
const REQUIRED_TOOLS: [(&str, &str); 6] = [
    ("compile", "every build"),
    ("link", "every program built, run or tested"),
    // In the cache key of every package with assembly (exec.go buildActionID), the
    // runtime among them: needed even when everything is cached.
    ("asm", "every build (the runtime has assembly)"),
    (
        "cgo",
        "packages with cgo code when CGO_ENABLED=1: runtime/cgo, and on Linux net and os/user",
    ),
    ("vet", "go vet, and go test, which runs vet first"),
    ("cover", "go test -cover and go build -cover"),
];

/// Are the tools the go command needs in the tool directory it uses? The directory can be
/// there and still be incomplete (a partial copy, a cleanup that went too far).
fn required_tools_check(f: &Facts, t: &ToolchainEvidence, a: &Analysis) -> Option<Check> {
    let name = a.tool_dir.as_deref()?;
    let dir = t.scan.as_ref()?.tool_dir(name)?;
    let exe = if name.starts_with("windows_") {
        ".exe"
    } else {
        ""
    };
    let missing: Vec<(&str, &str)> = REQUIRED_TOOLS
        .iter()
        .filter(|(tool, _)| {
            let file = format!("{tool}{exe}");
            !dir.files.iter().any(|x| x.name() == file)
        })
        .copied()
        .collect();
    if missing.is_empty() {
        let names: Vec<&str> = REQUIRED_TOOLS.iter().map(|(t, _)| *t).collect();
        return Some(Check::new(
            "required-tools",
            "required tools",
            Status::Ok,
            format!("pkg/tool/{name} has {}", names.join(", ")),
        ));
    }
    let names: Vec<&str> = missing.iter().map(|(t, _)| *t).collect();
    // Without compile, link or asm no build works at all: as broken as a missing tool
    // directory. The others stop only the commands that need them.
    let every_build = names.iter().any(|t| ["compile", "link", "asm"].contains(t));
    let (status, impact) = if every_build {
        (Status::Fail, Impact::Mixed)
    } else {
        (Status::Warn, Impact::None)
    };
    let details = missing
        .iter()
        .map(|(tool, when)| format!("{tool}: needed by {when}"))
        .collect();
    Some(
        Check::new(
            "required-tools",
            "required tools",
            status,
            format!(
                "pkg/tool/{name} lacks {}: the go command stops with `go: no such tool \"{}\"` \
                 when it needs one",
                names.join(", "),
                names[0]
            ),
        )
        .impact(impact)
        .details(details)
        .fix(reinstall_fix(f, t, &scan_root(t), false)),
    )
}

fn versions_check(f: &Facts, t: &ToolchainEvidence, a: &Analysis) -> Check {
    let root = scan_root(t);
    let Some(v) = &a.go_version else {
        return Check::new(
            "versions",
            "Go versions",
            Status::Warn,
            "the go binary carries no build info: versions cannot be compared",
        );
    };
    if a.version_mismatches.is_empty() && a.version_file_mismatch.is_none() {
        return Check::new(
            "versions",
            "Go versions",
            Status::Ok,
            format!("go and its tools are all {v}"),
        );
    }
    let mut details: Vec<String> = a
        .version_mismatches
        .iter()
        .map(|x| format!("{}: {}", rel(&x.path, &root), x.detail))
        .collect();
    if let Some(vf) = &a.version_file_mismatch {
        details.push(format!("VERSION: {vf}"));
    }
    let example = a
        .version_mismatches
        .iter()
        .find(|x| x.path.ends_with("/compile"))
        .or(a.version_mismatches.first());
    let summary = match example {
        Some(x) if x.path.ends_with("/compile") => format!(
            "{} is {} but go is {v}: builds stop with `compile: version \"{}\" does not match \
             go tool version \"{v}\"`",
            rel(&x.path, &root),
            x.detail,
            x.detail
        ),
        Some(x) => format!(
            "{} is {} but go is {v}: the tools come from two releases",
            rel(&x.path, &root),
            x.detail
        ),
        None => format!(
            "GOROOT/VERSION says {} but go is {v}",
            a.version_file_mismatch.clone().unwrap_or_default()
        ),
    };
    Check::new("versions", "Go versions", Status::Fail, summary)
        .details(details)
        .fix(format!(
            "a release was unpacked over another (go.dev/doc/install: \"Do not untar the archive \
             into an existing … tree\"); {}",
            reinstall_fix(f, t, &root, false)
        ))
        .impact(Impact::Mixed)
}

fn stale_check(t: &ToolchainEvidence, a: &Analysis) -> Check {
    let root = scan_root(t);
    if a.stale_dirs.is_empty() {
        return Check::new(
            "stale-tool-dirs",
            "foreign tool directories",
            Status::Ok,
            "none: pkg/tool holds no directory of foreign binaries",
        );
    }
    let names: Vec<&str> = a.stale_dirs.iter().map(|d| rel(d, &root)).collect();
    // Removing them is offered only inside a Go tree nobody's package manager owns, and
    // only for directories of its own pkg/tool.
    let fix = match guard::judge_tree(t.tree.as_ref()) {
        guard::TreeJudgement::Replaceable(tree) => {
            let tool_root = tree.path().join("pkg/tool");
            let rms: Vec<String> = a
                .stale_dirs
                .iter()
                .filter(|d| Path::new(d).parent() == Some(tool_root.as_path()))
                .map(|d| format!("rm -rf {}", crate::shell::quote(d)))
                .collect();
            (rms.len() == a.stale_dirs.len()).then(|| {
                format!(
                    "{}    # unless another machine shares this GOROOT",
                    rms.join(" && ")
                )
            })
        }
        guard::TreeJudgement::Owned(o) => Some(format!(
            "nothing to remove by hand: the files belong to {}; the go command ignores them",
            o.describe()
        )),
        guard::TreeJudgement::Refused(_) => None,
    }
    .unwrap_or_else(|| {
        "nothing needs doing: the go command ignores them; remove them only once you have \
         checked that the directory is a Go tree of yours"
            .to_string()
    });
    Check::new(
        "stale-tool-dirs",
        "foreign tool directories",
        Status::Warn,
        format!(
            "{} beside pkg/tool/{}: left by an install for another machine; the go command \
             ignores them",
            names.join(", "),
            a.tool_dir.clone().unwrap_or_default()
        ),
    )
    .fix(fix)
}

/// Why a setting matters, for the details.
fn meaning(name: &str, value: &str, host: &HostInfo) -> String {
    let hw_goarch = host.hardware_arch.goarch();
    let goos = host.os.goos();
    match name {
        "GOARCH" if value != hw_goarch => format!(
            "go build makes {value} binaries; go run and go test then run them translated or not at all"
        ),
        "GOOS" if value != goos => {
            format!("go build makes {value} binaries; go run and go test cannot run them here")
        }
        "GOOS" | "GOARCH" => "the default anyway; harmless until this machine changes".to_string(),
        "GOHOSTOS" | "GOHOSTARCH" => {
            "meant only for bootstrapping a toolchain; it confuses cmd/dist and make.bash"
                .to_string()
        }
        "CGO_ENABLED" => "changes every build (cgo off breaks packages that need C)".to_string(),
        "GOFLAGS" => "flags added to every go command".to_string(),
        // go.dev/doc/toolchain, cmd/go/internal/toolchain/select.go.
        "GOTOOLCHAIN" if value == "local" => {
            "never switches toolchains: a module that asks for a newer Go fails with an error instead"
                .to_string()
        }
        "GOTOOLCHAIN" if value == "path" || value.ends_with("+path") => {
            "may switch to a newer toolchain found on PATH, never downloads one".to_string()
        }
        "GOTOOLCHAIN" => {
            "the go command may switch to, and download, another toolchain (go.dev/doc/toolchain)"
                .to_string()
        }
        _ => String::new(),
    }
}

fn env_check(f: &Facts) -> Check {
    let file = f
        .env
        .env_file
        .clone()
        .unwrap_or_else(|| "no go/env file (GOENV=off)".to_string());
    if f.env.settings.is_empty() && f.env.dyld.is_empty() {
        return Check::new(
            "environment",
            "environment",
            Status::Ok,
            format!(
                "{} unset in the environment and in {file}",
                goenv::WATCHED.join(", ")
            ),
        );
    }
    let mut details = Vec::new();
    let mut fixes = Vec::new();
    let mut parts = Vec::new();
    for s in &f.env.settings {
        let place = match &s.source {
            SettingSource::Environment => "environment".to_string(),
            SettingSource::GoEnvFile { path } => path.clone(),
        };
        parts.push(format!("{}={} ({})", s.name, s.value, place));
        let over = if s.overridden {
            " — overridden by the environment"
        } else {
            ""
        };
        details.push(format!(
            "{}={} in {place}{over}: {}",
            s.name,
            s.value,
            meaning(&s.name, &s.value, &f.host)
        ));
        if !deliberate(&s.name, &s.value, &f.host) {
            fixes.push(goenv::removal(s, &f.host.os));
        }
    }
    for (k, v) in &f.env.dyld {
        parts.push(format!("{k} (environment)"));
        details.push(format!(
            "{k}={v}: dyld loads or redirects libraries in every process started from here"
        ));
        fixes.push(format!("unset {k}"));
    }
    let check = Check::new(
        "environment",
        "environment",
        Status::Warn,
        format!("set: {}", parts.join(", ")),
    )
    .details(details);
    if fixes.is_empty() {
        check
    } else {
        check.fix(fixes.join("\n"))
    }
}

/// A setting someone made on purpose and that does no harm here: no fix removes it.
/// GOTOOLCHAIN=local (or path) is what stops toolchain downloads — the very fix
/// `toolchain-download` gives; CGO_ENABLED=0 is a build choice; GOOS/GOARCH equal to this
/// machine's change nothing.
fn deliberate(name: &str, value: &str, host: &HostInfo) -> bool {
    match name {
        "GOTOOLCHAIN" => value == "local" || value == "path" || value.ends_with("+path"),
        "CGO_ENABLED" => value == "0",
        "GOOS" => value == host.os.goos(),
        "GOARCH" => value == host.hardware_arch.goarch(),
        _ => false,
    }
}

fn homebrew_check(f: &Facts) -> Option<Check> {
    let h = &f.host;
    if h.os != Os::Macos {
        return None;
    }
    let places = Places::for_os(&h.os);
    let hw = hw_name(h);
    let go = f.path_gos.first();
    let prefix = go.and_then(|g| {
        places
            .homebrew_prefix_of(&g.resolved)
            .or_else(|| places.homebrew_prefix_of(&g.path))
    });
    if let (Some(g), Some((p, Some(arch)))) = (go, prefix)
        && !arch.runs_natively_on(&h.hardware_arch)
    {
        let native = places.homebrew.iter().find(|(_, a)| {
            a.as_ref()
                .is_some_and(|a| a.runs_natively_on(&h.hardware_arch))
        });
        let mut fix = format!(
            "remove it: arch -{} {}/bin/brew uninstall go",
            arch.display_for(&Os::Macos),
            p.display()
        );
        if let Some((np, _)) = native {
            fix.push_str(&format!(
                "\nthen use the {hw} Homebrew (https://brew.sh installs it in {0}): {0}/bin/brew install go\n\
                 and put it first: eval \"$({0}/bin/brew shellenv)\"",
                np.display()
            ));
        }
        return Some(
            Check::new(
                "homebrew",
                "Homebrew",
                Status::Warn,
                format!(
                    "{} comes from the {} Homebrew in {}, not the one for this {hw} Mac",
                    g.path,
                    arch.display_for(&Os::Macos),
                    p.display()
                ),
            )
            .fix(fix),
        );
    }
    // PATH order: the foreign prefix's bin before the native one shadows native tools.
    let pos = |p: &Path| {
        f.path_dirs
            .iter()
            .position(|d| Path::new(d) == p.join("bin"))
    };
    for (fp, fa) in &places.homebrew {
        for (np, na) in &places.homebrew {
            let (Some(fa), Some(na)) = (fa, na) else {
                continue;
            };
            if fa.runs_natively_on(&h.hardware_arch) || !na.runs_natively_on(&h.hardware_arch) {
                continue;
            }
            if let (Some(i), Some(j)) = (pos(fp), pos(np))
                && i < j
            {
                return Some(
                    Check::new(
                        "homebrew",
                        "Homebrew",
                        Status::Warn,
                        format!(
                            "{}/bin comes before {}/bin in PATH: {} tools shadow the {hw} ones",
                            fp.display(),
                            np.display(),
                            fa.display_for(&Os::Macos)
                        ),
                    )
                    .fix(format!("eval \"$({}/bin/brew shellenv)\"", np.display())),
                );
            }
        }
    }
    Some(Check::new(
        "homebrew",
        "Homebrew",
        Status::Ok,
        "no Homebrew of the wrong architecture in the way",
    ))
}

fn emulation_check(f: &Facts) -> Option<Check> {
    let h = &f.host;
    match h.os {
        Os::Macos if h.hardware_arch == Arch::Aarch64 => {
            let summary = match h.rosetta_installed? {
                true => {
                    "Rosetta 2 is installed: x86_64 programs start without a word and run \
                     translated"
                }
                false => {
                    "Rosetta 2 is not installed: an x86_64 go fails at once with `bad CPU type \
                     in executable`"
                }
            };
            Some(Check::new("rosetta", "Rosetta 2", Status::Ok, summary))
        }
        Os::Linux => {
            let handlers: Vec<String> = h
                .binfmt
                .iter()
                .filter(|b| b.enabled && b.arch.is_some())
                .map(|b| {
                    format!(
                        "{} ({}) → {}",
                        b.name,
                        b.arch.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                        b.interpreter
                    )
                })
                .collect();
            let summary = if handlers.is_empty() {
                "no binfmt_misc emulator registered: a foreign binary fails at once with \
                 `exec format error`"
                    .to_string()
            } else {
                format!(
                    "{} binfmt_misc emulator{} registered: foreign binaries of {} run \
                     translated instead of failing",
                    handlers.len(),
                    if handlers.len() == 1 { "" } else { "s" },
                    if handlers.len() == 1 {
                        "that architecture"
                    } else {
                        "those architectures"
                    }
                )
            };
            Some(Check::new("emulation", "emulation", Status::Ok, summary).details(handlers))
        }
        _ => None,
    }
}

fn installs_check(f: &Facts) -> Check {
    let installs = match &f.installs {
        Ok(v) => v,
        Err(e) => {
            return Check::new("installs", "other toolchains", Status::Warn, e.clone());
        }
    };
    if installs.is_empty() {
        return Check::new(
            "installs",
            "other toolchains",
            Status::Ok,
            "none found in Homebrew, gvm, asdf, goenv, mise, the module cache or system places",
        );
    }
    let active = f.toolchain.as_ref().map(|t| t.go.real_path().to_string());
    let mut foreign = Vec::new();
    let details: Vec<String> = installs
        .iter()
        .map(|i| {
            let fit = i.go.binary.as_ref().map(|b| analysis::fit(b, &f.host));
            let what = match (&i.go.binary, &fit) {
                (Some(b), Some(fit)) => format!(
                    "{} {}, {}",
                    i.go.go_version().unwrap_or("?"),
                    b.arch_names(),
                    fit.describe()
                ),
                _ => i.go.problem.clone().unwrap_or_default(),
            };
            if fit.as_ref().is_some_and(|x| !x.is_native()) {
                foreign.push(i.goroot.clone());
            }
            let used = if active.as_deref() == Some(i.go.real_path()) {
                " (the go on PATH)"
            } else {
                ""
            };
            format!("{}: {}: {what}{used}", i.source.label(), i.goroot)
        })
        .collect();
    if foreign.is_empty() {
        Check::new(
            "installs",
            "other toolchains",
            Status::Ok,
            format!("{} found, all native", installs.len()),
        )
        .details(details)
    } else {
        Check::new(
            "installs",
            "other toolchains",
            Status::Warn,
            format!(
                "{} of {} installed toolchains are not native to this machine",
                foreign.len(),
                installs.len()
            ),
        )
        .details(details)
        .fix(
            "remove what you do not use, with the tool that installed it (brew uninstall go, \
             gvm uninstall, asdf uninstall golang VERSION, goenv uninstall VERSION, \
             mise uninstall go@VERSION); one no tool installed, delete by hand only once you \
             have checked that the directory listed is that Go tree and nothing uses it",
        )
    }
}

/// What `gohang check` was asked.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// One JSON report (gohang.check/1) on stdout.
    pub json: bool,
}

pub fn run(out: &Output, args: &Options) -> Result<Exit, UserError> {
    let facts = gather(&Env::from_process());
    let report = evaluate(&facts);
    let exit = outcome(&report.checks);
    // docs/json.md: with --json, an exit code of 64 or more prints nothing on stdout.
    if args.json && exit == Exit::NoInput {
        let why = report
            .checks
            .iter()
            .find(|c| c.status == Status::Fail && c.impact == Impact::NoGo)
            .map(|c| match &c.fix {
                Some(fix) => format!(
                    "{}; {}",
                    c.summary,
                    fix.lines().map(str::trim).collect::<Vec<_>>().join("; ")
                ),
                None => c.summary.clone(),
            })
            .unwrap_or_else(|| "no go found".to_string());
        return Err(UserError::with(exit, why));
    }
    emit(out, args.json, &report, |w, color| {
        write_human(w, &report, out.verbose, out.quiet, color)
    })?;
    Ok(exit)
}

/// The last line: what the exit code means.
pub fn result_line(code: u8) -> &'static str {
    match Exit::from_code(code) {
        Exit::Ok => "native and consistent",
        Exit::Diagnosed => "wrong architecture or translated",
        Exit::Unidentified => "mixed or inconsistent toolchain",
        Exit::NoInput => "no go found",
        _ => "error",
    }
}

pub fn write_human<W: Write + ?Sized>(
    w: &mut W,
    r: &CheckReport,
    verbose: bool,
    quiet: bool,
    color: bool,
) -> std::io::Result<()> {
    let paint = |code: &str, s: &str| crate::report::human::paint(color, code, s);
    let result = format!(
        "result: {} (exit {})",
        result_line(r.exit_code),
        r.exit_code
    );
    if quiet {
        return writeln!(w, "{result}");
    }
    writeln!(
        w,
        "gohang check: the Go toolchain on this {} {} machine",
        r.host.hardware_arch.display_for(&r.host.os),
        r.host.os
    )?;
    writeln!(w)?;
    for c in &r.checks {
        let sym = match c.status {
            Status::Ok => paint("1;32", c.status.symbol()),
            Status::Warn => paint("1;33", c.status.symbol()),
            Status::Fail => paint("1;31", c.status.symbol()),
        };
        writeln!(w, "{sym} {}: {}", paint("1", &c.title), c.summary)?;
        if verbose || c.status != Status::Ok {
            for d in &c.details {
                writeln!(w, "    {d}")?;
            }
        }
        if let Some(fix) = &c.fix
            && c.status != Status::Ok
        {
            writeln!(w, "  fix:")?;
            for line in fix.lines() {
                writeln!(w, "    {}", paint("36", line))?;
            }
        }
    }
    for n in &r.notes {
        writeln!(w, "note: {n}")?;
    }
    writeln!(w)?;
    writeln!(w, "{result}")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::evidence::Translation;
    use crate::toolchain::goroot::{GorootScan, ToolDir};

    /// An Apple Silicon Mac whose Terminal runs under Rosetta and whose go comes from the
    /// x86_64 Homebrew in /usr/local.
    fn rosetta_mac(path: &str) -> Facts {
        let root = "/usr/local/Cellar/go/1.21.4/libexec";
        let go = crate::toolchain::fake::mac(
            "/usr/local/bin/go",
            Some(&format!("{root}/bin/go")),
            Arch::X86_64,
            "go1.21.4",
        );
        Facts {
            host: HostInfo {
                os: Os::Macos,
                arch: Arch::Aarch64,
                hardware_arch: Arch::Aarch64,
                translation: Translation::Native,
                kernel: None,
                cpus: 8,
                binfmt: Vec::new(),
                rosetta_installed: Some(true),
                arm64_homebrew: None,
            },
            shell: Ok(vec![
                Ancestor {
                    pid: 500,
                    name: "zsh".into(),
                    translation: Translation::Rosetta {
                        program_arch: Some(Arch::X86_64),
                    },
                },
                Ancestor {
                    pid: 400,
                    name: "Terminal".into(),
                    translation: Translation::Rosetta {
                        program_arch: Some(Arch::X86_64),
                    },
                },
            ]),
            path_dirs: path.split(':').map(str::to_string).collect(),
            path_gos: vec![PathGo {
                path: "/usr/local/bin/go".into(),
                resolved: format!("{root}/bin/go"),
                dir_index: 0,
            }],
            toolchain: Some(ToolchainEvidence {
                go_path: "/usr/local/bin/go".into(),
                go: go.clone(),
                goroot: Some(root.into()),
                goroot_source: Some("location of the go binary (symlinks resolved)".into()),
                tool_dir: Some("darwin_amd64".into()),
                scan: Some(GorootScan {
                    root: root.into(),
                    version_file: Some("go1.21.4".into()),
                    bin: vec![crate::toolchain::fake::mac(
                        &format!("{root}/bin/go"),
                        None,
                        Arch::X86_64,
                        "go1.21.4",
                    )],
                    tool_dirs: vec![ToolDir {
                        name: "darwin_amd64".into(),
                        path: format!("{root}/pkg/tool/darwin_amd64"),
                        goos: Some("darwin".into()),
                        goarch: Some("amd64".into()),
                        files: ALL_TOOLS
                            .iter()
                            .map(|t| {
                                crate::toolchain::fake::mac(
                                    &format!("{root}/pkg/tool/darwin_amd64/{t}"),
                                    None,
                                    Arch::X86_64,
                                    "go1.21.4",
                                )
                            })
                            .collect(),
                    }],
                }),
                tree: Some(crate::guard::TreeFacts::release_tree(root)),
                notes: Vec::new(),
            }),
            own_goroot: Some(root.into()),
            goroot_parent_writable: Some(true),
            env: EnvFindings::default(),
            installs: Ok(vec![Install {
                source: discover::InstallSource::Homebrew,
                goroot: "/opt/homebrew/opt/go/libexec".into(),
                go: crate::toolchain::fake::mac(
                    "/opt/homebrew/opt/go/libexec/bin/go",
                    None,
                    Arch::Aarch64,
                    "go1.21.4",
                ),
                prefix_arch: Some(Arch::Aarch64),
            }]),
            notes: Vec::new(),
        }
    }

    /// A Linux x86_64 machine with qemu-aarch64 registered, whose go in /opt/go is `go_arch`
    /// and whose shell is `shell`; the tool directory holds `tools`, native.
    fn linux(go_arch: Arch, shell: Translation, tools: &[&str]) -> Facts {
        let root = "/opt/go";
        let elf = |path: &str, arch: Arch| {
            crate::toolchain::fake::bin(
                path,
                None,
                crate::inspect::Format::Elf,
                vec![crate::toolchain::fake::slice(Os::Linux, arch, "go1.23.5")],
            )
        };
        let dir = format!("linux_{}", go_arch.goarch());
        let go = elf(&format!("{root}/bin/go"), go_arch.clone());
        Facts {
            host: HostInfo {
                os: Os::Linux,
                arch: Arch::X86_64,
                hardware_arch: Arch::X86_64,
                translation: Translation::Native,
                kernel: None,
                cpus: 2,
                binfmt: vec![crate::evidence::BinfmtHandler {
                    name: "qemu-aarch64".into(),
                    enabled: true,
                    interpreter: "/usr/bin/qemu-aarch64-static".into(),
                    resolved: None,
                    flags: "F".into(),
                    arch: Some(Arch::Aarch64),
                }],
                rosetta_installed: None,
                arm64_homebrew: None,
            },
            shell: Ok(vec![Ancestor {
                pid: 700,
                name: "bash".into(),
                translation: shell,
            }]),
            path_dirs: vec![format!("{root}/bin")],
            path_gos: vec![PathGo {
                path: format!("{root}/bin/go"),
                resolved: format!("{root}/bin/go"),
                dir_index: 0,
            }],
            toolchain: Some(ToolchainEvidence {
                go_path: format!("{root}/bin/go"),
                go: go.clone(),
                goroot: Some(root.into()),
                goroot_source: Some("location of the go binary".into()),
                tool_dir: Some(dir.clone()),
                scan: Some(GorootScan {
                    root: root.into(),
                    version_file: Some("go1.23.5".into()),
                    bin: vec![go],
                    tool_dirs: vec![ToolDir {
                        name: dir.clone(),
                        path: format!("{root}/pkg/tool/{dir}"),
                        goos: Some("linux".into()),
                        goarch: Some(go_arch.goarch().into()),
                        files: tools
                            .iter()
                            .map(|t| elf(&format!("{root}/pkg/tool/{dir}/{t}"), Arch::X86_64))
                            .collect(),
                    }],
                }),
                tree: Some(crate::guard::TreeFacts::release_tree(root)),
                notes: Vec::new(),
            }),
            own_goroot: Some(root.into()),
            goroot_parent_writable: Some(true),
            env: EnvFindings::default(),
            installs: Ok(Vec::new()),
            notes: Vec::new(),
        }
    }

    const ALL_TOOLS: [&str; 6] = ["asm", "cgo", "compile", "cover", "link", "vet"];

    fn qemu_shell() -> Translation {
        Translation::Binfmt {
            emulator: crate::evidence::Emulator::Qemu,
            interpreter: "/usr/bin/qemu-aarch64-static".into(),
            program: Some("/usr/bin/bash".into()),
            program_arch: Some(Arch::Aarch64),
        }
    }

    #[test]
    fn a_qemu_shell_on_linux_is_a_warning_when_the_toolchain_is_native() {
        let r = evaluate(&linux(Arch::X86_64, qemu_shell(), &ALL_TOOLS));
        let shell = by_id(&r, "shell");
        assert_eq!(shell.status, Status::Warn, "{shell:?}");
        assert!(
            shell.summary.starts_with(
                "bash (pid 700) runs translated by qemu-user as aarch64, but only it is emulated"
            ),
            "{}",
            shell.summary
        );
        // Rosetta 2's rule for universal binaries is not Linux's.
        assert!(!shell.summary.contains("prefers"), "{}", shell.summary);
        assert_eq!(r.exit_code, Exit::Ok.code(), "{:?}", r.checks);

        // With an aarch64 go too, the shell is part of the problem.
        let r = evaluate(&linux(Arch::Aarch64, qemu_shell(), &ALL_TOOLS));
        let shell = by_id(&r, "shell");
        assert_eq!(
            (shell.status, shell.impact),
            (Status::Fail, Impact::WrongArch)
        );
        assert!(
            shell.summary.contains("not native either"),
            "{}",
            shell.summary
        );
        assert!(!shell.summary.contains("prefers"), "{}", shell.summary);
        assert_eq!(
            r.exit_code,
            Exit::Unidentified.code(),
            "aarch64 go, x86_64 tools: mixed"
        );

        // A native shell is fine.
        let r = evaluate(&linux(Arch::X86_64, Translation::Native, &ALL_TOOLS));
        assert_eq!(by_id(&r, "shell").status, Status::Ok);
    }

    #[test]
    fn the_reinstall_fix_downloads_the_real_release_before_removing_anything() {
        // An aarch64 go over x86_64 tools: the tools check fails and says how to fix it.
        let r = evaluate(&linux(Arch::Aarch64, Translation::Native, &ALL_TOOLS));
        let fix = by_id(&r, "tools").fix.clone().unwrap();
        assert!(!fix.contains("goVERSION"), "{fix}");
        assert!(fix.contains("gohang rebuild --goroot /opt/go\n"), "{fix}");
        let line = fix
            .lines()
            .find(|l| l.starts_with("curl "))
            .unwrap_or_else(|| panic!("no download in {fix}"));
        assert!(
            line.starts_with("curl -fLO https://go.dev/dl/go1.23.5.linux-amd64.tar.gz && "),
            "{line}"
        );
        // Every step depends on the one before; the old tree goes last.
        assert_eq!(line.matches(" && ").count(), 4, "{line}");
        let rm = line.find("rm -rf /opt/go ").unwrap();
        assert!(line.find("tar -C /opt/go.new").unwrap() < rm, "{line}");
        assert!(!line.contains("sudo"), "{line}");

        let mut f = linux(Arch::Aarch64, Translation::Native, &ALL_TOOLS);
        f.goroot_parent_writable = Some(false);
        let fix = by_id(&evaluate(&f), "tools").fix.clone().unwrap();
        assert!(fix.contains("&& sudo rm -rf /opt/go &&"), "{fix}");
    }

    /// Foreign tool directories are removed by a fix only inside a verified tree of
    /// nobody's: GOROOT=/usr/local with a stray pkg/tool/linux_arm64 gets no `rm -rf`.
    #[test]
    fn stale_tool_dirs_are_removed_only_inside_a_verified_tree() {
        let mut f = linux(Arch::X86_64, Translation::Native, &ALL_TOOLS);
        let t = f.toolchain.as_mut().unwrap();
        let arm = |p: &str| {
            crate::toolchain::fake::bin(
                p,
                None,
                crate::inspect::Format::Elf,
                vec![crate::toolchain::fake::slice(
                    Os::Linux,
                    Arch::Riscv64,
                    "go1.23.5",
                )],
            )
        };
        t.scan.as_mut().unwrap().tool_dirs.push(ToolDir {
            name: "linux_riscv64".into(),
            path: "/opt/go/pkg/tool/linux_riscv64".into(),
            goos: Some("linux".into()),
            goarch: Some("riscv64".into()),
            files: vec![arm("/opt/go/pkg/tool/linux_riscv64/compile")],
        });
        let fix = |f: &Facts| {
            by_id(&evaluate(f), "stale-tool-dirs")
                .fix
                .clone()
                .unwrap_or_default()
        };
        assert!(
            fix(&f).starts_with("rm -rf /opt/go/pkg/tool/linux_riscv64"),
            "{}",
            fix(&f)
        );
        let tree = f.toolchain.as_mut().unwrap().tree.as_mut().unwrap();
        tree.src_runtime = false;
        assert!(!fix(&f).contains("rm "), "{}", fix(&f));
    }

    /// GOTOOLCHAIN=local is the fix toolchain-download gives; CGO_ENABLED=0 and a GOOS/
    /// GOARCH equal to this machine's are choices: none gets a fix that removes it.
    #[test]
    fn deliberate_settings_get_no_removal() {
        let mut f = linux(Arch::X86_64, Translation::Native, &ALL_TOOLS);
        let setting = |name: &str, value: &str| goenv::Setting {
            name: name.into(),
            value: value.into(),
            source: SettingSource::Environment,
            overridden: false,
        };
        f.env.settings = vec![
            setting("GOTOOLCHAIN", "local"),
            setting("CGO_ENABLED", "0"),
            setting("GOOS", "linux"),
            setting("GOARCH", "amd64"),
        ];
        let r = evaluate(&f);
        let env = by_id(&r, "environment");
        assert_eq!(env.fix, None, "{env:#?}");
        // A setting that does change things here keeps its fix.
        f.env.settings.push(setting("GOARCH", "arm64"));
        let r = evaluate(&f);
        assert_eq!(
            by_id(&r, "environment").fix.as_deref(),
            Some("unset GOARCH")
        );
    }

    /// A GOROOT that names a prefix (/usr/local) sees that prefix's bin/: its other
    /// programs are not Go's tools and are not judged as such.
    #[test]
    fn only_go_and_gofmt_of_goroot_bin_are_the_toolchains() {
        let mut f = linux(Arch::X86_64, Translation::Native, &ALL_TOOLS);
        let docker = crate::toolchain::fake::bin(
            "/opt/go/bin/docker",
            None,
            crate::inspect::Format::Elf,
            vec![crate::toolchain::fake::slice(
                Os::Linux,
                Arch::Aarch64,
                "go1.21.0",
            )],
        );
        let t = f.toolchain.as_mut().unwrap();
        t.scan.as_mut().unwrap().bin.push(docker);
        let r = evaluate(&f);
        let all = serde_json::to_string(&r.checks).unwrap();
        assert!(!all.contains("docker"), "{all}");
        assert_eq!(by_id(&r, "versions").status, Status::Ok);
        assert_eq!(by_id(&r, "tools").status, Status::Ok);
    }

    #[test]
    fn missing_tools_in_the_tool_dir_fail_or_warn_by_what_they_stop() {
        let r = evaluate(&linux(
            Arch::X86_64,
            Translation::Native,
            &["compile", "link"],
        ));
        let c = by_id(&r, "required-tools");
        assert_eq!(c.status, Status::Fail, "no asm: no build works");
        assert_eq!(
            c.summary,
            "pkg/tool/linux_amd64 lacks asm, cgo, vet, cover: the go command stops with \
             `go: no such tool \"asm\"` when it needs one"
        );
        assert_eq!(c.details.len(), 4);
        assert!(c.details[0].starts_with("asm: needed by every build"));
        // No rebuild: make.bash has nothing foreign to replace; a reinstall brings them back.
        let fix = c.fix.as_deref().unwrap();
        assert!(!fix.contains("gohang rebuild"), "{fix}");
        assert!(fix.contains("go1.23.5.linux-amd64.tar.gz"), "{fix}");
        assert_eq!(
            r.exit_code, 2,
            "inconsistent, as a missing tool directory is"
        );
        // Without cover only `go test -cover` stops: a warning.
        let r = evaluate(&linux(
            Arch::X86_64,
            Translation::Native,
            &["compile", "link", "asm", "cgo", "vet"],
        ));
        let c = by_id(&r, "required-tools");
        assert_eq!(c.status, Status::Warn);
        assert_eq!(r.exit_code, Exit::Ok.code(), "a warning");
        let r = evaluate(&linux(Arch::X86_64, Translation::Native, &ALL_TOOLS));
        assert_eq!(by_id(&r, "required-tools").status, Status::Ok);
    }

    fn by_id<'a>(r: &'a CheckReport, id: &str) -> &'a Check {
        r.checks.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn rosetta_terminal_and_intel_homebrew_on_apple_silicon() {
        let r = evaluate(&rosetta_mac("/usr/local/bin:/opt/homebrew/bin:/usr/bin"));
        assert_eq!(r.exit_code, Exit::Diagnosed.code());
        let shell = by_id(&r, "shell");
        assert_eq!(
            (shell.status, shell.impact),
            (Status::Fail, Impact::WrongArch)
        );
        assert!(
            shell
                .summary
                .starts_with("zsh (pid 500) runs translated by Rosetta 2")
        );
        assert!(
            shell
                .fix
                .as_deref()
                .unwrap()
                .contains("arch -arm64 /bin/zsh -l")
        );
        let go = by_id(&r, "go");
        assert_eq!(go.status, Status::Fail);
        assert!(
            go.summary.contains("translated by Rosetta 2"),
            "{}",
            go.summary
        );
        let fix = go.fix.as_deref().unwrap();
        assert!(
            fix.starts_with("export PATH=/opt/homebrew/opt/go/libexec/bin:\"$PATH\""),
            "{fix}"
        );
        let brew = by_id(&r, "homebrew");
        assert_eq!(brew.status, Status::Warn);
        assert!(
            brew.summary.contains("x86_64 Homebrew in /usr/local"),
            "{}",
            brew.summary
        );
        assert!(
            brew.fix
                .as_deref()
                .unwrap()
                .contains("arch -x86_64 /usr/local/bin/brew uninstall go")
        );
        assert_eq!(by_id(&r, "tools").impact, Impact::WrongArch);
        assert_eq!(by_id(&r, "rosetta").status, Status::Ok);
        let mut out = Vec::new();
        write_human(&mut out, &r, false, false, false).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("✗ shell:"), "{out}");
        assert!(
            out.ends_with("result: wrong architecture or translated (exit 1)\n"),
            "{out}"
        );
    }

    #[test]
    fn path_order_of_the_two_homebrews() {
        let mut f = rosetta_mac("/usr/local/bin:/opt/homebrew/bin");
        // A native go from /opt/homebrew, but the x86_64 prefix still comes first in PATH.
        f.path_gos[0].resolved = "/opt/homebrew/Cellar/go/1.23.5/libexec/bin/go".into();
        f.path_gos[0].path = "/opt/homebrew/bin/go".into();
        let brew = homebrew_check(&f).unwrap();
        assert_eq!(brew.status, Status::Warn);
        assert!(
            brew.summary
                .starts_with("/usr/local/bin comes before /opt/homebrew/bin")
        );
        assert_eq!(
            brew.fix.as_deref(),
            Some("eval \"$(/opt/homebrew/bin/brew shellenv)\"")
        );
        f.path_dirs = vec!["/opt/homebrew/bin".into(), "/usr/local/bin".into()];
        assert_eq!(homebrew_check(&f).unwrap().status, Status::Ok);
    }

    #[test]
    fn exit_codes_rank_mixed_over_wrong_arch() {
        let c = |status, impact| Check::new("x", "x", status, "").impact(impact);
        assert_eq!(outcome(&[c(Status::Ok, Impact::None)]).code(), 0);
        assert_eq!(outcome(&[c(Status::Warn, Impact::Mixed)]).code(), 0);
        assert_eq!(outcome(&[c(Status::Fail, Impact::WrongArch)]).code(), 1);
        assert_eq!(
            outcome(&[
                c(Status::Fail, Impact::WrongArch),
                c(Status::Fail, Impact::Mixed)
            ])
            .code(),
            2
        );
        assert_eq!(
            outcome(&[
                c(Status::Fail, Impact::Mixed),
                c(Status::Fail, Impact::NoGo)
            ])
            .code(),
            66
        );
    }
}
