//! Verdicts: what the classifier concludes, in the shape DESIGN.md promises to users.
//!
//! One `VerdictKind` variant per kind in DESIGN.md, serialized kebab-case. Adding a kind is a
//! schema change readers can tolerate; renaming one is not.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    Healthy,
    Stopped,
    TtyStopped,
    Traced,
    Translated,
    ArchMismatch,
    NetworkWait,
    ToolchainDownload,
    LockWait,
    PromptWait,
    ChildWait,
    OutputBlocked,
    Spinning,
    Frozen,
    IoWait,
    /// Asleep at every sample, yet bytes still arrive: slow, not stuck.
    Progressing,
    Idle,
}

impl VerdictKind {
    pub const ALL: [VerdictKind; 17] = [
        VerdictKind::Healthy,
        VerdictKind::Stopped,
        VerdictKind::TtyStopped,
        VerdictKind::Traced,
        VerdictKind::Translated,
        VerdictKind::ArchMismatch,
        VerdictKind::NetworkWait,
        VerdictKind::ToolchainDownload,
        VerdictKind::LockWait,
        VerdictKind::PromptWait,
        VerdictKind::ChildWait,
        VerdictKind::OutputBlocked,
        VerdictKind::Spinning,
        VerdictKind::Frozen,
        VerdictKind::IoWait,
        VerdictKind::Progressing,
        VerdictKind::Idle,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            VerdictKind::Healthy => "healthy",
            VerdictKind::Stopped => "stopped",
            VerdictKind::TtyStopped => "tty-stopped",
            VerdictKind::Traced => "traced",
            VerdictKind::Translated => "translated",
            VerdictKind::ArchMismatch => "arch-mismatch",
            VerdictKind::NetworkWait => "network-wait",
            VerdictKind::ToolchainDownload => "toolchain-download",
            VerdictKind::LockWait => "lock-wait",
            VerdictKind::PromptWait => "prompt-wait",
            VerdictKind::ChildWait => "child-wait",
            VerdictKind::OutputBlocked => "output-blocked",
            VerdictKind::Spinning => "spinning",
            VerdictKind::Frozen => "frozen",
            VerdictKind::IoWait => "io-wait",
            VerdictKind::Progressing => "progressing",
            VerdictKind::Idle => "idle",
        }
    }

    /// How strongly a verdict of this kind explains a stall, highest first. The primary
    /// verdict is the candidate with the highest rank (DESIGN.md: external causes first;
    /// `translated` outranks `spinning` and `idle`, which is how emulator hangs look).
    pub fn rank(&self) -> u8 {
        match self {
            VerdictKind::Frozen => 100,
            VerdictKind::Stopped | VerdictKind::TtyStopped => 95,
            VerdictKind::Traced => 90,
            VerdictKind::ArchMismatch => 85,
            VerdictKind::PromptWait => 80,
            VerdictKind::LockWait => 75,
            VerdictKind::ToolchainDownload => 72,
            VerdictKind::NetworkWait => 70,
            VerdictKind::OutputBlocked => 67,
            VerdictKind::IoWait => 65,
            // Above child-wait and idle: a leaf that still receives bytes is what its
            // parents wait for, and it is not stuck; below every real wait.
            VerdictKind::Progressing => 60,
            VerdictKind::ChildWait => 50,
            VerdictKind::Translated => 40,
            VerdictKind::Spinning => 30,
            VerdictKind::Idle => 10,
            VerdictKind::Healthy => 0,
        }
    }
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        })
    }
}

/// One conclusion, with the facts that support it and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub confidence: Confidence,
    /// The culprit process, when there is one.
    pub pid: Option<u32>,
    /// One sentence a person can act on.
    pub summary: String,
    /// Measured facts, one per line.
    pub evidence: Vec<String>,
    /// A fix, paste-ready where one exists.
    pub remedy: Option<String>,
}

impl Verdict {
    pub fn new(
        kind: VerdictKind,
        confidence: Confidence,
        pid: Option<u32>,
        summary: impl Into<String>,
    ) -> Verdict {
        Verdict {
            kind,
            confidence,
            pid,
            summary: summary.into(),
            evidence: Vec::new(),
            remedy: None,
        }
    }
    pub fn fact(mut self, line: impl Into<String>) -> Verdict {
        self.evidence.push(line.into());
        self
    }
    pub fn facts<I: IntoIterator<Item = String>>(mut self, lines: I) -> Verdict {
        self.evidence.extend(lines);
        self
    }
    pub fn remedy(mut self, text: impl Into<String>) -> Verdict {
        self.remedy = Some(text.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_as_design_names() {
        for k in VerdictKind::ALL {
            let s = serde_json::to_string(&k).unwrap();
            assert_eq!(s, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<VerdictKind>(&s).unwrap(), k);
        }
    }

    #[test]
    fn translated_outranks_spinning_and_idle_but_not_waits() {
        assert!(VerdictKind::Translated.rank() > VerdictKind::Spinning.rank());
        assert!(VerdictKind::Translated.rank() > VerdictKind::Idle.rank());
        assert!(VerdictKind::NetworkWait.rank() > VerdictKind::Translated.rank());
        assert!(VerdictKind::Stopped.rank() > VerdictKind::Translated.rank());
    }

    #[test]
    fn output_blocked_is_an_external_cause() {
        assert_eq!(
            serde_json::to_string(&VerdictKind::OutputBlocked).unwrap(),
            "\"output-blocked\""
        );
        // It explains the processes that wait for the blocked writer (child-wait) and
        // outranks the emulator that may run it; a stop or a lock still comes first.
        assert!(VerdictKind::OutputBlocked.rank() > VerdictKind::ChildWait.rank());
        assert!(VerdictKind::OutputBlocked.rank() > VerdictKind::Translated.rank());
        assert!(VerdictKind::LockWait.rank() > VerdictKind::OutputBlocked.rank());
    }
}
