//! Live tests of the real remote behind a stuck fetch: git's own configuration rewrites the
//! URL (`url.<base>.insteadOf` from an included file or the environment), ssh's
//! configuration turns a host alias into 127.0.0.1 and a port, and the server there never
//! answers. The verdict names each rewrite with the file and line that made it.
#![cfg(target_os = "linux")]

mod util;

use gohang::verdict::VerdictKind;
use std::process::Stdio;
use std::time::Duration;
use util::*;

fn find_child(root: u32, name: &str) -> Option<u32> {
    wait_for(Duration::from_secs(30), || {
        descendants_of(root)
            .into_iter()
            .find(|p| comm(*p).as_deref() == Some(name))
    })
}

#[test]
fn an_ssh_host_alias_behind_an_included_insteadof_is_named_with_its_files_and_lines() {
    if !need(have("git") && have("ssh"), "git and ssh") {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let port = server.addr.port();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap().to_string();
    // ~/.gitconfig includes a file; the longer of its two prefixes wins.
    std::fs::write(
        home.path().join(".gitconfig"),
        "[include]\n\tpath = rewrites.inc\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("rewrites.inc"),
        "[url \"ssh://other/\"]\n\tinsteadOf = https://\n[url \"ssh://gohost/\"]\n\tinsteadOf = https://git.example.com/\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("ssh_config"),
        format!("Host gohost\n  HostName 127.0.0.1\n  Port {port}\nHost *\n  Port 1\n"),
    )
    .unwrap();
    let mut c = std::process::Command::new("git");
    c.args(["ls-remote", "https://git.example.com/org/private.git"])
        .env("HOME", &h)
        .env_remove("XDG_CONFIG_HOME")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env(
            "GIT_SSH_COMMAND",
            format!("ssh -F {h}/ssh_config -o ControlMaster=no -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let git = Guard::spawn_group(&mut c);
    let ssh = find_child(git.pid(), "ssh").expect("git never ran ssh");
    std::thread::sleep(Duration::from_millis(300));

    let r = attach_json(git.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(p.pid, Some(ssh));
    assert!(
        p.summary.contains(&format!(
            "the ssh server 127.0.0.1 port {port}, repository /org/private.git, host alias gohost (HostName set in {h}/ssh_config line 2)"
        )),
        "{}",
        p.summary
    );
    let has = |want: &str| p.evidence.iter().any(|e| e.contains(want));
    assert!(
        has(&format!(
            "was asked for https://git.example.com/org/private.git, and git rewrote it to ssh: url.ssh://gohost/.insteadOf=https://git.example.com/ at {h}/rewrites.inc line 4 makes it ssh://gohost/org/private.git (the URL asked for is from the arguments of git (pid {}))",
            git.pid()
        )),
        "{:#?}",
        p.evidence
    );
    assert!(
        has(&format!(
            "ssh destination gohost: HostName 127.0.0.1 ({h}/ssh_config line 2), Port {port} ({h}/ssh_config line 3)"
        )),
        "{:#?}",
        p.evidence
    );
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains("GIT_SSH_COMMAND='ssh -o ConnectTimeout=15"),
        "{:?}",
        p.remedy
    );
    drop(git);
}

#[test]
fn a_git_remote_helper_names_the_rewrite_from_the_environment() {
    if !need(have("git"), "git") {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let port = server.addr.port();
    let home = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}/");
    let mut c = std::process::Command::new("git");
    c.args(["ls-remote", "https://git.example.com/org/x.git"])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", format!("url.{base}.insteadOf"))
        .env("GIT_CONFIG_VALUE_0", "https://git.example.com/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let git = Guard::spawn_group(&mut c);
    let helper = find_child(git.pid(), "git-remote-http").expect("git never ran its http helper");
    std::thread::sleep(Duration::from_millis(500));

    let r = attach_json(git.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(p.pid, Some(helper), "{r:#?}");
    assert!(
        p.evidence.iter().any(|e| e.contains(&format!(
            "was asked for https://git.example.com/org/x.git, and git rewrote it to this URL: url.{base}.insteadOf=https://git.example.com/ at GIT_CONFIG_KEY_0/GIT_CONFIG_VALUE_0 makes it {base}org/x.git (the URL asked for is from the arguments of git (pid {}))",
            git.pid()
        ))),
        "{:#?}",
        p.evidence
    );
    drop(git);
}
