//! `gohang check` and `gohang scan`, run as a user runs them, on fake GOROOTs made of
//! real binaries (see `common/inspect.rs`) and in controlled environments: the child gets
//! only the variables a test gives it (`env_clear`), so the machine's own Go settings do
//! not leak in.

#[path = "common/inspect.rs"]
mod fixtures;

use fixtures::{FakeGoroot, Fixtures, fixtures};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn gohang(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gohang"));
    c.args(args).env_clear();
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("running gohang")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A GOROOT whose bin/go and tools are `go` and `tools` (by GOARCH) for this OS.
fn goroot(dir: &Path, f: &Fixtures, go_arch: &str, tool_dir: &str, tools_arch: &str) -> FakeGoroot {
    let g = FakeGoroot::new(dir);
    let native = go_arch == f.native_arch;
    g.put(
        "bin/go",
        &if native {
            f.native_tool("go")
        } else {
            f.tool("linux", go_arch, "go")
        },
    );
    for name in ["compile", "link", "asm"] {
        let from = if tools_arch == f.native_arch {
            f.native_tool(name)
        } else if name == "compile" {
            f.tool("linux", tools_arch, "compile")
        } else {
            f.hello("linux", tools_arch)
        };
        g.put(&format!("pkg/tool/{tool_dir}/{name}"), &from);
    }
    // GOROOT's test data holds foreign binaries on purpose: never counted.
    g.put(
        "src/debug/macho/testdata/hello",
        &f.hello("darwin", "arm64"),
    );
    g
}

/// The environment of a user whose PATH has only this GOROOT's bin.
fn env_for(g: &FakeGoroot, home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", g.bin().display().to_string()),
        ("HOME", home.display().to_string()),
    ]
}

fn check_json(env: &[(&str, String)]) -> (i32, Value) {
    let o = gohang(&["check", "--json"], env);
    (code(&o), json(&o))
}

fn check_named<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {v:#}"))
}

#[test]
fn native_goroot_is_consistent() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    g.put("bin/gofmt", &f.native_tool("gofmt"));
    g.version_file(&f.go_version);
    let env = env_for(&g, t.path());
    let (c, v) = check_json(&env);
    assert_eq!(c, 0, "{v:#}");
    assert_eq!(v["schema"], "gohang.check/1");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["analysis"]["state"], "native");
    // go + gofmt + 3 tools; src/ is not counted.
    assert_eq!(v["analysis"]["binaries"], 5);
    assert_eq!(v["toolchain"]["tool_dir"], f.native_dir());
    assert_eq!(
        Path::new(v["toolchain"]["goroot"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        g.root.canonicalize().unwrap()
    );
    for c in v["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "fail", "{c:#}");
    }

    let o = gohang(&["check"], &env);
    assert_eq!(code(&o), 0);
    let out = text(&o);
    assert!(out.contains("✓ go on PATH"), "{out}");
    assert!(
        out.contains("result: native and consistent (exit 0)"),
        "{out}"
    );
}

#[test]
fn all_foreign_goroot_is_wrong_arch() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let dir = format!("{}_{}", f.native_os, f.foreign_arch);
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.foreign_arch,
        &dir,
        &f.foreign_arch,
    );
    let (c, v) = check_json(&env_for(&g, t.path()));
    assert_eq!(c, 1, "{v:#}");
    assert_eq!(v["analysis"]["state"], "foreign");
    // The foreign go runs its tools from its own GOARCH's directory.
    assert_eq!(v["toolchain"]["tool_dir"], dir);
    let go = check_named(&v, "go");
    assert_eq!(go["status"], "fail");
    assert!(go["fix"].as_str().unwrap().contains("go.dev/dl"), "{go:#}");
    assert_eq!(check_named(&v, "tools")["impact"], "wrong-arch");

    let out = text(&gohang(&["check"], &env_for(&g, t.path())));
    assert!(out.contains("✗ go on PATH"), "{out}");
    assert!(out.contains("  fix:"), "{out}");
    assert!(out.contains("(exit 1)"), "{out}");
}

