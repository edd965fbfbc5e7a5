//! Live tests: slow is not stuck. A module proxy on 127.0.0.1 that trickles a large zip to a
//! real `go mod download` makes the download's file in the module cache grow and the
//! connection's received bytes rise: gohang says `progressing`, with the rate, since when and
//! what grew — not `network-wait`. The same proxy answering the zip request with silence is
//! still a network wait.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use util::gomod::{Module, isolated_go_env};
use util::*;

/// How the proxy answers a `.zip` request.
#[derive(Clone, Copy)]
enum Zip {
    /// A 64 MiB body announced, 4 KiB sent every 50 ms.
    Trickle,
    /// Never a byte.
    Silent,
}

/// A GOPROXY protocol server on 127.0.0.1 for one module, `example.com/big v1.0.0`: `.info`
/// and `.mod` at once, the `.zip` as `zip` says. It stops by itself at `limit`, or when
/// dropped.
struct ModuleProxy {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
}

impl ModuleProxy {
    fn start(zip: Zip, limit: Duration) -> ModuleProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + limit;
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let flag = flag.clone();
                std::thread::spawn(move || serve(conn, zip, &flag, deadline));
            }
        });
        ModuleProxy { addr, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ModuleProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One connection: requests in turn (HTTP/1.1 keep-alive) until it closes or time is up.
fn serve(conn: std::net::TcpStream, zip: Zip, stop: &AtomicBool, deadline: Instant) {
    conn.set_nonblocking(false).unwrap();
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut out = conn.try_clone().unwrap();
    let mut rd = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if !rd.read_line(&mut line).is_ok_and(|n| n > 0) {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        loop {
            let mut h = String::new();
            if !rd.read_line(&mut h).is_ok_and(|n| n > 0) {
                return;
            }
            if h == "\r\n" {
                break;
            }
        }
        let reply = |out: &mut std::net::TcpStream, body: &str| {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        };
        if path.ends_with(".info") {
            reply(
                &mut out,
                r#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#,
            );
        } else if path.ends_with(".mod") {
            reply(&mut out, "module example.com/big\n\ngo 1.21\n");
        } else if path.ends_with(".zip") {
            match zip {
                Zip::Silent => {
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                Zip::Trickle => {
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\n\r\n",
                        64 << 20
                    );
                    let chunk = [b'z'; 4096];
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        if out.write_all(&chunk).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
            return;
        } else {
            let _ = write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

fn go_ok() -> bool {
    need(have("go"), "a go on PATH (scripts/setup.sh)")
}

fn probe_download(proxy: &ModuleProxy, m: &Module) -> Report {
    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "3s",
        "--window",
        "2s",
        "--no-goroutines",
        "--",
        "go",
        "mod",
        "download",
    ]);
    isolated_go_env(&mut c, m);
    c.env("GOPROXY", proxy.url());
    report_of(&mut c).0
}

#[test]
fn a_proxy_trickling_a_large_zip_is_progressing_with_its_rate() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let proxy = ModuleProxy::start(Zip::Trickle, Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/big v1.0.0"));
    let r = probe_download(&proxy, &m);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Progressing, "{r:#?}");
    assert!(
        r.verdicts
            .iter()
            .all(|v| v.kind != VerdictKind::NetworkWait),
        "{r:#?}"
    );
    // The rate, since when, and what grew: the download's temporary file in the module
    // cache (cmd/go's `<version>.zip<N>.tmp`).
    assert!(
        p.summary.contains("B/s") && p.summary.contains("since"),
        "{}",
        p.summary
    );
    assert!(
        p.summary
            .contains("/cache/download/example.com/big/@v/v1.0.0.zip")
            && p.summary.contains("GOMODCACHE/cache/download"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("tcp_info bytes_received rose by")),
        "{:#?}",
        p.evidence
    );
    let fix = p.remedy.as_deref().unwrap_or("");
    assert!(
        fix.contains("nothing is stuck") && fix.contains("go mod download -x"),
        "{fix}"
    );
}

#[test]
fn a_proxy_silent_on_the_zip_is_still_a_network_wait() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let proxy = ModuleProxy::start(Zip::Silent, Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/big v1.0.0"));
    let r = probe_download(&proxy, &m);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert!(
        r.verdicts
            .iter()
            .all(|v| v.kind != VerdictKind::Progressing),
        "{r:#?}"
    );
}
