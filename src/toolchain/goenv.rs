//! Settings that silently change what the go command builds or runs, left in the
//! environment or in the `go env -w` file.
//!
//! The go command reads a setting from the environment first, then from the user's go/env
//! file: `$GOENV`, or `os.UserConfigDir()/go/env` — `$XDG_CONFIG_HOME/go/env` or
//! `~/.config/go/env` on Linux, `~/Library/Application Support/go/env` on macOS
//! (`cmd/go/internal/cfg/cfg.go` `EnvFile`, `os.UserConfigDir`). The file holds
//! `KEY=VALUE` lines; lines not starting with an upper-case letter are ignored.
//!
//! GOOS/GOARCH make `go build` produce foreign binaries and `go run`/`go test` run them
//! through an emulator or fail; GOHOSTOS/GOHOSTARCH are meant for bootstrapping only;
//! CGO_ENABLED and GOFLAGS change every build; GOTOOLCHAIN makes the go command switch to,
//! and maybe download, another toolchain (https://go.dev/doc/toolchain). DYLD_* variables
//! inject or redirect libraries in every macOS process (dyld(1)).

use super::Env;
use crate::evidence::Os;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The settings `check` reports, in the order it reports them.
pub const WATCHED: [&str; 7] = [
    "GOOS",
    "GOARCH",
    "GOHOSTOS",
    "GOHOSTARCH",
    "CGO_ENABLED",
    "GOFLAGS",
    "GOTOOLCHAIN",
];

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SettingSource {
    Environment,
    /// The `go env -w` file.
    GoEnvFile {
        path: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub source: SettingSource,
    /// A setting from the file that the environment overrides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overridden: bool,
}

/// What the environment and the go/env file set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvFindings {
    /// The go/env file consulted (whether or not it exists); none with `GOENV=off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<String>,
    pub settings: Vec<Setting>,
    /// `DYLD_*` variables in the environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dyld: Vec<(String, String)>,
    /// GOROOT / GOMODCACHE / GOPATH from the file (used to find toolchains, not reported).
    #[serde(skip)]
    pub file_values: Vec<(String, String)>,
    /// Why the go/env file that exists could not be read (too large, not a file).
    #[serde(skip)]
    pub file_error: Option<String>,
}

impl EnvFindings {
    /// A value as the go command sees it: environment first, then the go/env file.
    pub fn effective(&self, env: &Env, name: &str) -> Option<String> {
        env.get(name).map(str::to_string).or_else(|| {
            self.file_values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        })
    }
}

/// The go/env file for `os` (gohang's OS names), as `cmd/go` `EnvFile` finds it.
pub fn env_file_path(env: &Env, os: &Os) -> Option<PathBuf> {
    if let Some(f) = env.get("GOENV") {
        return (f != "off").then(|| PathBuf::from(f));
    }
    let config = match os.goos() {
        "darwin" | "ios" => PathBuf::from(env.home()?).join("Library/Application Support"),
        _ => match env.get("XDG_CONFIG_HOME") {
            Some(x) => PathBuf::from(x),
            None => PathBuf::from(env.home()?).join(".config"),
        },
    };
    Some(config.join("go").join("env"))
}

/// `KEY=VALUE` lines as the go command reads them (`readEnvFile`).
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| l.as_bytes().first().is_some_and(u8::is_ascii_uppercase))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Gather the watched settings from `env` and from the go/env file (read from disk).
pub fn findings(env: &Env, os: &Os) -> EnvFindings {
    let path = env_file_path(env, os);
    let read = path
        .as_ref()
        .map(|p| crate::safeio::read_found_text(p, crate::safeio::ENV_FILE));
    let (file, file_error) = match read {
        Some(Ok(t)) => (parse_env_file(&t), None),
        Some(Err(e)) if e.kind != crate::safeio::IoErrorKind::NotFound => (
            Vec::new(),
            Some(format!(
                "the go env file was not read: {e} (the go command would not accept it either)"
            )),
        ),
        _ => (Vec::new(), None),
    };
    let mut f = findings_from(env, path.map(|p| p.display().to_string()), file);
    f.file_error = file_error;
    f
}