#[test]
fn native_go_with_foreign_tools_is_mixed() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.foreign_arch,
    );
    let (c, v) = check_json(&env_for(&g, t.path()));
    assert_eq!(c, 2, "{v:#}");
    assert_eq!(v["analysis"]["state"], "mixed");
    assert_eq!(v["analysis"]["foreign"].as_array().unwrap().len(), 3);
    let tools = check_named(&v, "tools");
    assert_eq!(tools["status"], "fail");
    assert_eq!(tools["impact"], "mixed");
    assert!(
        tools["details"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("pkg/tool/{}/", f.native_dir())),
        "{tools:#}"
    );
    assert_eq!(check_named(&v, "go")["status"], "ok");
}

#[test]
fn foreign_go_with_native_tools_is_mixed() {
    let f = fixtures();
    let t = fixtures::tempdir();
    // The foreign go would use pkg/tool/<os>_<foreign>, which holds native tools here.
    let dir = format!("{}_{}", f.native_os, f.foreign_arch);
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.foreign_arch,
        &dir,
        &f.native_arch,
    );
    let (c, v) = check_json(&env_for(&g, t.path()));
    assert_eq!(c, 2, "{v:#}");
    assert_eq!(check_named(&v, "go")["impact"], "wrong-arch");
    assert_eq!(check_named(&v, "tools")["impact"], "mixed");
}

#[test]
fn stale_foreign_tool_dir_beside_native_is_a_warning() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    g.put(
        "pkg/tool/darwin_arm64/compile",
        &f.tool("darwin", "arm64", "compile"),
    );
    g.put(
        &format!("pkg/tool/{}/compile", f.foreign_dir()),
        &f.tool("linux", &f.foreign_arch, "compile"),
    );
    let (c, v) = check_json(&env_for(&g, t.path()));
    assert_eq!(c, 0, "stale directories are ignored by go: {v:#}");
    let stale = check_named(&v, "stale-tool-dirs");
    assert_eq!(stale["status"], "warn");
    let summary = stale["summary"].as_str().unwrap();
    assert!(summary.contains("pkg/tool/darwin_arm64"), "{summary}");
    assert!(
        summary.contains(&format!("pkg/tool/{}", f.foreign_dir())),
        "{summary}"
    );
    assert!(stale["fix"].as_str().unwrap().starts_with("rm -rf "));
    assert_eq!(v["analysis"]["state"], "native");
}

#[test]
fn mismatched_go_versions_are_inconsistent() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    // A compile from another release: the `compile: version … does not match` trap.
    std::fs::remove_file(g.root.join(format!("pkg/tool/{}/compile", f.native_dir()))).unwrap();
    g.put(
        &format!("pkg/tool/{}/compile", f.native_dir()),
        &f.hello_old(),
    );
    let (c, v) = check_json(&env_for(&g, t.path()));
    assert_eq!(c, 2, "{v:#}");
    let versions = check_named(&v, "versions");
    assert_eq!(versions["status"], "fail");
    let s = versions["summary"].as_str().unwrap();
    assert!(
        s.contains(&format!(
            "compile: version \"{}\" does not match go tool version \"{}\"",
            f.old_version, f.go_version
        )),
        "{s}"
    );
    // Architectures are fine: only the versions differ.
    assert_eq!(v["analysis"]["state"], "native");
}

#[test]
fn missing_tool_dir_is_inconsistent() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = FakeGoroot::new(&t.path().join("go"));
    g.put("bin/go", &f.native_tool("go"));
    g.put(
        &format!("pkg/tool/{}/compile", f.foreign_dir()),
        &f.tool("linux", &f.foreign_arch, "compile"),
    );
    let (c, v) = check_json(&env_for(&g, t.path()));
    assert_eq!(c, 2, "{v:#}");
    let gr = check_named(&v, "goroot");
    assert_eq!(gr["status"], "fail");
    assert!(
        gr["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("pkg/tool/{} is missing", f.native_dir()))
    );
}

