//! A module proxy on 127.0.0.1 that reads requests and never answers, counting the requests
//! it read in full: the stuck `go mod download` of tests/gomem_truth.rs and benches/dump.rs
//! (which includes this file by path). Only std, so that both can use it.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

/// A module proxy on 127.0.0.1 that reads each request and never answers; `requests` counts
/// the requests read in full. It stops by itself when dropped or after `limit`.
pub struct SilentProxy {
    pub addr: std::net::SocketAddr,
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SilentProxy {
    pub fn start(limit: Duration) -> SilentProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + limit;
            let mut held = Vec::new();
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok((conn, _)) = listener.accept() {
                    let r = r.clone();
                    let reader = conn.try_clone().unwrap();
                    held.push(conn);
                    std::thread::spawn(move || {
                        let _ = reader.set_read_timeout(Some(Duration::from_secs(30)));
                        let mut br = BufReader::new(reader);
                        let mut line = String::new();
                        // Request line and headers, up to the blank line.
                        while br.read_line(&mut line).is_ok_and(|n| n > 0) {
                            if line == "\r\n" {
                                r.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            line.clear();
                        }
                    });
                } else {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        SilentProxy {
            addr,
            requests,
            stop,
        }
    }
}

impl Drop for SilentProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