/// The pure part of [`findings`].
pub fn findings_from(
    env: &Env,
    env_file: Option<String>,
    file: Vec<(String, String)>,
) -> EnvFindings {
    let mut settings = Vec::new();
    for name in WATCHED {
        let in_env = env.get(name);
        if let Some(v) = in_env {
            settings.push(Setting {
                name: name.to_string(),
                value: v.to_string(),
                source: SettingSource::Environment,
                overridden: false,
            });
        }
        // The last line wins in the file, as in the go command's map.
        if let Some((_, v)) = file.iter().rev().find(|(k, v)| k == name && !v.is_empty()) {
            settings.push(Setting {
                name: name.to_string(),
                value: v.clone(),
                source: SettingSource::GoEnvFile {
                    path: env_file.clone().unwrap_or_default(),
                },
                overridden: in_env.is_some(),
            });
        }
    }
    let dyld = env
        .iter()
        .filter(|(k, _)| k.starts_with("DYLD_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvFindings {
        env_file,
        settings,
        dyld,
        file_values: file,
        file_error: None,
    }
}

/// A paste-ready line that removes `s`. For the file, an edit that does not run `go`
/// (which may be what hangs); `go env -u NAME` does the same.
pub fn removal(s: &Setting, os: &Os) -> String {
    match &s.source {
        SettingSource::Environment => format!("unset {}", s.name),
        SettingSource::GoEnvFile { path } => {
            let inplace = if *os == Os::Macos {
                "sed -i ''"
            } else {
                "sed -i"
            };
            format!(
                "{inplace} '/^{}=/d' {}    # or: go env -u {}",
                s.name,
                crate::shell::quote(path),
                s.name
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_location_follows_the_go_command() {
        let e = Env::from_pairs([("HOME", "/home/u")]);
        assert_eq!(
            env_file_path(&e, &Os::Linux).unwrap(),
            PathBuf::from("/home/u/.config/go/env")
        );
        assert_eq!(
            env_file_path(&e, &Os::Macos).unwrap(),
            PathBuf::from("/home/u/Library/Application Support/go/env")
        );
        let e = Env::from_pairs([("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(
            env_file_path(&e, &Os::Linux).unwrap(),
            PathBuf::from("/x/go/env")
        );
        let e = Env::from_pairs([("HOME", "/home/u"), ("GOENV", "/etc/goenv")]);
        assert_eq!(
            env_file_path(&e, &Os::Macos).unwrap(),
            PathBuf::from("/etc/goenv")
        );
        let e = Env::from_pairs([("GOENV", "off")]);
        assert_eq!(env_file_path(&e, &Os::Linux), None);
    }

    #[test]
    fn settings_from_both_places() {
        let file = parse_env_file("# comment\nGOOS=windows\nlower=1\nGOARCH=arm64\nGOPROXY=off\n");
        assert_eq!(file.len(), 3);
        let env = Env::from_pairs([
            ("GOARCH", "amd64"),
            ("DYLD_INSERT_LIBRARIES", "/x.dylib"),
            ("CGO_ENABLED", ""),
        ]);
        let f = findings_from(&env, Some("/cfg/go/env".into()), file);
        let names: Vec<(&str, bool)> = f
            .settings
            .iter()
            .map(|s| (s.name.as_str(), s.source == SettingSource::Environment))
            .collect();
        assert_eq!(
            names,
            vec![("GOOS", false), ("GOARCH", true), ("GOARCH", false)]
        );
        assert!(f.settings[2].overridden);
        assert_eq!(f.dyld.len(), 1);
        assert_eq!(f.effective(&env, "GOARCH").as_deref(), Some("amd64"));
        assert_eq!(f.effective(&env, "GOPROXY").as_deref(), Some("off"));
        assert_eq!(
            removal(&f.settings[0], &Os::Linux),
            "sed -i '/^GOOS=/d' /cfg/go/env    # or: go env -u GOOS"
        );
        assert_eq!(removal(&f.settings[1], &Os::Linux), "unset GOARCH");
    }
}
