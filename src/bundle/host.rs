//! The host summary of a bundle (`host.txt`, `host.json`), in the spirit of `brew config`:
//! the OS and its version, the kernel, the hardware's architecture against the one gohang's
//! process sees, translation (Rosetta 2, binfmt_misc emulators), the CPUs, a container.
//!
//! Everything is read from files and the kernel (`/etc/os-release`, macOS's
//! `SystemVersion.plist` — what `sw_vers` prints —, `uname`); nothing is run. The user name
//! is included so that a reader knows whose environment it was; the redactor replaces it
//! with `$USER` unless `--no-anonymize`.

use crate::evidence::{BinfmtHandler, Emulator, HostInfo, Os, Translation};
use crate::toolchain::hardware::{self, Ancestor};
use crate::toolchain::timebox::{self, CHECK_LIMIT};
use serde::Serialize;
use std::fmt::Write;

/// Where macOS keeps its name and version (what `sw_vers` reads).
pub const MACOS_VERSION_PLIST: &str = "/System/Library/CoreServices/SystemVersion.plist";
/// How many processes above gohang are shown (its shell, terminal, …).
const ANCESTORS: usize = 6;

#[derive(Clone, Debug, Serialize)]
pub struct HostFacts {
    pub gohang_version: String,
    /// `linux`, `macos`, …
    pub os: Os,
    /// `Debian GNU/Linux 12 (bookworm)`, `macOS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// macOS's build (`23F79`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_build: Option<String>,
    /// The file the OS name came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_source: Option<String>,
    /// `Linux 6.1.0-18-amd64`, `Darwin 23.5.0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// The machine's own architecture.
    pub hardware_arch: String,
    /// The architecture gohang's process sees (differs under translation).
    pub process_arch: String,
    /// How gohang itself runs.
    pub translation: Translation,
    /// macOS on Apple Silicon: whether Rosetta 2 is installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rosetta_installed: Option<bool>,
    /// Linux: the registered binfmt_misc handlers (qemu-user, Rosetta for Linux).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub binfmt: Vec<BinfmtHandler>,
    pub cpus: u32,
    /// `docker`, `podman`, … when gohang runs in a container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub uid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// gohang's parent processes (its shell, terminal), parent first, with their translation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Ancestor>,
}

/// The OS name and version from an os-release file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub pretty_name: Option<String>,
    pub name: Option<String>,
    pub version_id: Option<String>,
}

/// Parse `/etc/os-release` (os-release(5): `KEY=value`, values optionally quoted).
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut r = OsRelease::default();
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
            .unwrap_or(v)
            .replace("\\\"", "\"");
        match k {
            "PRETTY_NAME" => r.pretty_name = Some(v),
            "NAME" => r.name = Some(v),
            "VERSION_ID" => r.version_id = Some(v),
            _ => {}
        }
    }
    r
}

/// `ProductName`, `ProductVersion`, `ProductBuildVersion` of macOS's SystemVersion.plist
/// (an XML plist: `<key>K</key>` followed by `<string>V</string>`).
pub fn parse_system_version(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let value = |key: &str| -> Option<String> {
        let k = text.find(&format!("<key>{key}</key>"))?;
        let rest = &text[k..];
        let s = rest.find("<string>")? + "<string>".len();
        let e = rest[s..].find("</string>")?;
        Some(rest[s..s + e].trim().to_string())
    };
    (
        value("ProductName"),
        value("ProductVersion"),
        value("ProductBuildVersion"),
    )
}

/// The user's name: `$USER`, `$LOGNAME`, else the password database's.
pub fn user_name() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
}

fn container() -> Option<String> {
    if std::path::Path::new("/.dockerenv").exists() {
        return Some("docker".to_string());
    }
    if std::path::Path::new("/run/.containerenv").exists() {
        return Some("podman".to_string());
    }
    // systemd-nspawn, podman and lxc set it for PID 1 and often pass it on.
    std::env::var("container").ok().filter(|v| !v.is_empty())
}

