//! `GitRemote`: a local git repository that cargo fetches through its
//! `file://` URL, driven with the `git` CLI under a fixed identity, no user
//! or system git config, and deterministic dates.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::cmd::{RunOutput, run_with_timeout};

/// Dates start here and advance a minute per commit or annotated tag, so
/// history is reproducible yet strictly ordered.
const EPOCH: u64 = 1_700_000_000;
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct GitRemote {
    path: PathBuf,
    clock: AtomicU64,
}

impl GitRemote {
    /// Creates `dir_parent/name` and runs `git init` there (branch `main`).
    pub fn init(dir_parent: &Path, name: &str) -> GitRemote {
        let path = dir_parent.join(name);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        // Canonical, so `url()` matches what cargo writes into Cargo.lock.
        let path = path
            .canonicalize()
            .unwrap_or_else(|e| panic!("canonicalize {}: {e}", path.display()));
        let remote = GitRemote {
            path,
            clock: AtomicU64::new(0),
        };
        remote.git(&["init", "-q"]);
        remote
    }

    /// A repository whose first commit is a minimal crate (`Cargo.toml` and
    /// an empty `src/lib.rs`).
    pub fn crate_repo(dir_parent: &Path, name: &str, version: &str) -> GitRemote {
        let remote = GitRemote::init(dir_parent, name);
        let manifest = format!(
            "[package]\nname = {}\nversion = {}\nedition = \"2021\"\n",
            crate::krate::toml_str(name),
            crate::krate::toml_str(version)
        );
        remote.commit(
            &[("Cargo.toml", manifest.as_str()), ("src/lib.rs", "")],
            &format!("{name} {version}"),
        );
        remote
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `file:///abs/path`, the form cargo records in `Cargo.lock`.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Writes `files` (creating parents), stages everything, commits, and
    /// returns the new commit's full sha. An empty `files` makes an empty
    /// commit.
    pub fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (rel, contents) in files {
            let path = self.path.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
            }
            fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    /// Creates a branch at HEAD without switching to it.
    pub fn branch(&self, name: &str) {
        self.git(&["branch", name]);
    }

    pub fn checkout(&self, name: &str) {
        self.git(&["checkout", "-q", name]);
    }

    /// Lightweight tag at HEAD.
    pub fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    /// Annotated tag at HEAD (its own object; cargo resolves it to the
    /// commit).
    pub fn annotated_tag(&self, name: &str, msg: &str) {
        self.git(&["tag", "-a", name, "-m", msg]);
    }

    /// Full sha of HEAD.
    pub fn head(&self) -> String {
        self.rev_parse("HEAD")
    }

    /// Full sha of any revision (`main`, `v1^{commit}`, …).
    pub fn rev_parse(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", rev])
            .stdout
            .trim()
            .to_owned()
    }

    /// Runs `git ARGS` in the repository with the kit's fixed identity and
    /// config; panics (showing the output) unless it succeeds.
    pub fn git(&self, args: &[&str]) -> RunOutput {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let date = format!("{} +0000", EPOCH + 60 * tick);
        let mut cmd = git_command(&self.path, &date);
        cmd.args(args);
        run_with_timeout(cmd, GIT_TIMEOUT).assert_success()
    }
}

/// `git` to run in `dir` with the kit's fixed identity, commit and author date `date`
/// (`SECONDS +0000`) and no user or system config, so results do not depend on the machine.
pub fn git_command(dir: &Path, date: &str) -> Command {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
    ])
    .current_dir(dir)
    .stdin(Stdio::null())
    .env("GIT_CONFIG_GLOBAL", "/dev/null")
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .env("GIT_AUTHOR_DATE", date)
    .env("GIT_COMMITTER_DATE", date)
    .env("GIT_TERMINAL_PROMPT", "0");
    // Set when tests run inside a git hook; they would redirect every
    // command to the outer repository.
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_sha(s: &str) -> bool {
        s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }

    #[test]
    fn commits_branches_and_tags() {
        let dir = tempfile::tempdir().expect("temp dir");
        let remote = GitRemote::crate_repo(dir.path(), "g", "0.1.0");
        let first = remote.head();
        assert!(is_sha(&first), "{first}");
        assert!(remote.url().starts_with("file:///"));

        remote.branch("feature");
        remote.checkout("feature");
        let second = remote.commit(&[("src/lib.rs", "pub fn f() {}")], "feature work");
        assert!(is_sha(&second));
        assert_ne!(first, second);
        assert_eq!(remote.rev_parse("feature"), second);
        assert_eq!(remote.rev_parse("main"), first);

        remote.tag("light");
        remote.annotated_tag("heavy", "release");
        assert_eq!(remote.rev_parse("light"), second);
        // The annotated tag is its own object pointing at the commit.
        assert_ne!(remote.rev_parse("heavy"), second);
        assert_eq!(remote.rev_parse("heavy^{commit}"), second);

        remote.checkout("main");
        assert_eq!(remote.head(), first);
    }

    #[test]
    fn history_is_deterministic() {
        let make = || {
            let dir = tempfile::tempdir().expect("temp dir");
            let remote = GitRemote::crate_repo(dir.path(), "same", "1.0.0");
            remote.commit(&[("README.md", "hi")], "docs")
        };
        assert_eq!(make(), make());
    }
}
