//! The goroutines of a probed or attached tree, read from memory for its evidence: the
//! default of `probe` and `attach` at the end of the window. No signal; the program keeps
//! running. A read that fails becomes a one-line note, never an error of the command.

use super::model;
use crate::evidence::{Evidence, GoFrame, Goroutine, GoroutineDump, RunState};
use std::sync::mpsc;
use std::time::Duration;

/// How long the read may take. A stuck `go` reads in tens of milliseconds; a program with
/// a huge number of goroutines, or one read through qemu, takes longer, and the report
/// must not wait on it.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The value of `GoroutineDump::source` for a dump read from memory.
pub const SOURCE: &str = "memory";

/// The process whose goroutines explain the evidence: the Go program nearest the end of
/// the wait chain (the leaf when it is a Go program, else the stuck go above it). `chain` is
/// the classifier's wait chain (`Classification::chain`): the caller classifies, gomem reads.
pub fn target(ev: &Evidence, chain: &[u32]) -> Option<(u32, String)> {
    let last = ev.samples.last()?;
    chain
        .iter()
        .rev()
        .filter_map(|pid| last.process(*pid))
        .chain(last.processes.iter())
        .find(|p| p.go_version.is_some() && p.state != RunState::Zombie)
        .map(|p| (p.pid, p.display_name()))
}

/// Read the goroutines of the Go program that explains `ev`: the classifier names the wait
/// chain, [`target`] picks the Go program on it, and the read has [`DEADLINE`]. The one
/// place `probe` and `attach` take goroutines from memory. Returns the dump, or a note
/// saying why there is none (None: no Go program in the tree).
pub fn read(ev: &Evidence) -> Result<GoroutineDump, Option<String>> {
    let chain = crate::classify::classify(ev).chain;
    let (pid, name) = target(ev, &chain).ok_or(None)?;
    read_pid(pid, DEADLINE).map_err(|why| {
        Some(format!(
            "goroutines of pid {pid} ({name}) not read from memory: {why}"
        ))
    })
}

/// Read pid's goroutines on a thread of its own; past `deadline` the answer is dropped
/// (the thread only reads /proc/PID/mem and ends by itself).
pub fn read_pid(pid: u32, deadline: Duration) -> Result<GoroutineDump, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("gomem-read".into())
        .spawn(move || {
            let _ = tx.send(super::dump_pid(pid, false));
        })
        .map_err(|e| format!("cannot start the reader: {e}"))?;
    match rx.recv_timeout(deadline) {
        Ok(Ok(d)) => Ok(convert(&d)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "the read took longer than {} ms",
            deadline.as_millis()
        )),
    }
}

/// The first line of a bundle's goroutines.txt: where the goroutines came from (empty for
/// a SIGQUIT dump, whose text is the runtime's own).
pub fn source_line(d: &GoroutineDump) -> String {
    if d.source.as_deref() == Some(SOURCE) {
        format!(
            "# goroutines of pid {} read from its memory by gohang (source: memory; no signal, the program kept running)\n\n",
            d.pid
        )
    } else {
        String::new()
    }
}

/// A dump of `gohang dump` in the evidence's terms (the shape SIGQUIT dumps are parsed to).
pub fn convert(d: &model::Dump) -> GoroutineDump {
    let goroutines: Vec<Goroutine> = d
        .goroutines
        .iter()
        .map(|g| Goroutine {
            id: g.id,
            state: g.status.clone(),
            minutes: (g.wait_minutes >= 1).then_some(g.wait_minutes),
            locked_to_thread: g.locked_to_thread,
            frames: g
                .frames
                .iter()
                .map(|f| GoFrame {
                    function: f.function.clone(),
                    location: Some(format!("{}:{}", f.file, f.line)),
                })
                .collect(),
        })
        .collect();
    let answered = !goroutines.is_empty();
    let mut notes = d.notes.clone();
    if !answered {
        notes.push("no goroutine could be read".to_string());
    }
    GoroutineDump {
        pid: d.pid,
        source: Some(SOURCE.to_string()),
        answered,
        goroutines,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_read_is_one_line_not_a_panic() {
        // This test binary is a real process, and no Go program.
        let why = read_pid(std::process::id(), DEADLINE).unwrap_err();
        assert!(why.contains("not a Go program"), "{why}");
        assert!(!why.contains('\n'), "{why}");
        // A pid that does not exist.
        let why = read_pid(u32::MAX - 1, DEADLINE).unwrap_err();
        assert!(why.contains("no process"), "{why}");
    }

    #[test]
    fn no_go_program_in_the_evidence_is_no_note() {
        // The sleeper of the fixture, renumbered above the kernel's pid_max limit (2^22)
        // so that no live process answers for it.
        let text = include_str!("../../tests/fixtures/linux_idle_go_sleeper/evidence.json")
            .replace("22143", "4194305");
        let ev: Evidence = serde_json::from_str(&text).unwrap();
        let mut not_go = ev.clone();
        for s in &mut not_go.samples {
            for p in &mut s.processes {
                p.go_version = None;
            }
        }
        assert_eq!(read(&not_go).unwrap_err(), None);
        let note = read(&ev).unwrap_err().unwrap();
        assert!(
            note.starts_with("goroutines of pid 4194305 (")
                && note.contains("not read from memory"),
            "{note}"
        );
    }
}