#[test]
fn a_tool_dir_without_asm_fails_as_the_go_command_does() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = FakeGoroot::new(&t.path().join("go"));
    g.put("bin/go", &f.native_tool("go"));
    let dir = f.native_dir();
    for name in ["compile", "link"] {
        g.put(&format!("pkg/tool/{dir}/{name}"), &f.native_tool(name));
    }
    g.version_file(&f.go_version);
    let env = env_for(&g, t.path());
    let (c, v) = check_json(&env);
    assert_eq!(c, 2, "inconsistent: no build works without asm: {v:#}");
    let req = check_named(&v, "required-tools");
    assert_eq!(req["status"], "fail", "{req:#}");
    let summary = req["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("pkg/tool/{dir} lacks asm, cgo, vet, cover")),
        "{summary}"
    );
    assert!(summary.contains("go: no such tool \"asm\""), "{summary}");
    // The fix brings back this go's own release, downloaded before anything is removed.
    let fix = req["fix"].as_str().unwrap();
    let url = format!(
        "curl -fLO https://go.dev/dl/{}.{}-{}.tar.gz && ",
        f.go_version, f.native_os, f.native_arch
    );
    assert!(fix.lines().any(|l| l.starts_with(&url)), "{fix}");

    let out = text(&gohang(&["check"], &env));
    assert!(out.contains("✗ required tools: "), "{out}");

    // The go command agrees: the installed go, copied into this GOROOT (with the real
    // sources), stops building the emptiest program at the first missing tool.
    std::fs::remove_dir_all(g.root.join("src")).unwrap();
    std::os::unix::fs::symlink(f.goroot.join("src"), g.root.join("src")).unwrap();
    let work = t.path().join("hello");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    let built = Command::new(g.root.join("bin/go"))
        .args(["build", "-o", "/dev/null", "main.go"])
        .current_dir(&work)
        .env_clear()
        .env("HOME", t.path())
        .env("PATH", "/usr/bin:/bin")
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", t.path().join("gocache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(!built.status.success(), "{stderr}");
    assert!(stderr.contains("go: no such tool \"asm\""), "{stderr}");

    // With every tool there (go only looks for the file), it is fine.
    for name in ["asm", "cgo", "vet", "cover"] {
        g.put(&format!("pkg/tool/{dir}/{name}"), &f.native_tool("asm"));
    }
    let (_, v) = check_json(&env);
    assert_eq!(check_named(&v, "required-tools")["status"], "ok");
}

#[test]
fn no_go_on_path() {
    let t = fixtures::tempdir();
    let empty = t.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let env = vec![
        ("PATH", empty.display().to_string()),
        ("HOME", t.path().display().to_string()),
    ];
    // docs/json.md: an exit code of 64 or more prints nothing on stdout with --json, as
    // for every command; the reason is one line on stderr.
    let out = gohang(&["check", "--json"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(66), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("gohang: ") && err.contains("go"), "{err}");
    // A person still gets the whole check.
    let out = gohang(&["check"], &env);
    assert_eq!(out.status.code(), Some(66));
    assert!(String::from_utf8_lossy(&out.stdout).contains("✗ go on PATH"));
}

#[test]
fn contaminated_environment_is_reported() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    let envfile = t.path().join("go-env");
    std::fs::write(&envfile, "GOOS=windows\nGOPROXY=direct\n").unwrap();
    let mut env = env_for(&g, t.path());
    env.push(("GOARCH", f.foreign_arch.clone()));
    env.push(("GOENV", envfile.display().to_string()));
    env.push(("DYLD_INSERT_LIBRARIES", "/tmp/x.dylib".to_string()));
    let (c, v) = check_json(&env);
    assert_eq!(c, 0, "settings are warnings, the toolchain is fine: {v:#}");
    let e = check_named(&v, "environment");
    assert_eq!(e["status"], "warn");
    let settings = v["environment"]["settings"].as_array().unwrap();
    let pairs: Vec<(String, String, String)> = settings
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["value"].as_str().unwrap().to_string(),
                s["source"]["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        pairs.contains(&("GOOS".into(), "windows".into(), "go-env-file".into())),
        "{pairs:?}"
    );
    assert!(
        pairs.contains(&(
            "GOARCH".into(),
            f.foreign_arch.clone(),
            "environment".into()
        )),
        "{pairs:?}"
    );
    assert_eq!(v["environment"]["env_file"], envfile.display().to_string());
    let fix = e["fix"].as_str().unwrap();
    assert!(fix.contains("unset GOARCH"), "{fix}");
    assert!(fix.contains("/^GOOS=/d"), "{fix}");
    assert!(fix.contains("unset DYLD_INSERT_LIBRARIES"), "{fix}");

    let out = text(&gohang(&["check"], &env));
    assert!(out.contains("! environment"), "{out}");
    assert!(out.contains("GOOS=windows"), "{out}");
}

