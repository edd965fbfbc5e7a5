//! `gohang rebuild` end to end, on Linux, with real files and processes.
//!
//! Most tests use a fake GOROOT: foreign (wrong-architecture) binaries, and a
//! `src/make.bash` that is a short script printing make.bash's phase lines and then doing
//! what the test needs (install a native toolchain by copying the machine's own Go, fail,
//! hang, fill the disk). They run in seconds. Two tests run the real make.bash of the
//! installed Go on a broken copy of it; they take minutes and run when
//! `GOHANG_SLOW_TESTS=1` (scripts/test.sh sets it) or `GOHANG_REQUIRE_ALL=1`.
//!
//! After every failure the GOROOT must be bit-identical to before: [`tree_hash`] covers
//! every path, type, mode, owner, size, modification time, symlink target and content.

#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers

/// Every entry of a tree: `path -> "type mode uid:gid size mtime content-or-target"`.
/// Two trees are bit-identical for gohang's purposes when their maps are equal.
fn tree_hash(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    hash_into(root, root, &mut out);
    out
}

fn hash_into(root: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
    let md = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
    let common = format!(
        "{:o} {}:{} {} {}.{}",
        md.mode(),
        md.uid(),
        md.gid(),
        if md.is_dir() { 0 } else { md.len() },
        md.mtime(),
        md.mtime_nsec()
    );
    let ft = md.file_type();
    let what = if ft.is_symlink() {
        format!("l {common} -> {}", fs::read_link(p).unwrap().display())
    } else if ft.is_dir() {
        format!("d {common}")
    } else {
        format!("f {common} {:016x}", content_hash(p))
    };
    out.insert(rel, what);
    if ft.is_dir() {
        let mut names: Vec<_> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for n in names {
            hash_into(root, &n, out);
        }
    }
}

fn content_hash(p: &Path) -> u64 {
    // DefaultHasher::new() has fixed keys: the same content hashes the same within a run,
    // which is all a before/after comparison needs.
    let mut h = std::hash::DefaultHasher::new();
    let mut f = fs::File::open(p).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
    }
    h.finish()
}

/// Assert two tree hashes are equal, showing the first differences.
fn assert_same_tree(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) {
    if before == after {
        return;
    }
    let mut diffs = Vec::new();
    for (k, v) in before {
        match after.get(k) {
            None => diffs.push(format!("missing: {k} ({v})")),
            Some(a) if a != v => diffs.push(format!("changed: {k}: {v} -> {a}")),
            _ => {}
        }
    }
    for k in after.keys().filter(|k| !before.contains_key(*k)) {
        diffs.push(format!("new: {k}"));
    }
    diffs.truncate(20);
    panic!("the tree is not bit-identical:\n{}", diffs.join("\n"));
}

/// The machine's architecture as Go names it, and a foreign one with its ELF machine.
fn native_goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("tests need an x86_64 or aarch64 host, not {other}"),
    }
}

fn foreign_goarch() -> &'static str {
    if native_goarch() == "amd64" {
        "arm64"
    } else {
        "amd64"
    }
}

/// What `gohang` calls the foreign architecture in its output.
fn foreign_arch_name() -> &'static str {
    if native_goarch() == "amd64" {
        "aarch64"
    } else {
        "x86_64"
    }
}

/// The first 64 bytes of an ELF executable for the foreign architecture: enough for
/// gohang's header check, not runnable.
fn foreign_elf() -> Vec<u8> {
    let machine: u16 = if native_goarch() == "amd64" { 183 } else { 62 };
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16] = 2;
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b
}

/// The installed Go's GOROOT (`go env GOROOT`), resolved.
fn system_goroot() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let out = Command::new("go")
            .args(["env", "GOROOT"])
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("these tests need Go installed (scripts/setup.sh installs it)");
        assert!(out.status.success(), "go env GOROOT failed");
        let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        fs::canonicalize(p).unwrap()
    })
    .clone()
}