/// Gather the host facts. Slow parts are time-boxed.
pub fn gather(host: &HostInfo) -> HostFacts {
    let (os_name, os_version, os_build, os_source) = if host.os == Os::Macos {
        let (n, v, b) = crate::safeio::read_found_text(
            std::path::Path::new(MACOS_VERSION_PLIST),
            crate::safeio::SMALL_TEXT,
        )
        .map(|t| parse_system_version(&t))
        .unwrap_or_default();
        (n, v, b, Some(MACOS_VERSION_PLIST.to_string()))
    } else {
        let found = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| {
                let text = crate::safeio::read_found_text(
                    std::path::Path::new(p),
                    crate::safeio::SMALL_TEXT,
                );
                Some((text.ok()?, *p))
            });
        match found {
            Some((text, path)) => {
                let r = parse_os_release(&text);
                (
                    r.pretty_name.or(r.name),
                    r.version_id,
                    None,
                    Some(path.to_string()),
                )
            }
            None => (None, None, None, None),
        }
    };
    let kernel = nix::sys::utsname::uname().ok().map(|u| {
        format!(
            "{} {}",
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy()
        )
    });
    let h = host.clone();
    let ancestors = timebox::run("parent processes", CHECK_LIMIT, move || {
        hardware::ancestors(&h, ANCESTORS)
    })
    .unwrap_or_default();
    HostFacts {
        gohang_version: env!("CARGO_PKG_VERSION").to_string(),
        os: host.os.clone(),
        os_name,
        os_version,
        os_build,
        os_source,
        kernel: kernel.or_else(|| host.kernel.clone()),
        hardware_arch: host.hardware_arch.display_for(&host.os),
        process_arch: host.arch.display_for(&host.os),
        translation: host.translation.clone(),
        rosetta_installed: host.rosetta_installed,
        binfmt: host.binfmt.clone(),
        cpus: host.cpus,
        container: container(),
        user: user_name(),
        uid: nix::unistd::geteuid().as_raw(),
        shell: std::env::var("SHELL").ok().filter(|s| !s.is_empty()),
        ancestors,
    }
}

/// Rosetta's state in one phrase: installed or not on a Mac, registered with binfmt_misc
/// on Linux.
pub fn rosetta_state(h: &HostFacts) -> String {
    if let Some(installed) = h.rosetta_installed {
        return if installed {
            "Rosetta 2 installed".to_string()
        } else {
            "Rosetta 2 not installed".to_string()
        };
    }
    let rosetta: Vec<&BinfmtHandler> = h
        .binfmt
        .iter()
        .filter(|b| Emulator::from_interpreter(&b.interpreter) == Emulator::RosettaLinux)
        .collect();
    match rosetta.first() {
        Some(b) => format!(
            "Rosetta for Linux registered with binfmt_misc ({}, {})",
            b.name,
            if b.enabled { "enabled" } else { "disabled" }
        ),
        None if h.os == Os::Macos => "not applicable (Intel Mac)".to_string(),
        None => "not registered".to_string(),
    }
}

