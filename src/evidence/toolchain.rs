//! What gohang found about the toolchain a command runs: the `go` binary, the GOROOT it
//! uses and that GOROOT's binaries, and Go platforms (`GOOS_GOARCH`). Data only:
//! `crate::toolchain` gathers it (reading files), the classifier and `check` decide from it.

use crate::evidence::binary::BinaryInfo;
use crate::evidence::guard::TreeFacts;
use crate::evidence::{Arch, HostInfo};
use serde::{Deserialize, Serialize};

/// What kind of thing a file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Binary,
    /// A script or data: not something the architecture question applies to.
    NotBinary,
    /// A truncated or malformed binary.
    Invalid,
    /// It could not be read.
    Unreadable,
}

/// One file and what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub path: String,
    /// The path with symlinks resolved, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    pub kind: FileKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<BinaryInfo>,
    /// Why there is no `binary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl FileReport {
    /// The Go version the binary was linked by.
    pub fn go_version(&self) -> Option<&str> {
        self.binary
            .as_ref()
            .and_then(|b| b.go())
            .map(|g| g.version.as_str())
    }
    /// The real file: `resolved`, else `path`.
    pub fn real_path(&self) -> &str {
        self.resolved.as_deref().unwrap_or(&self.path)
    }
    /// The file name.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Static findings about the toolchain a command runs: the `go` binary, the GOROOT it
/// uses, and the binaries of that GOROOT. Part of the probe's evidence; `check` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolchainEvidence {
    /// The `go` as the command names it (on PATH).
    pub go_path: String,
    /// That file, symlinks resolved, inspected.
    pub go: FileReport,
    /// The GOROOT the go command would use, found as it finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroot: Option<String>,
    /// Where that GOROOT came from ("GOROOT environment variable", "location of the go binary").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroot_source: Option<String>,
    /// `<goos>_<goarch>` of `pkg/tool/` the go command uses: its own GOOS/GOARCH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<GorootScan>,
    /// What a fix that replaced the GOROOT would act on (`guard`): its layout, where it
    /// sits, who owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<TreeFacts>,
    /// What could not be found out, in plain words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One `pkg/tool/<goos>_<goarch>/` directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolDir {
    /// `linux_amd64`
    pub name: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goarch: Option<String>,
    pub files: Vec<FileReport>,
}

/// The binaries of one GOROOT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GorootScan {
    pub root: String,
    /// First line of `GOROOT/VERSION` (release archives have it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_file: Option<String>,
    pub bin: Vec<FileReport>,
    pub tool_dirs: Vec<ToolDir>,
}

impl GorootScan {
    pub fn tool_dir(&self, name: &str) -> Option<&ToolDir> {
        self.tool_dirs.iter().find(|d| d.name == name)
    }
    /// Every file scanned, `bin/` first.
    pub fn files(&self) -> impl Iterator<Item = &FileReport> {
        self.bin
            .iter()
            .chain(self.tool_dirs.iter().flat_map(|d| d.files.iter()))
    }
}

/// A Go platform, `GOOS_GOARCH` as used in `pkg/tool/<os>_<arch>/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Platform {
    pub goos: String,
    pub goarch: String,
    /// The hardware architecture, as gohang names it.
    #[serde(skip)]
    pub hardware: Arch,
}

impl Platform {
    /// The machine's own platform: its OS and its hardware architecture (not the one a
    /// translated gohang sees).
    pub fn native(host: &HostInfo) -> Platform {
        Platform {
            goos: host.os.goos().to_string(),
            goarch: host.hardware_arch.goarch().to_string(),
            hardware: host.hardware_arch.clone(),
        }
    }

    /// `linux_amd64`.
    pub fn dir_name(&self) -> String {
        format!("{}_{}", self.goos, self.goarch)
    }

    /// `linux/amd64`, as `go version` prints it.
    pub fn slash(&self) -> String {
        format!("{}/{}", self.goos, self.goarch)
    }

    /// The executable formats this OS loads.
    fn formats(&self) -> &'static [&'static str] {
        match self.goos.as_str() {
            "darwin" | "ios" => &["mach-o", "mach-o-fat"],
            "windows" => &["pe"],
            _ => &["elf"],
        }
    }

    /// Does this machine run a binary of this format and these architectures natively?
    /// A universal binary is native when one of its slices is.
    pub fn runs_natively(&self, format: &str, arches: &[Arch]) -> bool {
        self.formats().contains(&format)
            && arches.iter().any(|a| a.runs_natively_on(&self.hardware))
    }
}