fn system_version() -> String {
    fs::read_to_string(system_goroot().join("VERSION"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

fn write_exec(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The phase lines make.bash prints, up to phase `n` (1-based).
fn phase_lines(n: usize) -> String {
    let lines = [
        "echo \"Building Go cmd/dist using $GOROOT_BOOTSTRAP. (fake)\"",
        "echo \"Building Go toolchain1 using $GOROOT_BOOTSTRAP.\"",
        "echo 'Building Go bootstrap cmd/go (go_bootstrap) using Go toolchain1.'",
        "echo 'Building Go toolchain2 using go_bootstrap and Go toolchain1.'",
        "echo 'Building Go toolchain3 using go_bootstrap and Go toolchain2.'",
        "echo \"Building packages and commands for $(uname -s | tr A-Z a-z)/NATIVE.\"",
    ];
    lines[..n].join("\n").replace("NATIVE", native_goarch())
}

/// A make.bash body that installs a working native toolchain by copying the machine's Go
/// (bin/go, bin/gofmt, and the compiler: what verification runs).
fn install_native() -> String {
    let sys = system_goroot();
    let tool = format!("linux_{}", native_goarch());
    format!(
        "G=$(cd .. && pwd)\nmkdir -p \"$G/pkg/tool/{tool}\"\ncp {s}/bin/go {s}/bin/gofmt \"$G/bin/\"\ncp {s}/pkg/tool/{tool}/compile \"$G/pkg/tool/{tool}/\"\n",
        s = sys.display()
    )
}

/// A fake GOROOT at `g`: go1.23.5, foreign bin/go and bin/gofmt, a foreign
/// pkg/tool/linux_<foreign>/, varied modes, a symlink, an empty directory, and
/// `src/make.bash` with `make_body` after `set -e`.
fn fake_goroot(g: &Path, make_body: &str) {
    let foreign_tools = g.join(format!("pkg/tool/linux_{}", foreign_goarch()));
    fs::create_dir_all(&foreign_tools).unwrap();
    fs::create_dir_all(g.join("bin")).unwrap();
    fs::create_dir_all(g.join("src/runtime")).unwrap();
    fs::create_dir_all(g.join("misc/empty")).unwrap();
    fs::write(g.join("VERSION"), "go1.23.5\ntime 2025-01-10T16:44:59Z\n").unwrap();
    for f in [
        g.join("bin/go"),
        g.join("bin/gofmt"),
        foreign_tools.join("compile"),
        foreign_tools.join("link"),
    ] {
        fs::write(&f, foreign_elf()).unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::write(g.join("src/runtime/runtime.go"), "package runtime\n").unwrap();
    fs::write(g.join("src/readonly.txt"), "do not touch\n").unwrap();
    fs::set_permissions(
        g.join("src/readonly.txt"),
        fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    std::os::unix::fs::symlink("runtime/runtime.go", g.join("src/link.go")).unwrap();
    write_exec(&g.join("src/run.bash"), "#!/bin/sh\nexit 0\n");
    write_exec(
        &g.join("src/make.bash"),
        &format!("#!/bin/sh\nset -e\n{make_body}\n"),
    );
}

/// `gohang rebuild ARGS…` with its log in `dir`; returns (output, log path).
fn gohang(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gohang"));
    c.arg("rebuild").args(args);
    // Keep the machine's state dir out of it; a log always goes where the test says.
    c.env("XDG_STATE_HOME", dir.join("state"))
        .env("HOME", dir.join("home"))
        .env_remove("GOROOT")
        .env_remove("GOARCH")
        .env_remove("GOOS");
    c
}

/// `gohang rebuild` of `g` with `boot` as the bootstrap and its log at `log`, then `extra`.
fn rebuild(dir: &Path, g: &Path, boot: &Path, log: &Path, extra: &[&str]) -> Command {
    let mut args = vec![
        "--goroot",
        g.to_str().unwrap(),
        "--bootstrap",
        boot.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gohang(dir, &args)
}

fn run(mut cmd: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn siblings(g: &Path) -> Vec<String> {
    let name = g.file_name().unwrap().to_string_lossy().into_owned();
    let mut v: Vec<String> = fs::read_dir(g.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&name) && *n != name)
        .collect();
    v.sort();
    v
}

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// For tests that need something this machine may lack: under GOHANG_REQUIRE_ALL=1 (CI)
/// a missing piece fails the test; otherwise it is skipped, loudly.
fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("GOHANG_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("GOHANG_REQUIRE_ALL=1 but {what}");
    }
    eprintln!("SKIPPED: {what}");
    false
}

fn slow_tests_enabled() -> bool {
    let on = |k| std::env::var(k).as_deref() == Ok("1");
    if on("GOHANG_SLOW_TESTS") || on("GOHANG_REQUIRE_ALL") {
        return true;
    }
    eprintln!("SKIPPED: a real make.bash takes minutes; set GOHANG_SLOW_TESTS=1 to run it");
    false
}

/// Poll `f` until it gives Some, or panic at the deadline.
fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process group make.bash ran in, from the log line `make.bash started: pid N`.
fn make_bash_group(log: &str) -> Option<i32> {
    let line = log
        .lines()
        .find(|l| l.contains("make.bash started: pid "))?;
    let rest = line.split("make.bash started: pid ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn group_is_gone(pg: i32) -> bool {
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pg), None) == Err(nix::errno::Errno::ESRCH)
}

/// A tmpfs of `size` mounted on `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "gohang-test"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount -t tmpfs on {} failed", dir.display());
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The JSON document, read with a typed reader: unknown top-level fields fail the test.

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Report {
    schema: String,
    status: String,
    plan: serde_json::Value,
    result: Option<serde_json::Value>,
    #[serde(default)]
    pruned: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------
// Fast tests: fake GOROOTs

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let sys = system_goroot();
    let sys_s = sys.to_str().unwrap();

    let (code, out, err) = run(rebuild(d.path(), &g, &sys, &log, &[]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("plan (nothing has been changed)"), "{out}");
    let foreign_dir = format!("pkg/tool/linux_{}/", foreign_goarch());
    assert!(out.contains(&foreign_dir), "{out}");
    assert!(
        out.contains(&format!("bin/go: elf {}", foreign_arch_name())),
        "{out}"
    );
    assert!(out.contains(&format!("bootstrap  {sys_s} ")), "{out}");
    assert!(out.contains("./make.bash"), "{out}");
    assert!(out.contains("GOROOT_BOOTSTRAP="), "{out}");
    assert!(out.contains("--yes"), "{out}");

    let (code, out, _) = run(rebuild(d.path(), &g, &sys, &log, &["--json"]));
    assert_eq!(code, 0);
    let r: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(r.schema, "gohang.rebuild/1");
    assert_eq!(r.status, "ready");
    assert!(r.result.is_none() && r.pruned.is_none());
    let p = &r.plan;
    assert_eq!(p["goroot"]["version"], "go1.23.5");
    assert_eq!(p["host"]["native"], format!("linux_{}", native_goarch()));
    assert_eq!(
        p["foreign"]["foreign_dirs"][0]["path"],
        format!("pkg/tool/linux_{}", foreign_goarch())
    );
    let bins: Vec<&str> = p["foreign"]["foreign_binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    assert_eq!(bins, ["bin/go", "bin/gofmt"]);
    assert_eq!(p["bootstrap"]["chosen"]["goroot"], sys_s);
    assert!(p["disk"]["needed_bytes"].as_u64().unwrap() > 0);
    assert!(p["blockers"].as_array().unwrap().is_empty());

    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty(), "{:?}", siblings(&g));
    assert!(!log.exists(), "a dry run wrote the log");
}

#[test]
fn rebuild_succeeds_verifies_and_keeps_the_backup_until_pruned() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let (code, out, err) = run(rebuild(d.path(), &g, &system_goroot(), &log, &["--yes"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let native = format!("linux/{}", native_goarch());
    assert!(
        out.contains(&format!("as a native {native} toolchain, verified")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ok   go version: go version {} {native}",
            system_version()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("\"GOARCH\": \"{}\"", native_goarch())),
        "{out}"
    );
    assert!(
        out.contains("ok   go tool compile: compile version"),
        "{out}"
    );
    // The phases reached stderr as plain lines (not a terminal).
    assert!(
        err.contains("make.bash [6/6] Building packages and commands"),
        "{err}"
    );

    // Native now: the foreign tool dir is gone, bin/go is the machine's.
    assert!(
        !g.join(format!("pkg/tool/linux_{}", foreign_goarch()))
            .exists()
    );
    let info = gohang::binary::exe_info(&g.join("bin/go")).unwrap();
    assert_eq!(info.arches[0].goarch(), native_goarch());
    // The backup is the original, untouched.
    let backups = siblings(&g);
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = g.with_file_name(&backups[0]);
    assert_same_tree(&before, &tree_hash(&backup));
    assert!(
        out.contains(&format!("the original is kept at {}", backup.display())),
        "{out}"
    );
    let logged = fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("== verify") && logged.contains("rebuilt and verified"),
        "{logged}"
    );

    // A second plan says there is nothing to do, and names the backup.
    let (code, out, _) = run(gohang(d.path(), &["--goroot", g.to_str().unwrap()]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already native"), "{out}");
    assert!(out.contains(&backups[0]), "{out}");

    // --prune-backup lists, then with --yes removes.
    let (code, out, _) = run(gohang(
        d.path(),
        &["--goroot", g.to_str().unwrap(), "--prune-backup"],
    ));
    assert_eq!(code, 0);
    assert!(
        out.contains("would remove") && out.contains(&backups[0]),
        "{out}"
    );
    assert!(backup.exists());
    let (code, out, _) = run(gohang(
        d.path(),
        &["--goroot", g.to_str().unwrap(), "--prune-backup", "--yes"],
    ));
    assert_eq!(code, 0);
    assert!(out.contains("removed: "), "{out}");
    assert!(!backup.exists());
    assert!(g.join("bin/go").exists());
}

#[test]
fn verification_failure_rolls_back() {
    // make.bash "succeeds" but leaves a foreign linker in the native tool directory.
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    let tool = format!("pkg/tool/linux_{}", native_goarch());
    let body = format!(
        "{}\n{}\ncp \"$G/src/foreign-link\" \"$G/{tool}/link\"\n",
        phase_lines(6),
        install_native()
    );
    fake_goroot(&g, &body);
    fs::write(g.join("src/foreign-link"), foreign_elf()).unwrap();
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let (code, out, err) = run(rebuild(d.path(), &g, &system_goroot(), &log, &["--yes"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(
            "rebuild failed: make.bash succeeded but the result is not a native toolchain"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("{tool}/link is elf {}", foreign_arch_name())),
        "{out}"
    );
    assert!(out.contains("FAIL binaries"), "{out}");
    assert!(
        out.contains("rolled back:") && out.contains("is the original again"),
        "{out}"
    );
    assert!(out.contains(&format!("log: {}", log.display())), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty(), "{:?}", siblings(&g));
    let logged = fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("== rollback") && logged.contains("identical to the original"),
        "{logged}"
    );
}

#[test]
fn make_bash_failure_rolls_back_and_names_the_phase() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    let body = format!(
        "{}\necho 'cmd/go: loading packages: something broke' >&2\nexit 2\n",
        phase_lines(3)
    );
    fake_goroot(&g, &body);
    let before = tree_hash(&g);
    let (code, out, err) = run(rebuild(
        d.path(),
        &g,
        &system_goroot(),
        &d.path().join("l"),
        &["--yes"],
    ));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(
            "rebuild failed: make.bash failed (exit status 2) in phase 3/6 (go_bootstrap)"
        ),
        "{out}"
    );
    assert!(out.contains("something broke"), "{out}");
    assert!(out.contains("is the original again"), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());

    // The same failure as JSON: one document on stdout, nothing else there.
    let (code, out, _) = run(rebuild(
        d.path(),
        &g,
        &system_goroot(),
        &d.path().join("l2"),
        &["--yes", "--json"],
    ));
    assert_eq!(code, 1, "{out}");
    let r: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(r.status, "rolled-back");
    let res = r.result.unwrap();
    assert_eq!(res["outcome"], "rolled-back");
    assert_eq!(res["failed_step"], "build");
    assert_eq!(res["build"]["reached"], "phase 3/6 (go_bootstrap)");
    assert_eq!(res["build"]["ended"], "exit status 2");
    assert_eq!(res["restored"]["identical"], true);
    assert_eq!(res["log"], d.path().join("l2").to_str().unwrap());
    assert_same_tree(&before, &tree_hash(&g));
}

#[test]
fn a_make_bash_past_the_time_limit_is_stopped_and_rolled_back() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(
        &g,
        &format!(
            "{}
sleep 300
",
            phase_lines(4)
        ),
    );
    let before = tree_hash(&g);
    let started = Instant::now();
    let (code, out, err) = run(rebuild(
        d.path(),
        &g,
        &system_goroot(),
        &d.path().join("l"),
        &["--build-timeout", "1s", "--yes"],
    ));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        out.contains("make.bash did not finish within 1 s; stopped in phase 4/6 (toolchain2)"),
        "{out}"
    );
    assert!(out.contains("is the original again"), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

/// Start a rebuild whose make.bash hangs in phase 2 (with a grandchild), wait for that
/// phase in the log, send `sig` to gohang: it must stop the whole group and roll back.
fn interrupt_during_make_bash(sig: nix::sys::signal::Signal) {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    let body = format!("{}\nsleep 300 &\nwait\n", phase_lines(2));
    fake_goroot(&g, &body);
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let child = rebuild(d.path(), &g, &system_goroot(), &log, &["--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pg = wait_for(
        "make.bash phase 2 in the log",
        Duration::from_secs(60),
        || {
            let text = fs::read_to_string(&log).ok()?;
            text.contains("Building Go toolchain1 using")
                .then(|| make_bash_group(&text))?
        },
    );
    assert!(!group_is_gone(pg), "make.bash's group {pg} is not running");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "interrupted by {sig} while make.bash was in phase 2/6 (toolchain1)"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("is the original again"), "{stdout}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty(), "{:?}", siblings(&g));
    // No orphan: make.bash's shell and its `sleep 300` are gone.
    assert!(group_is_gone(pg), "process group {pg} survived gohang");
}

#[test]
fn sigterm_during_make_bash_rolls_back_and_leaves_no_process() {
    interrupt_during_make_bash(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn sigint_during_make_bash_rolls_back_and_leaves_no_process() {
    interrupt_during_make_bash(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn a_failing_bootstrap_is_refused_before_any_change() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let boot = d.path().join("boot");
    fs::create_dir_all(boot.join("pkg/tool")).unwrap();
    fs::write(boot.join("VERSION"), "go1.22.0\n").unwrap();
    write_exec(
        &boot.join("bin/go"),
        "#!/bin/sh\necho 'go: broken on purpose' >&2\nexit 1\n",
    );
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let (code, out, err) = run(rebuild(d.path(), &g, &boot, &log, &["--yes"]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("rebuild refused: the bootstrap toolchain fails"),
        "{out}"
    );
    assert!(
        out.contains("exit status 1 (go: broken on purpose)"),
        "{out}"
    );
    assert!(out.contains("nothing was changed"), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

/// A rebuild stopped before it moved the original aside (here refused in preflight; a
/// SIGKILL there leaves the same log) must not leave in its log a restore line that,
/// pasted, deletes the untouched original: every restore line of the log (`rm -rf` then
/// `mv`, in the note or in the plan's JSON) is run, and the tree must survive it.
#[test]
fn the_logged_restore_line_never_deletes_an_untouched_original() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let boot = d.path().join("boot");
    fs::create_dir_all(boot.join("pkg/tool")).unwrap();
    fs::write(boot.join("VERSION"), "go1.22.0\n").unwrap();
    write_exec(&boot.join("bin/go"), "#!/bin/sh\nexit 1\n");
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let (code, out, err) = run(rebuild(d.path(), &g, &boot, &log, &["--yes"]));
    assert_eq!(code, 2, "{out}\n{err}");
    let logged = fs::read_to_string(&log).unwrap();
    let lines: Vec<String> = logged
        .lines()
        // The restore lines (the plan's own steps, which act on the copy, are not).
        .filter(|l| l.contains("rm -rf") && l.contains(" && mv "))
        .map(|l| {
            l.trim()
                .trim_end_matches(',')
                .trim_matches('"')
                .replace("\\\"", "\"")
        })
        .collect();
    assert!(
        !lines.is_empty(),
        "the plan in the log names its rollback: {logged}"
    );
    for line in &lines {
        let status = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(d.path())
            .status()
            .unwrap();
        assert!(
            g.join("bin/go").exists(),
            "pasting `{line}` (exit {status}) deleted the untouched original"
        );
    }
    assert_same_tree(&before, &tree_hash(&g));
}

/// A tree shaped like a GOROOT that holds $HOME is never moved aside (the shared guard).
#[test]
fn a_goroot_that_holds_home_is_not_rebuilt() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let home = g.join("home/u");
    fs::create_dir_all(&home).unwrap();
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let mut cmd = rebuild(d.path(), &g, &system_goroot(), &log, &["--yes"]);
    cmd.env("HOME", &home);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 66, "{out}\n{err}");
    assert!(
        err.contains("gohang will not rebuild it") && err.contains("home"),
        "{err}"
    );
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

#[test]
fn a_bootstrap_failing_inside_the_real_make_bash_rolls_back() {
    // The tree's make.bash is Go's own (copied from the installed Go); the bootstrap
    // answers `go version` and fails to build cmd/dist, as a broken install would.
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, "");
    let sys = system_goroot();
    fs::copy(sys.join("src/make.bash"), g.join("src/make.bash")).unwrap();
    fs::copy(sys.join("src/run.bash"), g.join("src/run.bash")).unwrap();
    let boot = d.path().join("boot");
    fs::create_dir_all(boot.join("pkg/tool")).unwrap();
    fs::write(boot.join("VERSION"), format!("{}\n", system_version())).unwrap();
    write_exec(
        &boot.join("bin/go"),
        &format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo 'go version {} linux/{}'; exit 0; fi\necho \"go $1: cannot build: broken bootstrap\" >&2\nexit 1\n",
            system_version(),
            native_goarch()
        ),
    );
    let before = tree_hash(&g);
    let (code, out, err) = run(rebuild(
        d.path(),
        &g,
        &boot,
        &d.path().join("l"),
        &["--yes"],
    ));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("make.bash failed (exit status 1) in phase 1/6 (cmd/dist)"),
        "{out}"
    );
    assert!(
        out.contains("go build: cannot build: broken bootstrap"),
        "{out}"
    );
    assert!(out.contains("is the original again"), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

#[test]
fn too_little_free_space_is_refused() {
    if !require(root(), "mounting a tmpfs needs root") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let _mnt = Tmpfs::mount(&d.path().join("small"), "4m");
    let g = d.path().join("small/go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let before = tree_hash(&g);
    let (sys, log) = (system_goroot(), d.path().join("l"));
    let (code, out, err) = run(rebuild(d.path(), &g, &sys, &log, &[]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("cannot rebuild: not enough free space"),
        "{out}"
    );
    let (code, out, _) = run(rebuild(d.path(), &g, &sys, &log, &["--yes"]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not enough free space"), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

#[test]
fn the_disk_filling_up_during_make_bash_rolls_back() {
    if !require(root(), "mounting a tmpfs needs root") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    // Room for the plan's estimate for this small tree (its copy plus 16 MiB), not for
    // what this make.bash writes.
    let _mnt = Tmpfs::mount(&d.path().join("fs"), "24m");
    let g = d.path().join("fs/go");
    let body = format!(
        "{}\nG=$(cd .. && pwd)\nmkdir -p \"$G/pkg/obj\"\ndd if=/dev/zero of=\"$G/pkg/obj/fill\" bs=1M count=64\n",
        phase_lines(6)
    );
    fake_goroot(&g, &body);
    let before = tree_hash(&g);
    let (code, out, err) = run(rebuild(
        d.path(),
        &g,
        &system_goroot(),
        &d.path().join("l"),
        &["--yes"],
    ));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("rebuild failed: the disk filled up during make.bash"),
        "{out}"
    );
    assert!(out.contains("is the original again"), "{out}");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

#[test]
fn refuses_while_a_program_from_the_goroot_runs() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    let tool = g.join("bin/sleeper");
    fs::copy("/bin/sleep", &tool).unwrap();
    let mut sleeper = wait_for("spawning the copied sleep", Duration::from_secs(5), || {
        Command::new(&tool).arg("60").spawn().ok()
    });
    let before = tree_hash(&g);
    let (code, out, err) = run(rebuild(
        d.path(),
        &g,
        &system_goroot(),
        &d.path().join("l"),
        &["--yes"],
    ));
    let pid = sleeper.id();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("programs from this GOROOT are running"),
        "{out}"
    );
    assert!(
        out.contains(&format!("pid {pid} ({})", tool.display())),
        "{out}"
    );
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

#[test]
fn refuses_while_a_translated_program_from_the_goroot_runs() {
    // Under qemu-user via binfmt_misc, /proc/PID/exe is the emulator; the program is
    // found in the command line instead.
    let handler = format!(
        "/proc/sys/fs/binfmt_misc/qemu-{}",
        if foreign_goarch() == "arm64" {
            "aarch64"
        } else {
            "x86_64"
        }
    );
    let enabled = fs::read_to_string(&handler).is_ok_and(|t| t.starts_with("enabled"));
    if !require(
        enabled,
        &format!("{handler} is not registered (scripts/setup.sh does it)"),
    ) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &format!("{}\n{}", phase_lines(6), install_native()));
    // A foreign program that waits: built by the installed Go for the foreign architecture.
    let src = d.path().join("waiter.go");
    fs::write(
        &src,
        "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Minute) }\n",
    )
    .unwrap();
    let tool = g.join("bin/waiter");
    let st = Command::new(system_goroot().join("bin/go"))
        .arg("build")
        .arg("-o")
        .arg(&tool)
        .arg(&src)
        .env("GOOS", "linux")
        .env("GOARCH", foreign_goarch())
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "off")
        .env("CGO_ENABLED", "0")
        .status()
        .unwrap();
    assert!(st.success(), "cross-building the waiter");
    let mut waiter = wait_for(
        "spawning the foreign waiter",
        Duration::from_secs(5),
        || Command::new(&tool).spawn().ok(),
    );
    let pid = waiter.id();
    // It is translated: its exe is the emulator, not the program.
    let exe = wait_for("the emulator to start", Duration::from_secs(10), || {
        let e = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        (e != tool).then_some(e)
    });
    let before = tree_hash(&g);
    let (code, out, err) = run(rebuild(
        d.path(),
        &g,
        &system_goroot(),
        &d.path().join("l"),
        &["--yes"],
    ));
    let _ = waiter.kill();
    let _ = waiter.wait();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains(&format!("pid {pid} ({})", tool.display())),
        "the translated waiter (exe {}) was not found:\n{out}",
        exe.display()
    );
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty());
}

#[test]
fn package_managed_or_sourceless_trees_get_a_native_install_instead() {
    let d = tempfile::tempdir().unwrap();
    // A Homebrew keg (by its path), with foreign binaries.
    let keg = d.path().join("Cellar/go/1.23.5/libexec");
    fake_goroot(&keg, &phase_lines(6));
    let before = tree_hash(&keg);
    let (code, out, _) = run(gohang(
        d.path(),
        &["--goroot", keg.to_str().unwrap(), "--yes"],
    ));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("belongs to the Homebrew formula go"), "{out}");
    assert!(out.contains("install a native Go instead:"), "{out}");
    assert!(out.contains("brew reinstall go"), "{out}");
    let archive = format!(
        "https://go.dev/dl/go1.23.5.linux-{}.tar.gz",
        native_goarch()
    );
    assert!(out.contains(&archive), "{out}");
    assert_same_tree(&before, &tree_hash(&keg));

    // No sources.
    let g = d.path().join("bin-only");
    fake_goroot(&g, "");
    fs::remove_file(g.join("src/make.bash")).unwrap();
    let (code, out, _) = run(gohang(
        d.path(),
        &["--goroot", g.to_str().unwrap(), "--json"],
    ));
    assert_eq!(code, 2, "{out}");
    let r: Report = serde_json::from_str(&out).unwrap();
    assert_eq!(r.status, "blocked");
    let kinds: Vec<&str> = r.plan["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"no-source"), "{kinds:?}");
    assert!(
        r.plan["install_instead"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains(&archive))
    );

    // A release too new for any Go on this machine to bootstrap.
    let g = d.path().join("future");
    fake_goroot(&g, &phase_lines(6));
    fs::write(g.join("VERSION"), "go1.99.0\n").unwrap();
    let (code, out, _) = run(gohang(d.path(), &["--goroot", g.to_str().unwrap()]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no native go1.96.0 or later found"), "{out}");
    assert!(out.contains("go1.99.0.linux-"), "{out}");
}

#[test]
fn a_goroot_left_only_as_a_backup_is_pointed_at() {
    // What a SIGKILL between the rename and the copy leaves behind.
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    let backup = d.path().join("go.gohang-backup-20250101-000000");
    fake_goroot(&backup, "");
    let (code, _, err) = run(gohang(d.path(), &["--goroot", g.to_str().unwrap()]));
    assert_eq!(code, 66, "{err}");
    assert!(
        err.contains(&format!(
            "restore it with `mv {} {}`",
            backup.display(),
            g.display()
        )),
        "{err}"
    );
}

#[test]
fn the_goroot_set_in_the_go_env_file_is_the_one_check_reports() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("copy");
    fake_goroot(&g, &phase_lines(6));
    let xdg = d.path().join("xdg");
    fs::create_dir_all(xdg.join("go")).unwrap();
    let env_file = xdg.join("go/env");
    fs::write(&env_file, format!("GOROOT={}\n", g.display())).unwrap();
    // The go on PATH is the machine's own, native one: a search that ignored the go/env
    // file would find that and have nothing to do.
    let path = format!("{}:/usr/bin:/bin", system_goroot().join("bin").display());

    let mut c = gohang(d.path(), &["--json"]);
    c.env("XDG_CONFIG_HOME", &xdg)
        .env("PATH", &path)
        .env_remove("GOENV");
    let (code, out, err) = run(c);
    let r: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!((code, r.status.as_str()), (0, "ready"), "{out}");
    let real = fs::canonicalize(&g).unwrap();
    assert_eq!(r.plan["goroot"]["path"], real.to_str().unwrap());
    assert_eq!(r.plan["goroot"]["found_by"], "go env file");
    assert_eq!(r.plan["goroot"]["env_file"], env_file.to_str().unwrap());

    let mut c = gohang(d.path(), &[]);
    c.env("XDG_CONFIG_HOME", &xdg)
        .env("PATH", &path)
        .env_remove("GOENV");
    let (_, out, _) = run(c);
    assert!(
        out.contains(&format!("from GOROOT in {})", env_file.display())),
        "{out}"
    );

    // gohang check, in the same environment, reports the same GOROOT.
    let o = Command::new(env!("CARGO_BIN_EXE_gohang"))
        .args(["check", "--json"])
        .env_clear()
        .env("PATH", &path)
        .env("HOME", d.path().join("home"))
        .env("XDG_CONFIG_HOME", &xdg)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let checked = v["toolchain"]["goroot"].as_str().unwrap();
    assert_eq!(fs::canonicalize(checked).unwrap(), real, "{v:#}");
    assert_eq!(
        v["toolchain"]["goroot_source"],
        format!("GOROOT in {}", env_file.display())
    );
}

#[test]
fn a_goroot_variable_that_is_not_a_goroot_is_reported_not_replaced() {
    let d = tempfile::tempdir().unwrap();
    let not_go = d.path().join("not-go");
    fs::create_dir_all(not_go.join("lib")).unwrap();
    let path = format!("{}:/usr/bin:/bin", system_goroot().join("bin").display());
    let mut c = gohang(d.path(), &[]);
    c.env("GOROOT", &not_go).env("PATH", &path);
    let (code, out, err) = run(c);
    assert_eq!(code, 66, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "{} ($GOROOT) does not look like a GOROOT",
            not_go.display()
        )),
        "{err}"
    );
    assert!(err.contains("--goroot DIR"), "{err}");

    // One that does not exist at all.
    let mut c = gohang(d.path(), &[]);
    c.env("GOROOT", d.path().join("gone")).env("PATH", &path);
    let (code, _, err) = run(c);
    assert_eq!(code, 66, "{err}");
    assert!(
        err.contains("($GOROOT): No such file or directory"),
        "{err}"
    );
}

#[test]
fn a_bootstrap_without_a_version_file_is_judged_by_its_go_build_info() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("go");
    fake_goroot(&g, &phase_lines(6));
    // A bootstrap tree of just bin/go and pkg/tool/: no VERSION, no sources.
    let boot = d.path().join("boot");
    fs::create_dir_all(boot.join("bin")).unwrap();
    fs::create_dir_all(boot.join("pkg/tool")).unwrap();
    fs::copy(system_goroot().join("bin/go"), boot.join("bin/go")).unwrap();
    let real_boot = fs::canonicalize(&boot).unwrap();

    let plan_with = |g: &Path| {
        let mut c = gohang(d.path(), &["--goroot", g.to_str().unwrap(), "--json"]);
        c.env("GOROOT_BOOTSTRAP", &boot);
        let (_, out, err) = run(c);
        let r: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        r.plan
    };
    let p = plan_with(&g);
    let considered = p["bootstrap"]["considered"].as_array().unwrap();
    let mine = considered
        .iter()
        .find(|c| c["goroot"] == real_boot.to_str().unwrap())
        .unwrap_or_else(|| panic!("{considered:#?}"));
    assert_eq!(mine["version"], system_version(), "{mine:#}");
    assert!(mine["rejected"].is_null(), "{mine:#}");
    // Found first ($GOROOT_BOOTSTRAP) and of the same release as any other: chosen.
    assert_eq!(
        p["bootstrap"]["chosen"]["goroot"],
        real_boot.to_str().unwrap()
    );

    // The version read that way is held against the minimum like any other.
    let g2 = d.path().join("needs-newer");
    fake_goroot(&g2, &format!("bootgo=1.99.0\n{}", phase_lines(6)));
    let p = plan_with(&g2);
    let mine = p["bootstrap"]["considered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["goroot"] == real_boot.to_str().unwrap())
        .unwrap()
        .clone();
    assert_eq!(
        mine["rejected"],
        format!(
            "{} is older than the go1.99.0 make.bash needs",
            system_version()
        )
    );
}

#[test]
fn debian_owned_goroot_is_recognized() {
    let sys = system_goroot();
    let dpkg_owned = Command::new("dpkg")
        .arg("-S")
        .arg(sys.join("bin/go"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !require(dpkg_owned, "the installed Go is not a Debian package here") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (code, out, _) = run(gohang(
        d.path(),
        &["--goroot", sys.to_str().unwrap(), "--json"],
    ));
    let r: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    // The installed Go is native: nothing to do, but its owner is known.
    assert_eq!((code, r.status.as_str()), (0, "nothing-to-do"), "{out}");
    assert_eq!(r.plan["goroot"]["owner"]["manager"], "dpkg");
    assert!(
        r.plan["goroot"]["owner"]["package"]
            .as_str()
            .unwrap()
            .starts_with("golang-")
    );
}

// ---------------------------------------------------------------------------------------
// Slow tests: the real make.bash

/// A broken copy of the installed GOROOT, made once per machine and Go version and kept
/// in cargo's target tmp dir: symlinks dereferenced (Debian's GOROOT links src/, misc/,
/// … into /usr/share), lib/time/zoneinfo.zip restored when Debian stripped it, bin/go
/// replaced by a foreign build of cmd/go, and foreign tools in pkg/tool/linux_<foreign>/.
fn broken_template() -> PathBuf {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let t = base.join(format!(
            "rebuild-broken-{}-{}",
            system_version(),
            foreign_goarch()
        ));
        let done = t.with_extension("done");
        if done.exists() && t.is_dir() {
            return t;
        }
        let _ = fs::remove_dir_all(&t);
        fs::create_dir_all(&t).unwrap();
        let g = t.join("go");
        let st = Command::new("cp")
            .arg("-rL")
            .arg(system_goroot())
            .arg(&g)
            .status()
            .unwrap();
        assert!(st.success(), "copying the installed GOROOT");
        let zip = g.join("lib/time/zoneinfo.zip");
        if !zip.exists() {
            restore_zoneinfo(&g, &zip);
        }
        let cross = |out: &Path, pkgs: &[&str]| {
            let st = Command::new(system_goroot().join("bin/go"))
                .arg("build")
                .arg("-o")
                .arg(out)
                .args(pkgs)
                .env("GOOS", "linux")
                .env("GOARCH", foreign_goarch())
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "")
                .env("CGO_ENABLED", "0")
                .status()
                .unwrap();
            assert!(st.success(), "cross-building {pkgs:?}");
        };
        cross(&g.join("bin/go"), &["cmd/go"]);
        let foreign_tools = g.join(format!("pkg/tool/linux_{}", foreign_goarch()));
        fs::create_dir_all(&foreign_tools).unwrap();
        cross(&foreign_tools.join("pack"), &["cmd/pack"]);
        cross(&foreign_tools.join("buildid"), &["cmd/buildid"]);
        fs::write(&done, "").unwrap();
        t
    })
    .clone()
}

/// Debian ships `src/time/tzdata/zzipdata.go` (cmd/dist's output) but not the
/// `lib/time/zoneinfo.zip` cmd/dist makes it from; decode the Go string literal back.
fn restore_zoneinfo(g: &Path, zip: &Path) {
    let src = fs::read_to_string(g.join("src/time/tzdata/zzipdata.go")).unwrap();
    let start = src.find("const zipdata = \"").unwrap() + "const zipdata = \"".len();
    let b = &src.as_bytes()[start..];
    let mut out = Vec::new();
    let mut i = 0;
    while b[i] != b'"' {
        if b[i] == b'\\' {
            assert_eq!(b[i + 1], b'x', "cmd/dist quotes only as \\xNN");
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    fs::create_dir_all(zip.parent().unwrap()).unwrap();
    fs::write(zip, out).unwrap();
}

/// A fresh copy of the broken template in `dir`.
fn broken_copy(dir: &Path) -> PathBuf {
    let g = dir.join("go");
    let st = Command::new("cp")
        .arg("-a")
        .arg(broken_template().join("go"))
        .arg(&g)
        .status()
        .unwrap();
    assert!(st.success());
    g
}

#[test]
fn real_make_bash_turns_a_broken_copy_into_a_native_goroot() {
    if !slow_tests_enabled() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let g = broken_copy(d.path());
    let before = tree_hash(&g);
    let sys = system_goroot();
    let log = d.path().join("rebuild.log");

    // The plan first: it sees what is foreign, and changes nothing.
    let (code, out, _) = run(rebuild(d.path(), &g, &sys, &log, &[]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("bin/go: elf {}", foreign_arch_name())),
        "{out}"
    );
    assert!(
        out.contains(&format!("pkg/tool/linux_{}/", foreign_goarch())),
        "{out}"
    );
    assert!(
        out.contains("make.bash needs go1.20.6 or later (src/make.bash)"),
        "{out}"
    );
    assert_same_tree(&before, &tree_hash(&g));

    let started = Instant::now();
    let (code, out, err) = run(rebuild(d.path(), &g, &sys, &log, &["--yes"]));
    let took = started.elapsed();
    eprintln!("real make.bash rebuild took {:.0} s", took.as_secs_f64());
    assert_eq!(
        code,
        0,
        "{out}\n{err}\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    let native = format!("linux/{}", native_goarch());
    let version = system_version();
    for want in [
        format!(
            "rebuilt {} as a native {native} toolchain, verified",
            g.display()
        ),
        "reached phase 6/6 (packages and commands)".to_string(),
        format!("ok   go version: go version {version} {native}"),
        format!("\"GOARCH\": \"{}\"", native_goarch()),
        format!("\"GOHOSTARCH\": \"{}\"", native_goarch()),
        format!("\"GOROOT\": \"{}\"", g.display()),
        format!(
            "\"GOTOOLDIR\": \"{}/pkg/tool/linux_{}\"",
            g.display(),
            native_goarch()
        ),
        format!("ok   go tool compile: compile version {version}"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    for phase in [
        "[1/6] Building Go cmd/dist",
        "[2/6] Building Go toolchain1",
        "[3/6] Building Go bootstrap cmd/go",
        "[4/6] Building Go toolchain2",
        "[5/6] Building Go toolchain3",
        "[6/6] Building packages and commands",
    ] {
        assert!(err.contains(phase), "missing phase {phase} in:\n{err}");
    }

    // Every binary is native, the foreign tool dir is gone.
    assert!(
        !g.join(format!("pkg/tool/linux_{}", foreign_goarch()))
            .exists()
    );
    let tooldir = g.join(format!("pkg/tool/linux_{}", native_goarch()));
    let mut checked = 0;
    for dir in [g.join("bin"), tooldir] {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let info = gohang::binary::exe_info(&p).unwrap();
            assert_eq!(info.arches[0].goarch(), native_goarch(), "{}", p.display());
            checked += 1;
        }
    }
    assert!(checked > 15, "only {checked} binaries");

    // It builds and runs a program.
    let work = d.path().join("hello");
    fs::create_dir_all(&work).unwrap();
    fs::write(work.join("hello.go"), "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from a rebuilt go\") }\n").unwrap();
    let out = Command::new(g.join("bin/go"))
        .args(["build", "-o", "hello", "hello.go"])
        .current_dir(&work)
        .env("GOCACHE", d.path().join("cache"))
        .env("GOPATH", d.path().join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env("GOFLAGS", "")
        .env("GO111MODULE", "off")
        .env_remove("GOROOT")
        .env_remove("GOARCH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        gohang::binary::exe_info(&work.join("hello"))
            .unwrap()
            .arches[0]
            .goarch(),
        native_goarch()
    );
    let run_out = Command::new(work.join("hello")).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run_out.stdout),
        "hello from a rebuilt go\n"
    );

    // The backup is the broken original, bit for bit.
    let backups = siblings(&g);
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_same_tree(&before, &tree_hash(&g.with_file_name(&backups[0])));
}

#[test]
fn real_make_bash_interrupted_midway_rolls_back() {
    if !slow_tests_enabled() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let g = broken_copy(d.path());
    let before = tree_hash(&g);
    let log = d.path().join("rebuild.log");
    let child = rebuild(d.path(), &g, &system_goroot(), &log, &["--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until make.bash is building toolchain1: compilers are running then.
    let pg = wait_for(
        "phase 2 of the real make.bash",
        Duration::from_secs(600),
        || {
            let text = fs::read_to_string(&log).ok()?;
            text.contains("Building Go toolchain1 using")
                .then(|| make_bash_group(&text))?
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("interrupted by SIGINT while make.bash was in phase"),
        "{stdout}"
    );
    assert!(stdout.contains("is the original again"), "{stdout}");
    assert!(group_is_gone(pg), "make.bash's process group {pg} survived");
    assert_same_tree(&before, &tree_hash(&g));
    assert!(siblings(&g).is_empty(), "{:?}", siblings(&g));
}