/// `host.txt`: one `Key: value` line per fact, like `brew config`.
pub fn to_text(h: &HostFacts) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| {
        let _ = writeln!(s, "{k}: {v}");
    };
    line("gohang", &h.gohang_version);
    let os = match (&h.os_name, &h.os_version, &h.os_build) {
        (Some(n), Some(v), Some(b)) => format!("{n} {v} ({b})"),
        (Some(n), Some(v), None) if !n.contains(v.as_str()) => format!("{n} {v}"),
        (Some(n), _, _) => n.clone(),
        (None, Some(v), _) => format!("{} {v}", h.os),
        (None, None, _) => format!("{} (version unknown)", h.os),
    };
    line("OS", &os);
    line("Kernel", h.kernel.as_deref().unwrap_or("unknown"));
    line("Hardware arch", &h.hardware_arch);
    line("Process arch", &h.process_arch);
    let translation = match &h.translation {
        Translation::Native => "native".to_string(),
        t => format!("gohang itself runs translated by {}", t.translator()),
    };
    line("Translation", &translation);
    line("Rosetta", &rosetta_state(h));
    if h.os == Os::Linux {
        let binfmt = if h.binfmt.is_empty() {
            "no handlers registered".to_string()
        } else {
            h.binfmt
                .iter()
                .map(|b| {
                    format!(
                        "{} ({}{}, {})",
                        b.name,
                        b.arch
                            .as_ref()
                            .map(|a| format!("{a}, "))
                            .unwrap_or_default(),
                        if b.enabled { "enabled" } else { "disabled" },
                        b.interpreter
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        line("binfmt_misc", &binfmt);
    }
    line("CPUs", &h.cpus.to_string());
    if let Some(c) = &h.container {
        line("Container", c);
    }
    line(
        "User",
        &format!("{} (uid {})", h.user.as_deref().unwrap_or("unknown"), h.uid),
    );
    if let Some(sh) = &h.shell {
        line("Shell", sh);
    }
    if !h.ancestors.is_empty() {
        let chain: Vec<String> = h
            .ancestors
            .iter()
            .map(|a| match &a.translation {
                Translation::Native => format!("{} ({})", a.name, a.pid),
                t => format!("{} ({}, translated by {})", a.name, a.pid, t.translator()),
            })
            .collect();
        line("Parents", &chain.join(" < "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release() {
        let r = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME='Debian GNU/Linux'\nVERSION_ID=\"12\"\n# c\nbroken\n",
        );
        assert_eq!(
            r.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(r.name.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(r.version_id.as_deref(), Some("12"));
        assert_eq!(parse_os_release("ID=alpine"), OsRelease::default());
    }

    #[test]
    fn system_version_plist() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>BuildID</key>
	<string>6F0A4E2E-1</string>
	<key>ProductBuildVersion</key>
	<string>23F79</string>
	<key>ProductName</key>
	<string>macOS</string>
	<key>ProductVersion</key>
	<string>14.5</string>
</dict>
</plist>"#;
        assert_eq!(
            parse_system_version(text),
            (
                Some("macOS".to_string()),
                Some("14.5".to_string()),
                Some("23F79".to_string())
            )
        );
        assert_eq!(parse_system_version("<plist/>"), (None, None, None));
    }

    fn facts(os: Os) -> HostFacts {
        HostFacts {
            gohang_version: "0.1.0".into(),
            os,
            os_name: Some("macOS".into()),
            os_version: Some("14.5".into()),
            os_build: Some("23F79".into()),
            os_source: None,
            kernel: Some("Darwin 23.5.0".into()),
            hardware_arch: "arm64".into(),
            process_arch: "x86_64".into(),
            translation: Translation::Rosetta { program_arch: None },
            rosetta_installed: Some(true),
            binfmt: Vec::new(),
            cpus: 8,
            container: None,
            user: Some("user".into()),
            uid: 501,
            shell: Some("/bin/zsh".into()),
            ancestors: vec![Ancestor {
                pid: 10,
                name: "zsh".into(),
                translation: Translation::Rosetta { program_arch: None },
            }],
        }
    }

    #[test]
    fn text_reads_like_brew_config() {
        let t = to_text(&facts(Os::Macos));
        for want in [
            "OS: macOS 14.5 (23F79)\n",
            "Hardware arch: arm64\n",
            "Process arch: x86_64\n",
            "Translation: gohang itself runs translated by Rosetta 2\n",
            "Rosetta: Rosetta 2 installed\n",
            "CPUs: 8\n",
            "User: user (uid 501)\n",
            "Parents: zsh (10, translated by Rosetta 2)\n",
        ] {
            assert!(t.contains(want), "{want:?} in\n{t}");
        }
        assert!(!t.contains("binfmt_misc"), "Linux only");
        let mut l = facts(Os::Linux);
        l.rosetta_installed = None;
        l.binfmt = vec![BinfmtHandler {
            name: "rosetta".into(),
            enabled: true,
            interpreter: "/mnt/lima-rosetta/rosetta".into(),
            resolved: None,
            flags: "F".into(),
            arch: None,
        }];
        let t = to_text(&l);
        assert!(
            t.contains("Rosetta: Rosetta for Linux registered with binfmt_misc (rosetta, enabled)"),
            "{t}"
        );
        assert!(t.contains("binfmt_misc: rosetta (enabled, /mnt/lima-rosetta/rosetta)"));
    }
}
