//! `gohang bundle` on real processes: planted secrets must not survive into any file (also
//! when they pass through a system-call trace or are given as arguments), the manifest
//! must match the files, a stuck command's verdict and samples must be inside,
//! and a `go` that hangs must not hang the bundle. Servers listen on 127.0.0.1 only.
#![cfg(target_os = "linux")]

mod util;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use util::*;

/// The files of a bundle, by name (without the top directory).
type Files = BTreeMap<String, Vec<u8>>;

fn unpack(path: &Path) -> (String, Files) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut files = Files::new();
    let mut top = String::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        assert_eq!(e.header().uid().unwrap(), 0, "{name}");
        assert_eq!(e.header().username().unwrap(), Some(""), "{name}");
        if e.header().entry_type().is_dir() {
            top = name.trim_end_matches('/').to_string();
            continue;
        }
        let (dir, file) = name
            .split_once('/')
            .expect("files are inside one directory");
        assert_eq!(dir, top, "{name}");
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        assert!(
            files.insert(file.to_string(), body).is_none(),
            "{name} twice"
        );
    }
    (top, files)
}

fn json(files: &Files, name: &str) -> Value {
    let b = files
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", files.keys().collect::<Vec<_>>()));
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

fn text(files: &Files, name: &str) -> String {
    String::from_utf8_lossy(
        files
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", files.keys().collect::<Vec<_>>())),
    )
    .into_owned()
}

/// The manifest lists every other file, with sizes and digests recomputed here.
fn check_manifest(files: &Files) -> gohang::bundle::Manifest {
    let m: gohang::bundle::Manifest = serde_json::from_slice(&files["manifest.json"])
        .unwrap_or_else(|e| panic!("manifest.json does not parse as a Manifest: {e}"));
    assert_eq!(m.schema, "gohang.bundle/1");
    let listed: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    let present: Vec<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|n| *n != "manifest.json")
        .collect();
    let mut l = listed.clone();
    l.sort();
    assert_eq!(l, present, "the manifest lists exactly the other files");
    for f in &m.files {
        let body = &files[&f.name];
        assert_eq!(f.size, body.len() as u64, "{}", f.name);
        let digest: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(f.sha256, digest, "{}", f.name);
        assert!(!f.description.is_empty(), "{}", f.name);
    }
    assert_eq!(m.total_size, m.files.iter().map(|f| f.size).sum::<u64>());
    m
}

/// Fail if `needle` occurs in any file (bytes, as written).
fn assert_nowhere(files: &Files, needle: &str) {
    for (name, body) in files {
        assert!(
            !body.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle:?} found in {name}:\n{}",
            String::from_utf8_lossy(body)
        );
    }
}

