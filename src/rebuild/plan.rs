//! The rebuild plan: every fact gathered and every decision taken before anything changes,
//! as data. Without `--yes` it is all `gohang rebuild` does; `--json` prints it.
//!
//! Gathering reads files, directory listings and process tables, and asks package
//! databases (`dpkg -S`, time-boxed); it runs no program of the GOROOT or the bootstrap
//! (those may be foreign, slow, or hang), and writes nothing.

use crate::evidence::{HostInfo, Os};
use crate::rebuild::advice::install_instead;
use crate::rebuild::backup::{self, TreeSurvey};
use crate::rebuild::bootstrap::{self, Candidate, SearchEnv};
use crate::rebuild::build::{self, BuildEnv};
use crate::rebuild::foreign::{self, Platform, TreeScan};
use crate::rebuild::goroot::{self, FoundBy, Owner};
use crate::rebuild::procs::{self, RunningTool};
use crate::rebuild::version::{self, GoVersion, VersionSource};
use crate::shell::quote_path as sh;
use crate::toolchain::{Env, goenv};
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Why a rebuild cannot (or should not now) happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockerKind {
    /// No `src/make.bash`: a binary-only tree.
    NoSource,
    /// Sources make.bash needs are missing (Debian strips `lib/time/zoneinfo.zip`).
    IncompleteSource,
    /// Before Go 1.5, built with a C toolchain.
    TooOld,
    UnknownVersion,
    PackageManaged,
    NoBootstrap,
    /// A symlink out of the tree that the build or the cleanup could write through.
    EscapingSymlink,
    SpecialFiles,
    /// The GOROOT is a mount point: it cannot be renamed to make the backup.
    MountPoint,
    /// A program from the GOROOT is running.
    GoRunning,
    DiskSpace,
    NotWritable,
}