#[test]
fn go_env_file_in_the_default_place() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    let cfg = t.path().join(".config/go");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("env"), "GOTOOLCHAIN=go1.99.0\n").unwrap();
    let (_, v) = check_json(&env_for(&g, t.path()));
    let s = &v["environment"]["settings"][0];
    assert_eq!(s["name"], "GOTOOLCHAIN");
    assert_eq!(
        s["source"]["path"],
        cfg.join("env").display().to_string(),
        "{v:#}"
    );
}

#[test]
fn version_manager_and_downloaded_toolchains_are_listed() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let home = t.path();
    let g = goroot(
        &home.join("go-main"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    goroot(
        &home.join(".gvm/gos/go1.21.0"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    let dl = format!(
        "go/pkg/mod/golang.org/toolchain@v0.0.1-go1.99.0.{}-{}",
        f.native_os, f.foreign_arch
    );
    goroot(
        &home.join(&dl),
        f,
        &f.foreign_arch,
        &f.foreign_dir(),
        &f.foreign_arch,
    );
    let (c, v) = check_json(&env_for(&g, home));
    assert_eq!(c, 0, "{v:#}");
    let installs = v["installs"].as_array().unwrap();
    let find = |src: &str| {
        installs
            .iter()
            .find(|i| i["source"] == src)
            .unwrap_or_else(|| panic!("no {src} install in {installs:#?}"))
    };
    assert!(
        find("gvm")["goroot"]
            .as_str()
            .unwrap()
            .ends_with(".gvm/gos/go1.21.0")
    );
    assert!(
        find("go-toolchain")["goroot"]
            .as_str()
            .unwrap()
            .ends_with(&dl)
    );
    let c = check_named(&v, "installs");
    assert_eq!(
        c["status"], "warn",
        "the downloaded toolchain is foreign: {c:#}"
    );
}

#[test]
fn goroot_variable_pointing_elsewhere_is_reported() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    let other = goroot(
        &t.path().join("other"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    let mut env = env_for(&g, t.path());
    env.push(("GOROOT", other.root.display().to_string()));
    let (_, v) = check_json(&env);
    let gr = check_named(&v, "goroot");
    assert_eq!(gr["status"], "warn", "{gr:#}");
    assert_eq!(gr["fix"], "unset GOROOT");
}

#[test]
fn scan_a_goroot_counts_only_bin_and_pkg_tool() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.native_arch,
    );
    let root = g.root.display().to_string();
    let o = gohang(&["scan", "--json", &root], &[]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    assert_eq!(v["schema"], "gohang.scan/1");
    let target = &v["targets"][0];
    assert_eq!(target["kind"], "goroot");
    let files = target["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "bin/go + 3 tools, not src/: {files:#?}");
    assert!(files.iter().all(|x| x["fit"]["kind"] == "native"));
    assert_eq!(files[0]["group"], "bin");
    assert_eq!(files[1]["group"], format!("pkg/tool/{}", f.native_dir()));
    assert_eq!(
        files[0]["binary"]["slices"][0]["go"]["version"],
        f.go_version
    );

    // A stale foreign tool directory makes the GOROOT mixed for scan.
    g.put(
        "pkg/tool/darwin_arm64/compile",
        &f.tool("darwin", "arm64", "compile"),
    );
    let o = gohang(&["scan", &root], &[]);
    assert_eq!(code(&o), 2);
    let out = text(&o);
    let line = out
        .lines()
        .find(|l| l.contains("pkg/tool/darwin_arm64/compile"))
        .unwrap();
    for col in [
        "arm64",
        "macos",
        "ad-hoc (linker)",
        &f.go_version,
        "foreign",
    ] {
        assert!(line.contains(col), "{col} missing in: {line}");
    }
    assert!(out.contains("FILE") && out.contains("MIN OS") && out.contains("SIGNATURE"));
}

#[test]
fn scan_files_exit_codes() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let native = f.hello(&f.native_os, &f.native_arch).display().to_string();
    let foreign = f.hello("darwin", "arm64").display().to_string();
    let broken = t.path().join("broken");
    let bytes = std::fs::read(f.hello("linux", "s390x")).unwrap();
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let broken = broken.display().to_string();

    assert_eq!(code(&gohang(&["scan", &native], &[])), 0);
    assert_eq!(code(&gohang(&["scan", &foreign], &[])), 1);
    assert_eq!(code(&gohang(&["scan", &native, &foreign], &[])), 2);
    let o = gohang(&["scan", "--json", &native, &broken], &[]);
    assert_eq!(code(&o), 2);
    let v = json(&o);
    assert_eq!(v["invalid"], 1);
    let b = &v["targets"][1]["files"][0];
    assert_eq!(b["kind"], "invalid");
    assert!(
        b["problem"]
            .as_str()
            .unwrap()
            .starts_with("not a valid ELF file"),
        "{b:#}"
    );

    let o = gohang(&["scan", "/nonexistent/gohang"], &[]);
    assert_eq!(code(&o), 66);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
    assert_eq!(code(&gohang(&["scan"], &[])), 64);
    assert_eq!(code(&gohang(&["check", "--bogus"], &[])), 64);
}

#[test]
fn scan_universal_binary_file() {
    let f = fixtures();
    let t = fixtures::tempdir();
    let x86 = std::fs::read(f.hello("darwin", "amd64")).unwrap();
    let arm = std::fs::read(f.hello("darwin", "arm64")).unwrap();
    let (fat, _) = fixtures::universal(&[&x86, &arm], true);
    let p = t.path().join("universal");
    std::fs::write(&p, fat).unwrap();
    let o = gohang(&["scan", "--json", p.to_str().unwrap()], &[]);
    let v = json(&o);
    let b = &v["targets"][0]["files"][0]["binary"];
    assert_eq!(b["format"], "mach-o-fat");
    assert_eq!(b["fat_header"], "fat64");
    assert_eq!(b["slices"][0]["arch"], "x86_64");
    assert_eq!(b["slices"][1]["arch"], "aarch64");
    // On Linux a Mach-O never runs, whatever its slices.
    if f.native_os == "linux" {
        assert_eq!(v["targets"][0]["files"][0]["fit"]["kind"], "foreign");
        assert_eq!(code(&o), 1);
    }
}

#[test]
fn probe_adds_the_static_finding_to_its_verdicts() {
    let f = fixtures();
    let t = fixtures::tempdir();
    // A native go that runs `go version` fine, beside a foreign compile.
    let g = goroot(
        &t.path().join("go"),
        f,
        &f.native_arch,
        &f.native_dir(),
        &f.foreign_arch,
    );
    let env = env_for(&g, t.path());
    let evidence = t.path().join("ev.json");
    let o = gohang(
        &[
            "probe",
            "--json",
            "--save-evidence",
            evidence.to_str().unwrap(),
            "--",
            "go",
            "version",
        ],
        &env,
    );
    let v = json(&o);
    assert_eq!(code(&o), 0, "the command itself is healthy: {v:#}");
    assert_eq!(v["verdicts"][0]["kind"], "healthy");
    let secondary = &v["verdicts"][1];
    assert_eq!(secondary["kind"], "arch-mismatch", "{v:#}");
    assert_eq!(secondary["confidence"], "medium");
    let facts: Vec<&str> = secondary["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        facts
            .iter()
            .any(|e| e.starts_with(&format!("pkg/tool/{}/compile", f.native_dir()))),
        "{facts:?}"
    );
    // The saved evidence carries the toolchain, and classifies the same again.
    let saved: Value = serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(saved["toolchain"]["tool_dir"], f.native_dir());
    let again = gohang(&["classify", "--json", evidence.to_str().unwrap()], &[]);
    assert_eq!(json(&again)["verdicts"][1]["kind"], "arch-mismatch");
}