fn somewhere(files: &Files, needle: &str) -> bool {
    files
        .values()
        .any(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

/// `gohang bundle --json ARGS` with `env` set, in `cwd`; returns the parsed stdout, the
/// bundle's path, the output and how long it took.
fn bundle(cwd: &Path, env: &[(&str, String)], args: &[&str]) -> (Value, PathBuf, Output, Duration) {
    let mut c = gohang();
    c.arg("bundle")
        .arg("--json")
        .args(args)
        .current_dir(cwd)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GOSUMDB", "off")
        .env_remove("GOPROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let out = Guard::spawn_group(&mut c)
        .wait_output(Duration::from_secs(120))
        .expect("gohang bundle finished in 120 s");
    let took = t.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "--json stdout is one JSON object ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let path = PathBuf::from(v["path"].as_str().expect("path"));
    assert!(path.is_file(), "{}", path.display());
    (v, path, out, took)
}

/// A fake home directory with a netrc file, and the secrets planted around it.
struct Planted {
    dir: tempfile::TempDir,
    home: PathBuf,
}

const USER: &str = "gohangtester";
const SECRETS: &[&str] = &[
    "ghp_plantedGithubToken123",
    "plantedApiKey-456",
    "plantedDbPass-789",
    "s3cretProxyPw",
    "proxyuser:s3cret",
    "plantedGoauthValue",
    "pxPlanted99",
    "plantedBearerTok-42",
    "cGxhbnRlZDpiYXNpYw==",
    "netrc-pass-Z9K4",
    "netrc-login-Q7",
    "plantedArgToken-77",
    "curlPass456",
    "xauthtok55",
    "pwsep12345",
    // Issue 14: one marker per form that leaked.
    "netrc-ml-login-31",
    "netrc-ml-pass-31",
    "jsonOutSecret-41",
    "pemBodyPlanted77",
];

/// A netrc written over several lines (the docs promise "on one line or several").
const NETRC: &str = "machine 127.0.0.1 login netrc-login-Q7 password netrc-pass-Z9K4\n\
    machine proxy.example.com\n  login netrc-ml-login-31\n  password netrc-ml-pass-31\n";

/// Module path patterns: not secrets, shown as they are (issue 14's over-redaction).
const MODULE_PATTERN: &str = "corp.example.com/private";

impl Planted {
    fn new() -> Planted {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(format!("home-of-{USER}"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join(".netrc"), NETRC).unwrap();
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        Planted { dir, home }
    }
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }
    fn env(&self, proxy_port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home.display().to_string()),
            ("USER", USER.to_string()),
            ("LOGNAME", USER.to_string()),
            ("GITHUB_TOKEN", "ghp_plantedGithubToken123".to_string()),
            ("MY_API_KEY", "plantedApiKey-456".to_string()),
            ("DB_PASSWORD", "plantedDbPass-789".to_string()),
            (
                "GOPROXY",
                format!("https://proxyuser:s3cretProxyPw@127.0.0.1:{proxy_port}/mod,off"),
            ),
            ("GOAUTH", "command /bin/echo plantedGoauthValue".to_string()),
            (
                "HTTPS_PROXY",
                "http://pxuser:pxPlanted99@127.0.0.1:9".to_string(),
            ),
            ("GOPRIVATE", MODULE_PATTERN.to_string()),
            ("GONOPROXY", MODULE_PATTERN.to_string()),
        ]
    }
}

/// A script that prints every planted secret the way tools leak them, then hangs.
const LEAKY: &str = r#"echo "token is $GITHUB_TOKEN"
echo "Authorization: Bearer plantedBearerTok-42" >&2
echo "Proxy-Authorization: Basic cGxhbnRlZDpiYXNpYw==" >&2
cat "$HOME/.netrc" >&2
echo "$MY_API_KEY $DB_PASSWORD $GOPROXY $HTTPS_PROXY $GOAUTH" >&2
echo "home=$HOME user=$USER"
echo '{"client_secret": "jsonOutSecret-41"}'
printf -- '-----BEGIN RSA PRIVATE KEY-----\nMIIEpemBodyPlanted77\n-----END RSA PRIVATE KEY-----\n'
echo "GOPRIVATE=$GOPRIVATE"
echo "GONOPROXY=$GONOPROXY"
exec sleep 30"#;

#[test]
fn planted_secrets_appear_nowhere_and_the_manifest_matches() {
    if !need(have("go"), "a go on PATH (scripts/setup.sh)") {
        return;
    }
    let p = Planted::new();
    let out_file = p.dir.path().join("b.tar.gz");
    let (v, path, _, _) = bundle(
        &p.work(),
        &p.env(9),
        &[
            "-o",
            out_file.to_str().unwrap(),
            "--timeout",
            "1s",
            "--window",
            "500ms",
            "--",
            "sh",
            "-c",
            LEAKY,
            "leaky",
            "--token=plantedArgToken-77",
            "-u",
            "curluser:curlPass456",
            "--header",
            "X-Auth-Token: xauthtok55",
            "--password",
            "pwsep12345",
        ],
    );
    assert_eq!(path, std::fs::canonicalize(&out_file).unwrap());
    let (top, files) = unpack(&path);
    assert_eq!(top, "b");
    let m = check_manifest(&files);
    assert_eq!(
        v["manifest"],
        serde_json::to_value(&m).unwrap(),
        "--json prints the manifest"
    );
    assert!(m.anonymized);
    for name in [
        "report.json",
        "report.md",
        "samples.json",
        "check.json",
        "host.txt",
        "host.json",
        "go-env.json",
        "go-version.txt",
        "output-tail.txt",
        "redactions.json",
    ] {
        assert!(files.contains_key(name), "{name} missing");
    }

    for s in SECRETS {
        assert_nowhere(&files, s);
    }
    let home = p.home.display().to_string();
    assert_nowhere(&files, &home);
    assert_nowhere(&files, USER);
    assert_nowhere(&files, ".netrc");

    // Not vacuous: the output was captured, with the secrets taken out.
    let tail = text(&files, "output-tail.txt");
    assert!(tail.contains("Authorization: Bearer [REDACTED"), "{tail}");
    assert!(tail.contains("token is [REDACTED:GITHUB_TOKEN]"), "{tail}");
    assert!(tail.contains("home=$HOME user=$USER"), "{tail}");
    assert!(
        tail.contains("machine 127.0.0.1 login [REDACTED] password [REDACTED]"),
        "{tail}"
    );
    assert!(tail.contains("\"client_secret\": \"[REDACTED"), "{tail}");
    assert!(
        tail.contains("PRIVATE KEY-----[REDACTED:private-key]"),
        "{tail}"
    );
    // Module patterns stay, alike, in the output as in report.json.
    for f in ["output-tail.txt", "report.json"] {
        let t = text(&files, f);
        for n in ["GOPRIVATE", "GONOPROXY"] {
            assert!(
                t.contains(&format!("{n}={MODULE_PATTERN}")),
                "{n} in {f}: {t}"
            );
        }
    }
    let r = text(&files, "redactions.json");
    assert!(!r.contains("GOPRIVATE") && !r.contains("GONOPROXY"), "{r}");
    assert!(
        text(&files, "report.json").contains("--token=[REDACTED"),
        "the argument is in the report, without its value"
    );
    let md = text(&files, "report.md");
    assert!(
        md.contains("-u curluser:[REDACTED") && md.contains("--password [REDACTED"),
        "separate arguments too, the user kept: {md}"
    );
    assert!(
        text(&files, "go-env.json").contains("https://REDACTED@127.0.0.1:9/mod,off"),
        "go env ran, and its GOPROXY lost the userinfo"
    );
    assert!(text(&files, "host.txt").contains("User: $USER"));

    // redactions.json names what went, never the values.
    let r = json(&files, "redactions.json");
    let names: Vec<&str> = r["searched_for"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for n in ["GITHUB_TOKEN", "MY_API_KEY", "DB_PASSWORD", "GOAUTH"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let kinds: Vec<&str> = r["redacted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["kind"].as_str())
        .collect();
    for k in [
        "env-value",
        "url-userinfo",
        "authorization",
        "netrc",
        "home-dir",
        "user-name",
        "private-key",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    // The stuck sh was sampled and classified.
    let report = json(&files, "report.json");
    assert_eq!(report["schema"], "gohang.report/1");
    assert!(report["samples"].as_u64().unwrap() >= 1, "{report}");
}

/// Made-up JWTs (three base64url parts; their signatures spell what they are).
const FILE_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.ZmlsZUp3dFNpZy01OA";
const ENV_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.ZW52Snd0U2lnLTc3";
const ARG_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.YXJnSnd0U2lnLTY2";

/// An HTTP request in a file gohang knows nothing of: its secrets reach the trace only
/// through `read` and `write`, and only patterns can find them. Under strace's 256-byte
/// string limit, so it is printed whole.
const REQUEST: &str = "GET /m/@v/list HTTP/1.1\r\n\
    Authorization: Basic ZmlsZXVzZXI6ZmlsZVBhc3MtNTg=\r\n\
    X-Auth-Token: fileXauth-58\r\n\
    PRIVATE-TOKEN: glpat-fileTok58\r\n\
    Cookie: session=fileCookie-58\r\n\
    X-Trace: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.ZmlsZUp3dFNpZy01OA\r\n\r\n";

/// Planted for the traced bundle, besides [`SECRETS`] (the arguments of the first test are
/// given again): in the request file, in the script's own write, in the environment, and
/// as separate arguments.
const TRACED_SECRETS: &[&str] = &[
    "ZmlsZXVzZXI6ZmlsZVBhc3MtNTg=",
    "fileXauth-58",
    "glpat-fileTok58",
    "fileCookie-58",
    "ZmlsZUp3dFNpZy01OA",
    "trBearerTok-31",
    "ZW52Snd0U2lnLTc3",
    "YXJnSnd0U2lnLTY2",
    "apiSep-6161",
    "trJsonSecret-52",
    "trPemBody-53",
];

/// Writes an Authorization header through a system call (`printf` is sh's own), reads and
/// writes the request file and the netrc, writes the JWT of its environment, then hangs.
const TRACED: &str = r#"printf 'GET / HTTP/1.1\r\nAuthorization: Bearer trBearerTok-31\r\n\r\n' >/dev/null
cat request.txt "$HOME/.netrc" >/dev/null
printf '%s\n' "$CI_JOB_JWT" >/dev/null
printf '{"client_secret": "trJsonSecret-52"}\n' >/dev/null
printf -- '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEtrPemBody-53\n-----END EC PRIVATE KEY-----\n' >/dev/null
exec sleep 30"#;

#[test]
fn traced_bundle_keeps_no_planted_secret_in_any_file() {
    if !need(have("strace"), "strace (scripts/setup.sh installs it)") {
        return;
    }
    let p = Planted::new();
    assert!(REQUEST.contains(FILE_JWT));
    std::fs::write(p.work().join("request.txt"), REQUEST).unwrap();
    let mut env = p.env(9);
    env.push(("CI_JOB_JWT", ENV_JWT.to_string()));
    env.push((
        "XDG_STATE_HOME",
        p.dir.path().join("state").display().to_string(),
    ));
    let out_file = p.dir.path().join("t.tar.gz");
    let (_, path, _, _) = bundle(
        &p.work(),
        &env,
        &[
            "-o",
            out_file.to_str().unwrap(),
            "--trace",
            "--timeout",
            "2s",
            "--window",
            "500ms",
            "--",
            "sh",
            "-c",
            TRACED,
            "a0",
            "-u",
            "curluser:curlPass456",
            "--header",
            "X-Auth-Token: xauthtok55",
            "--password",
            "pwsep12345",
            "--api-key",
            "apiSep-6161",
            "--id-token",
            ARG_JWT,
        ],
    );
    let (_, files) = unpack(&path);
    let m = check_manifest(&files);
    assert!(
        m.files.iter().any(|f| f.name == "trace.txt"),
        "the manifest lists the trace: {m:#?}"
    );

    // Not vacuous: the trace saw the write, the reads and the arguments.
    let trace = text(&files, "trace.txt");
    for seen in [
        r"execve(",
        r#""-u", "curluser:["#,
        r#""--password", "["#,
        r"GET / HTTP/1.1\r\nAuthorization: ",
        r"GET /m/@v/list HTTP/1.1\r\nAuthorization: ",
        r"\r\nX-Auth-Token: ",
        r"\r\nPRIVATE-TOKEN: ",
        r"\r\nCookie: ",
        r"\r\nX-Trace: ",
        "machine 127.0.0.1 login ",
        r"machine proxy.example.com\n  login ",
        r#"{\"client_secret\": \""#,
        "PRIVATE KEY-----",
    ] {
        assert!(trace.contains(seen), "{seen:?} in trace.txt:\n{trace}");
    }

    for s in SECRETS.iter().chain(TRACED_SECRETS) {
        assert_nowhere(&files, s);
    }
    for jwt in [FILE_JWT, ENV_JWT, ARG_JWT] {
        assert_nowhere(&files, jwt);
    }
    assert_nowhere(&files, &p.home.display().to_string());
    assert_nowhere(&files, ".netrc");

    // The user of `-u user:pw` stays; the argument list is redacted as one, also in the
    // manifest.
    assert!(
        text(&files, "report.json").contains("\"curluser:["),
        "the user stays"
    );
    let target = m.target.join(" ");
    assert!(
        target.contains("--password [REDACTED") && target.contains("-u curluser:[REDACTED"),
        "{target}"
    );
    let r = json(&files, "redactions.json");
    let kinds: Vec<&str> = r["redacted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["kind"].as_str())
        .collect();
    for k in ["argument", "authorization", "assignment", "jwt", "netrc"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

#[test]
fn no_anonymize_keeps_home_and_user_but_not_secrets() {
    if !need(have("go"), "a go on PATH (scripts/setup.sh)") {
        return;
    }
    let p = Planted::new();
    let (_, path, _, _) = bundle(
        &p.work(),
        &p.env(9),
        &[
            "--no-anonymize",
            "--",
            "sh",
            "-c",
            "echo \"home=$HOME token=$GITHUB_TOKEN\"",
        ],
    );
    assert!(
        path.starts_with(std::fs::canonicalize(p.work()).unwrap()),
        "the default name is in the current directory: {}",
        path.display()
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("gohang-bundle-") && name.ends_with("Z.tar.gz"),
        "{name}"
    );
    let (_, files) = unpack(&path);
    let m = check_manifest(&files);
    assert!(!m.anonymized);
    let home = p.home.display().to_string();
    assert!(somewhere(&files, &home), "the home directory stays");
    assert!(text(&files, "host.txt").contains(&format!("User: {USER} ")));
    assert!(
        text(&files, "output-tail.txt")
            .contains(&format!("home={home} token=[REDACTED:GITHUB_TOKEN]"))
    );
    for s in SECRETS {
        assert_nowhere(&files, s);
    }
}

/// A module needing one dependency, fetched from `proxy`.
fn module(dir: &Path) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n",
    )
    .unwrap();
    std::fs::write(app.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    app
}

#[test]
fn stuck_module_download_bundle_holds_the_verdict_and_the_samples() {
    if !need(have("go"), "a go on PATH (scripts/setup.sh)") {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let t = tempfile::tempdir().unwrap();
    let app = module(t.path());
    let cache = t.path().join("modcache");
    // https: the go command refuses to send credentials over http; the TLS handshake then
    // waits for a server that never answers.
    let proxy = format!("https://proxyuser:pw-in-proxy-url@{}", server.addr);
    let env = vec![
        ("GOPROXY", proxy),
        ("GOMODCACHE", cache.display().to_string()),
        ("GOFLAGS", "-mod=mod".to_string()),
    ];
    let (_, path, _, took) = bundle(
        &app,
        &env,
        &[
            "--timeout",
            "2s",
            "--window",
            "1s",
            "--",
            "go",
            "mod",
            "download",
        ],
    );
    eprintln!(
        "stuck go mod download: bundle took {:.1} s, {} bytes",
        took.as_secs_f64(),
        std::fs::metadata(&path).unwrap().len()
    );
    let (_, files) = unpack(&path);
    let m = check_manifest(&files);
    assert_eq!(m.verdict, "network-wait", "{m:#?}");
    assert_eq!(m.mode, "probe");
    assert_eq!(m.report_exit_code, 1);
    let report = json(&files, "report.json");
    assert_eq!(report["verdicts"][0]["kind"], "network-wait");
    assert!(
        report["verdicts"][0]["summary"]
            .as_str()
            .unwrap()
            .contains(&server.addr.to_string()),
        "{report}"
    );
    let samples = json(&files, "samples.json");
    assert_eq!(samples["schema"], "gohang.evidence/1");
    let n = samples["samples"].as_array().unwrap();
    assert!(n.len() >= 2, "samples over the window: {}", n.len());
    assert!(
        n.last().unwrap()["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["comm"] == "go"),
        "the go process is in the samples"
    );
    // The goroutines were read from memory (no SIGQUIT: the go kept running until the
    // bundle stopped it) and kept, as text and parsed.
    let gtxt = text(&files, "goroutines.txt");
    assert!(gtxt.starts_with("# goroutines of pid "), "{gtxt}");
    assert!(gtxt.contains("(source: memory;"), "{gtxt}");
    assert!(gtxt.contains("goroutine "), "{gtxt}");
    assert!(json(&files, "goroutines.json")["answered"] == true);
    assert_eq!(json(&files, "goroutines.json")["source"], "memory");
    assert!(!text(&files, "output-tail.txt").contains("SIGQUIT: quit"));
    let md = text(&files, "report.md");
    assert!(
        md.starts_with("# gohang: `go mod download` — network-wait\n"),
        "{md}"
    );
    assert!(
        md.contains("Made by `gohang bundle --json --timeout 2s"),
        "{md}"
    );
    assert!(md.contains("## Processes (newest sample)"));
    assert_nowhere(&files, "pw-in-proxy-url");
    assert_nowhere(&files, "proxyuser");
    // Whatever the samples held is also what `gohang classify` reads.
    let saved = t.path().join("samples.json");
    std::fs::write(&saved, &files["samples.json"]).unwrap();
    let out = run(&["classify", "--json", saved.to_str().unwrap()]);
    assert_eq!(
        parse_report(&out.stdout).primary().kind.as_str(),
        "network-wait"
    );
}

/// A `go` first on PATH that never answers (its sleep is marked so that it can be found).
fn hanging_go(dir: &Path, marker: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let go = bin.join("go");
    std::fs::write(&go, format!("#!/bin/sh\nexec sleep {marker}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn sleeps_with(arg: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && c == format!("sleep\0{arg}\0").as_bytes()
            && alive(pid, start_time(pid).unwrap_or(0))
        {
            v.push(pid);
        }
    }
    v
}

#[test]
fn a_hanging_go_does_not_hang_the_bundle() {
    let _s = serial();
    let t = tempfile::tempdir().unwrap();
    let marker = format!("{}.5", 900_000 + std::process::id());
    let path_var = hanging_go(t.path(), &marker);
    let (_, path, _, took) = bundle(
        t.path(),
        &[("PATH", path_var)],
        &["--timeout", "2s", "--window", "500ms"],
    );
    // Probe: 2 s + 0.5 s of samples; then go env and go version side by side: 2 s.
    eprintln!("hanging go: bundle took {:.1} s", took.as_secs_f64());
    assert!(took < Duration::from_secs(12), "took {took:?}");
    let (_, files) = unpack(&path);
    let m = check_manifest(&files);
    assert_eq!(m.target, vec!["go", "version"], "the default probe");
    assert!(m.verdict != "healthy");
    assert!(
        m.notes
            .iter()
            .any(|n| n.contains("go env -json") && n.contains("did not finish")),
        "{:?}",
        m.notes
    );
    let v = text(&files, "go-version.txt");
    assert!(v.starts_with("$ GOTOOLCHAIN=local go version\n"), "{v}");
    assert!(v.contains("did not finish within 2.00 s"), "{v}");
    assert!(v.contains("read from files instead"), "{v}");
    assert!(
        v.contains("not a binary"),
        "the static look at the script: {v}"
    );
    let e = json(&files, "go-env.json");
    assert_eq!(e["run"]["status"]["kind"], "timed-out");
    assert!(e["env"].is_null());
    assert!(
        e["note"]
            .as_str()
            .unwrap()
            .contains("the go command itself hangs")
    );
    assert!(e["from_files"].is_object());
    assert!(text(&files, "report.md").contains("did not finish within 2.00 s"));
    // Every go it started is gone: the probe's and the two time-boxed runs'.
    let left = wait_for(Duration::from_secs(3), || {
        let v = sleeps_with(&marker);
        v.is_empty().then_some(())
    });
    assert!(left.is_some(), "left running: {:?}", sleeps_with(&marker));
}

#[test]
fn pid_bundles_an_attached_process_and_leaves_it_running() {
    if !need(have("go"), "a go on PATH (scripts/setup.sh)") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    // The secret is only in the attached process's own environment (and its arguments).
    let mut c = Command::new("sh");
    // `; :` keeps sh from exec-ing sleep: the tree has two processes.
    c.args(["-c", "sleep 300; :", "attachPlanted-55"])
        .env("ATTACH_SECRET_TOKEN", "attachPlanted-55")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let target = Guard::spawn_group(&mut c);
    let pid = target.pid();
    // Wait until sh has started its sleep.
    wait_for(Duration::from_secs(5), || {
        (!children_of(pid).is_empty()).then_some(())
    })
    .expect("sh started sleep");
    let (_, path, _, _) = bundle(
        t.path(),
        &[],
        &["--pid", &pid.to_string(), "--window", "500ms"],
    );
    let (_, files) = unpack(&path);
    let m = check_manifest(&files);
    assert_eq!(m.mode, "attach");
    let report = json(&files, "report.json");
    assert_eq!(report["command"], "attach");
    assert_eq!(report["target"]["pid"], pid);
    assert!(report["samples"].as_u64().unwrap() >= 2, "{report}");
    let samples = json(&files, "samples.json");
    let last = samples["samples"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let pids: Vec<u64> = last["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["pid"].as_u64())
        .collect();
    assert!(
        pids.contains(&(pid as u64)) && pids.len() >= 2,
        "sh and its sleep: {pids:?}"
    );
    assert!(text(&files, "output-tail.txt").contains(&format!("attached to pid {pid}")));
    assert!(
        !files.contains_key("goroutines.txt"),
        "attach is read-only: no SIGQUIT"
    );
    assert_nowhere(&files, "attachPlanted-55");
    assert!(
        text(&files, "report.json").contains("[REDACTED:ATTACH_SECRET_TOKEN]"),
        "learned from the attached process's environment"
    );
    assert!(alive(pid, start_time(pid).unwrap()), "still running");
}

#[test]
fn another_users_process_has_their_home_anonymised() {
    if !need(
        have("go") && is_root() && have("setpriv"),
        "a go on PATH, root and setpriv (a process of another user)",
    ) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let mut perms = std::fs::metadata(t.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(t.path(), perms).unwrap();
    let home = t.path().join("home-of-someone-else");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["sh", "-c", "sleep 300; :"])
        .arg(home.join("work"))
        .env_clear()
        .env("HOME", &home)
        .env("PATH", "/usr/bin:/bin")
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let target = Guard::spawn_group(&mut c);
    let pid = target.pid();
    wait_for(Duration::from_secs(5), || {
        (!children_of(pid).is_empty()).then_some(())
    })
    .expect("sh started sleep");
    let out_dir = tempfile::tempdir().unwrap();
    let (_, path, _, _) = bundle(
        out_dir.path(),
        &[],
        &["--pid", &pid.to_string(), "--window", "300ms"],
    );
    let (_, files) = unpack(&path);
    assert_nowhere(&files, &home.display().to_string());
    assert!(
        text(&files, "samples.json").contains("$HOME/work"),
        "the argument is there, anonymised"
    );
}

#[test]
fn max_size_cuts_the_largest_files_with_a_note() {
    let t = tempfile::tempdir().unwrap();
    let (_, path, _, _) = bundle(
        t.path(),
        &[],
        &[
            "--max-size",
            "64KB",
            "--timeout",
            "1s",
            "--window",
            "0",
            "--",
            "sh",
            "-c",
            "i=0; while [ $i -lt 4000 ]; do echo \"line $i of a long output\"; i=$((i+1)); done; exec sleep 30",
        ],
    );
    let (_, files) = unpack(&path);
    let m = check_manifest(&files);
    let all: u64 = files.values().map(|b| b.len() as u64).sum();
    assert!(all <= 64 * 1024, "all files: {all} bytes");
    let cut: Vec<&str> = m
        .files
        .iter()
        .filter(|f| f.truncated_from.is_some())
        .map(|f| f.name.as_str())
        .collect();
    assert!(!cut.is_empty(), "{m:#?}");
    assert!(
        m.notes.iter().any(|n| n.contains("was cut")),
        "{:?}",
        m.notes
    );
    for name in cut {
        let body = text(&files, name);
        assert!(body.contains("was cut to keep the bundle under"), "{name}");
        if name.ends_with(".json") {
            let v = json(&files, name);
            assert_eq!(v["truncated"], true, "{name} stays JSON");
        }
    }
    let tail = text(&files, "output-tail.txt");
    assert!(tail.contains("line 3999 of a long output"), "the end stays");
}

#[test]
fn errors_come_before_any_work_and_write_nothing() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("no/such/dir/b.tar.gz");
    let out = run(&["bundle", "-o", missing.to_str().unwrap()]);
    // A place the bundle cannot be written to: 74, as for --save-evidence (issue 14).
    assert_eq!(out.status.code(), Some(74), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));

    let o = t.path().join("b.tar.gz");
    let out = run(&["bundle", "-o", o.to_str().unwrap(), "--pid", "999999999"]);
    assert_eq!(out.status.code(), Some(66), "{out:?}");
    assert!(!o.exists());
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        0,
        "no temporary file left"
    );

    let out = run(&["bundle", "--max-size", "1KB"]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
}

#[test]
fn ctrl_c_while_go_hangs_stops_everything_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let marker = format!("{}.25", 800_000 + std::process::id());
    let path_var = hanging_go(t.path(), &marker);
    let mut target_cmd = Command::new("sleep");
    target_cmd.arg("300");
    let target = Guard::spawn_group(&mut target_cmd);
    let out_file = t.path().join("b.tar.gz");
    let mut c = gohang();
    c.args([
        "bundle",
        "--json",
        "--window",
        "0",
        "--timeout",
        "60s",
        "-o",
    ])
    .arg(&out_file)
    .args(["--pid", &target.pid().to_string()])
    .env("PATH", &path_var)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut c);
    // Once the hanging `go env` and `go version` run, interrupt.
    wait_for(Duration::from_secs(20), || {
        (sleeps_with(&marker).len() == 2).then_some(())
    })
    .expect("both go runs started");
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(g.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = g
        .wait_output(Duration::from_secs(20))
        .expect("gohang ended after SIGINT");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted by SIGINT"));
    assert!(out.stdout.is_empty());
    assert!(!out_file.exists());
    let left = wait_for(Duration::from_secs(3), || {
        sleeps_with(&marker).is_empty().then_some(())
    });
    assert!(left.is_some(), "left running: {:?}", sleeps_with(&marker));
}