impl BlockerKind {
    /// Blockers that no retry fixes: the answer is a native install instead.
    pub fn needs_install(&self) -> bool {
        matches!(
            self,
            BlockerKind::NoSource
                | BlockerKind::IncompleteSource
                | BlockerKind::TooOld
                | BlockerKind::UnknownVersion
                | BlockerKind::PackageManaged
                | BlockerKind::NoBootstrap
                | BlockerKind::EscapingSymlink
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostSummary {
    pub os: Os,
    /// What gohang's process sees.
    pub arch: String,
    /// The machine's own.
    pub hardware_arch: String,
    /// The platform a native toolchain is for: `linux_amd64`.
    pub native: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GorootFacts {
    /// Resolved (symlinks followed): the directory that is renamed and rebuilt.
    pub path: PathBuf,
    pub found_by: FoundBy,
    /// The go/env file that sets GOROOT, when `found_by` is `go env file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<GoVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_source: Option<VersionSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    pub tree: TreeSurvey,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BootstrapFacts {
    /// The oldest Go this tree's make.bash accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<GoVersion>,
    /// Where `required` comes from: `src/make.bash` or `release table`.
    pub required_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<Candidate>,
    pub considered: Vec<Candidate>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Disk {
    /// The directory whose file system holds the GOROOT, its copy and its backup.
    pub filesystem_of: PathBuf,
    /// The working copy (the backup is the original itself, renamed: it costs nothing).
    pub copy_bytes: u64,
    /// What make.bash adds at its peak (new tools and its temporary build cache).
    pub build_bytes: u64,
    pub needed_bytes: u64,
    pub free_bytes: u64,
}

/// Everything decided before anything changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub host: HostSummary,
    pub goroot: GorootFacts,
    pub foreign: TreeScan,
    pub bootstrap: BootstrapFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<Disk>,
    /// Where the original goes (a rename) and stays after a success.
    pub backup: PathBuf,
    pub log: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<BuildEnv>,
    /// The steps, as equivalent shell commands.
    pub commands: Vec<String>,
    /// How a failure is undone, as shell commands.
    pub rollback_commands: Vec<String>,
    pub running: Vec<RunningTool>,
    /// Backups earlier rebuilds left next to the GOROOT.
    pub previous_backups: Vec<PathBuf>,
    pub blockers: Vec<Blocker>,
    /// Paste-ready lines for a native install, when a rebuild is not possible.
    pub install_instead: Vec<String>,
    #[serde(skip)]
    pub platform: Platform,
    #[serde(skip)]
    pub make_bash_argv: Vec<OsString>,
    /// The GOROOT as given and as resolved: a process running a program under either
    /// blocks the rebuild.
    #[serde(skip)]
    pub watch_roots: Vec<PathBuf>,
    /// binfmt_misc interpreters (resolved), whose processes run the program they name.
    #[serde(skip)]
    pub interpreters: Vec<PathBuf>,
}

impl Plan {
    /// Nothing foreign: no rebuild needed.
    pub fn nothing_to_do(&self) -> bool {
        self.foreign.is_native() && self.foreign.native_tool_dir
    }
}

/// What the user asked for.
pub struct Inputs<'a> {
    pub goroot: Option<&'a Path>,
    pub bootstrap: Option<&'a Path>,
    pub log: Option<&'a Path>,
    /// A UTC time stamp for the backup and log names.
    pub stamp: String,
}

/// The GOROOT was not found, or is not one.
#[derive(Debug)]
pub struct NotFound(pub String);

/// Peak extra space make.bash needs, as a multiple of the size of `src/`. Measured on Go
/// 1.23.5, linux/amd64: src/ is 116 MB; during make.bash the tree grew from 239 MB to a
/// peak of 1109 MB (sampled every 3 s), almost all of it the temporary build cache in
/// pkg/obj/go-build that cmd/dist deletes at the end, and ended at 248 MB. 9x src/ is
/// that peak with some room.
const BUILD_SPACE_PER_SRC_BYTE: u64 = 9;
/// And at least this much.
const MIN_BUILD_SPACE: u64 = 16 << 20;

pub fn make_plan(
    inputs: &Inputs,
    host: &HostInfo,
    search: &SearchEnv,
    process_env: &[(OsString, OsString)],
) -> Result<Plan, NotFound> {
    let platform = Platform::native(host);
    let located = locate(inputs, host, process_env)?;
    let path = located.path.clone();
    let mut blockers = Vec::new();

    let version = version::tree_version(&path);
    let owner = crate::guard::package_owner(&path);
    if let Some(o) = &owner {
        block(
            &mut blockers,
            BlockerKind::PackageManaged,
            format!(
                "{} belongs to {}: its next update would undo a rebuild, or trip over it",
                path.display(),
                o.describe()
            ),
        );
    }
    let (required, required_source) = source_blockers(&path, version, &mut blockers);
    let tree = backup::survey(&path).unwrap_or_default();
    tree_blockers(&tree, &mut blockers);
    let scan = foreign::scan(&path, &platform);
    let choice = bootstrap::choose(
        inputs.bootstrap,
        search,
        required,
        version.map(|(v, _)| v),
        &path,
        &platform,
    );
    bootstrap_blocker(inputs.bootstrap, &choice, required, &mut blockers);
    let parent = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    place_blockers(&path, &parent, &mut blockers);
    let disk = disk_needs(&path, &parent, &tree, &mut blockers);
    let interpreters: Vec<PathBuf> = host
        .binfmt
        .iter()
        .map(|h| PathBuf::from(goroot_resolve(&h.interpreter)))
        .collect();
    let watch_roots = vec![located.given.clone(), path.clone()];
    let running = procs::running_from(&watch_roots, &interpreters);
    running_blocker(&running, &mut blockers);

    let backup_path = backup::backup_path(&path, &inputs.stamp);
    let log = inputs.log.map(Path::to_path_buf).unwrap_or_else(|| {
        crate::sys::logfile::default_dir().join(format!("rebuild-{}.log", inputs.stamp))
    });
    let environment = choice
        .chosen
        .as_ref()
        .map(|c| build::build_env(&c.goroot, process_env));
    let translated_mac = (host.os == Os::Macos && host.arch != host.hardware_arch)
        .then(|| host.hardware_arch.display_for(&Os::Macos));
    let make_bash_argv = build::make_bash_command(&path, translated_mac.as_deref());
    let commands = commands(
        &path,
        &backup_path,
        &scan,
        environment.as_ref(),
        &make_bash_argv,
    );
    let rollback_commands = vec![rollback_command(&path, &backup_path)];
    let install = if blockers.iter().any(|b| b.kind.needs_install()) {
        install_instead(host, version.map(|(v, _)| v), owner.as_ref())
    } else {
        Vec::new()
    };
    Ok(Plan {
        host: HostSummary {
            os: host.os.clone(),
            arch: host.arch.to_string(),
            hardware_arch: host.hardware_arch.to_string(),
            native: platform.dir_name(),
        },
        goroot: GorootFacts {
            path: path.clone(),
            found_by: located.found_by,
            env_file: located.env_file,
            version: version.map(|(v, _)| v),
            version_source: version.map(|(_, s)| s),
            owner,
            tree,
        },
        foreign: scan,
        bootstrap: BootstrapFacts {
            required,
            required_source,
            chosen: choice.chosen,
            considered: choice.considered,
        },
        disk,
        backup: backup_path,
        log,
        environment,
        commands,
        rollback_commands,
        running,
        previous_backups: backup::existing_backups(&path),
        blockers,
        install_instead: install,
        platform,
        make_bash_argv,
        watch_roots,
        interpreters,
    })
}

fn block(blockers: &mut Vec<Blocker>, kind: BlockerKind, message: String) {
    blockers.push(Blocker { kind, message });
}

/// The GOROOT to rebuild, as given and resolved.
struct Located {
    given: PathBuf,
    path: PathBuf,
    found_by: FoundBy,
    env_file: Option<PathBuf>,
}

/// Find the GOROOT (`--goroot`, else the search `gohang check` makes on the same
/// environment) and make sure it is a Go tree gohang may rebuild.
fn locate(
    inputs: &Inputs,
    host: &HostInfo,
    process_env: &[(OsString, OsString)],
) -> Result<Located, NotFound> {
    let (given, found_by, env_file) = match inputs.goroot {
        Some(p) => (p.to_path_buf(), FoundBy::Flag, None),
        None => {
            let env = Env::from_pairs(
                process_env
                    .iter()
                    .filter_map(|(k, v)| Some((k.to_str()?, v.to_str()?))),
            );
            let envf = goenv::findings(&env, &host.os);
            let l = goroot::locate_goroot(&env, &envf, &host.os).map_err(NotFound)?;
            (l.path, l.found_by, l.env_file)
        }
    };
    // Where the GOROOT came from, for the messages below: a set GOROOT that is not a Go
    // tree is reported as such, never replaced by another tree.
    let origin = match (found_by, &env_file) {
        (FoundBy::GoEnvFile, Some(f)) => format!("GOROOT in {}", f.display()),
        _ => found_by.describe().to_string(),
    };
    let set_but_wrong = matches!(found_by, FoundBy::EnvGoroot | FoundBy::GoEnvFile).then(|| {
        format!(
            "; the go command uses {origin} as it is, so unset it (or correct it), or name \
             the tree to rebuild with --goroot DIR"
        )
    });
    let path = std::fs::canonicalize(&given).map_err(|e| {
        // A rebuild killed (SIGKILL) between moving the original aside and copying it
        // back leaves only the backup: say how to put it back.
        match backup::existing_backups(&given).last() {
            Some(b) => NotFound(format!(
                "{} ({origin}): {e}; but a backup of it exists (a rebuild that was killed?): restore it with `mv {} {}`",
                given.display(),
                sh(b),
                sh(&given)
            )),
            None => NotFound(format!(
                "{} ({origin}): {e}{}",
                given.display(),
                set_but_wrong.clone().unwrap_or_default()
            )),
        }
    })?;
    if !path.is_dir() || !goroot::has_goroot_layout(&path) {
        return Err(NotFound(format!(
            "{} ({origin}) does not look like a GOROOT (it needs two of bin/go, pkg/tool/, src/runtime/, VERSION){}",
            path.display(),
            set_but_wrong.unwrap_or_default()
        )));
    }
    // The shared guard (crate::guard): a tree shaped like a GOROOT is still never moved
    // aside and rebuilt when it is /, $HOME or above it, or a GOPATH.
    let var = |name: &str| {
        process_env
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.to_str())
            .filter(|v| !v.is_empty())
    };
    if let Some(why) =
        crate::guard::TreeFacts::read(&path, var("HOME"), var("GOPATH")).place_refusal()
    {
        return Err(NotFound(format!(
            "{} ({origin}): gohang will not rebuild it: {why}{}",
            path.display(),
            set_but_wrong.unwrap_or_default()
        )));
    }
    Ok(Located {
        given,
        path,
        found_by,
        env_file,
    })
}

/// What the sources allow: make.bash and what cmd/dist reads must be there, and the tree
/// must be Go 1.5 or later. Returns the bootstrap Go make.bash needs, and where that
/// was read.
fn source_blockers(
    path: &Path,
    version: Option<(GoVersion, VersionSource)>,
    blockers: &mut Vec<Blocker>,
) -> (Option<GoVersion>, String) {
    let make_bash = build::make_bash_path(path);
    let make_text = crate::safeio::read_found_text(&make_bash, crate::safeio::SOURCE_FILE).ok();
    if make_text.is_none() {
        block(
            blockers,
            BlockerKind::NoSource,
            format!(
                "{} has no src/make.bash: there are no sources to build from",
                path.display()
            ),
        );
    } else if dist_needs_zoneinfo(path) && !path.join("lib/time/zoneinfo.zip").is_file() {
        block(
            blockers,
            BlockerKind::IncompleteSource,
            "lib/time/zoneinfo.zip is missing, and cmd/dist reads it to generate time/tzdata \
             (src/cmd/dist/buildgo.go mktzdata): make.bash would fail"
                .into(),
        );
    }
    let (required, required_source) = match make_text.as_deref().and_then(version::make_bash_floor)
    {
        Some(v) => (Some(v), "src/make.bash".to_string()),
        None => (
            version.and_then(|(v, _)| version::bootstrap_floor(&v)),
            "release table".to_string(),
        ),
    };
    match version {
        Some((v, _)) if v.major == 1 && v.minor < 5 => block(
            blockers,
            BlockerKind::TooOld,
            format!(
                "{v} predates Go 1.5 and is built with a C toolchain; gohang rebuilds Go 1.5 and later"
            ),
        ),
        None if required.is_none() => block(
            blockers,
            BlockerKind::UnknownVersion,
            "the tree's version cannot be read (no VERSION file, no src/internal/goversion, no Go build info in bin/go)".into(),
        ),
        _ => {}
    }
    (required, required_source)
}

/// What the backup cannot hold: symlinks out of the tree where the build writes, and
/// FIFOs, sockets or devices.
fn tree_blockers(tree: &TreeSurvey, blockers: &mut Vec<Blocker>) {
    for l in &tree.escaping_links {
        if l.to_dir
            || l.path.starts_with("bin/")
            || l.path.starts_with("pkg/")
            || l.path == "bin"
            || l.path == "pkg"
        {
            block(
                blockers,
                BlockerKind::EscapingSymlink,
                format!(
                    "{} is a symlink to {}, outside the GOROOT: the build would write through it, and the backup cannot hold what is there",
                    l.path, l.target
                ),
            );
        }
    }
    if !tree.special.is_empty() {
        block(
            blockers,
            BlockerKind::SpecialFiles,
            format!(
                "the tree holds FIFOs, sockets or devices, which are not copied: {}",
                tree.special.join(", ")
            ),
        );
    }
}

/// No native Go to build with: the one named with `--bootstrap` and why it cannot be
/// used, or how many were looked at.
fn bootstrap_blocker(
    named: Option<&Path>,
    choice: &bootstrap::BootstrapChoice,
    required: Option<GoVersion>,
    blockers: &mut Vec<Blocker>,
) {
    if choice.chosen.is_some() {
        return;
    }
    let need = required
        .map(|r| format!("{r} or later"))
        .unwrap_or_else(|| "Go".into());
    let msg = match named {
        Some(b) => format!(
            "--bootstrap {} cannot be used: {}",
            b.display(),
            choice.considered[0].rejected.clone().unwrap_or_default()
        ),
        None => format!(
            "no native {need} found to build with ({} Go trees looked at); name one with --bootstrap DIR",
            choice.considered.len()
        ),
    };
    block(blockers, BlockerKind::NoBootstrap, msg);
}

/// The tree must be renamable: not a mount point, and it and its parent writable.
fn place_blockers(path: &Path, parent: &Path, blockers: &mut Vec<Blocker>) {
    if let (Ok(a), Ok(b)) = (backup::device_of(path), backup::device_of(parent))
        && a != b
    {
        block(
            blockers,
            BlockerKind::MountPoint,
            format!(
                "{} is a mount point: gohang backs a GOROOT up by renaming it, which a mount point refuses",
                path.display()
            ),
        );
    }
    use nix::unistd::{AccessFlags, access};
    for dir in [parent, path] {
        if let Err(e) = access(dir, AccessFlags::W_OK) {
            let how = if e == nix::errno::Errno::EROFS {
                "it is on a read-only file system".to_string()
            } else {
                "run gohang as the tree's owner (or with sudo)".to_string()
            };
            block(
                blockers,
                BlockerKind::NotWritable,
                format!("{} is not writable ({e}): {how}", dir.display()),
            );
        }
    }
}

/// The space the copy and the build need beside the tree, and whether it is free.
fn disk_needs(
    path: &Path,
    parent: &Path,
    tree: &TreeSurvey,
    blockers: &mut Vec<Blocker>,
) -> Option<Disk> {
    let src_bytes = backup::survey(&path.join("src"))
        .map(|s| s.bytes)
        .unwrap_or(0);
    let build_bytes = (src_bytes * BUILD_SPACE_PER_SRC_BYTE).max(MIN_BUILD_SPACE);
    let disk = backup::free_space(parent).ok().map(|free| Disk {
        filesystem_of: parent.to_path_buf(),
        copy_bytes: tree.bytes,
        build_bytes,
        needed_bytes: tree.bytes + build_bytes,
        free_bytes: free,
    });
    if let Some(d) = &disk
        && d.free_bytes < d.needed_bytes
    {
        block(
            blockers,
            BlockerKind::DiskSpace,
            format!(
                "not enough free space on the file system of {}: {} needed ({} for the copy, {} for the build), {} free",
                parent.display(),
                human_bytes(d.needed_bytes),
                human_bytes(d.copy_bytes),
                human_bytes(d.build_bytes),
                human_bytes(d.free_bytes)
            ),
        );
    }
    disk
}

/// Programs running from the tree would lose their files under them.
fn running_blocker(running: &[RunningTool], blockers: &mut Vec<Blocker>) {
    if running.is_empty() {
        return;
    }
    let list: Vec<String> = running
        .iter()
        .map(|r| format!("pid {} ({})", r.pid, r.exe.display()))
        .collect();
    block(
        blockers,
        BlockerKind::GoRunning,
        format!(
            "programs from this GOROOT are running: {}; let them finish (or stop them) first",
            list.join(", ")
        ),
    );
}

/// `test -d BACKUP` first: pasted while the backup does not exist (gohang killed before it
/// moved the original aside), the line removes nothing.
fn rollback_command(path: &Path, backup_path: &Path) -> String {
    format!(
        "test -d {} && rm -rf {} && mv {} {}",
        sh(backup_path),
        sh(path),
        sh(backup_path),
        sh(path)
    )
}

/// Does this tree's cmd/dist read lib/time/zoneinfo.zip (its `mktzdata` generates
/// time/tzdata's zzipdata.go from it; Go 1.23's does)?
fn dist_needs_zoneinfo(goroot: &Path) -> bool {
    crate::safeio::read_found_text(
        &goroot.join("src/cmd/dist/buildgo.go"),
        crate::safeio::SOURCE_FILE,
    )
    .is_ok_and(|t| t.contains("lib/time/zoneinfo.zip"))
}

fn goroot_resolve(p: &str) -> String {
    std::fs::canonicalize(p)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| p.to_string())
}

/// The plan's steps as shell commands a person could run instead.
fn commands(
    g: &Path,
    b: &Path,
    scan: &TreeScan,
    env: Option<&BuildEnv>,
    argv: &[OsString],
) -> Vec<String> {
    let mut v = vec![
        format!("mv {} {}", sh(g), sh(b)),
        format!("cp -a {} {}", sh(b), sh(g)),
    ];
    for d in &scan.foreign_dirs {
        v.push(format!("rm -rf {}", sh(&g.join(&d.path))));
    }
    for bin in &scan.foreign_binaries {
        if !scan
            .foreign_dirs
            .iter()
            .any(|d| bin.path.starts_with(&d.path))
        {
            v.push(format!("rm -f {}", sh(&g.join(&bin.path))));
        }
    }
    let mut make = format!("cd {} && env", sh(&g.join("src")));
    if let Some(env) = env {
        for k in &env.unset {
            make.push_str(&format!(" -u {k}"));
        }
        for (k, val) in &env.set {
            make.push_str(&format!(" {k}={}", sh(Path::new(val))));
        }
    }
    for a in argv {
        let a = Path::new(a);
        if a == g.join("src/make.bash") {
            make.push_str(" ./make.bash");
        } else {
            make.push_str(&format!(" {}", sh(a)));
        }
    }
    v.push(make);
    let go = sh(&g.join("bin/go"));
    v.push(format!("{go} version"));
    v.push(format!(
        "{go} env -json GOARCH GOHOSTARCH GOOS GOHOSTOS GOROOT GOTOOLDIR GOVERSION"
    ));
    v.push(format!("{go} tool compile -V=full"));
    v
}

/// `239.5 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh(Path::new("/usr/lib/go-1.23")), "/usr/lib/go-1.23");
        assert_eq!(sh(Path::new("/a b/c")), "'/a b/c'");
        assert_eq!(sh(Path::new("/it's")), r"'/it'\''s'");
    }

    #[test]
    fn dates_and_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(239_461_458), "239.5 MB");
    }
}
