//! Reproducible release builds, shared by `attest` (which builds and records) and `verify
//! --rebuild` (which rebuilds from the record): what the build was asked for ([`BuildSpec`]),
//! the settings that make it independent of where it ran ([`repro_env`]), the source it came
//! from ([`Source`]), the toolchain ([`Toolchain`]), and clean copies of a tree.
//!
//! Reproducibility settings, all recorded in the provenance:
//! - `--remap-path-prefix` for the workspace (→ `/slsa/src`), the target dir (→ `/slsa/target`),
//!   `CARGO_HOME` (→ `/slsa/cargo`) and the toolchain's sysroot (→ `/slsa/rustc`), appended to
//!   any `RUSTFLAGS` already in the environment. (Cargo ignores `build.rustflags` from config
//!   files when `RUSTFLAGS` is set; put flags in `RUSTFLAGS` to keep them.)
//! - `SOURCE_DATE_EPOCH` = the commit time (or the value already set),
//! - `CARGO_INCREMENTAL=0`, `TZ=UTC`, `LC_ALL=C`, `--locked`, the release profile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// What to build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildSpec {
    /// `-p`: the package, or every default member when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `--bin`s; empty = every binary of the selected packages.
    #[serde(default)]
    pub bins: Vec<String>,
    /// `--target` triple; `None` = the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `--features`.
    #[serde(default)]
    pub features: Vec<String>,
    /// `--all-features`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_features: bool,
    /// `--no-default-features`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_default_features: bool,
    /// Cargo profile (always `release` today).
    pub profile: String,
}

impl BuildSpec {
    /// What is selected: `-p`, `--bin`, `--target`, features (shared by the command run and the
    /// command recorded).
    fn selection(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(p) = &self.package {
            a.extend(["-p".into(), p.clone()]);
        }
        for b in &self.bins {
            a.extend(["--bin".into(), b.clone()]);
        }
        if let Some(t) = &self.target {
            a.extend(["--target".into(), t.clone()]);
        }
        if !self.features.is_empty() {
            a.extend(["--features".into(), self.features.join(",")]);
        }
        if self.all_features {
            a.push("--all-features".into());
        }
        if self.no_default_features {
            a.push("--no-default-features".into());
        }
        a
    }

    /// The cargo arguments after `cargo`, for `root`'s manifest and `target_dir`.
    pub fn cargo_args(&self, manifest: &Path, target_dir: &Path) -> Vec<String> {
        let mut a = vec![
            "build".to_string(),
            "--locked".into(),
            "--profile".into(),
            self.profile.clone(),
            "--message-format=json-render-diagnostics".into(),
            "--manifest-path".into(),
            manifest.display().to_string(),
            "--target-dir".into(),
            target_dir.display().to_string(),
        ];
        a.extend(self.selection());
        a
    }

    /// The command a user would type to get the same build (recorded as `command`).
    pub fn display_command(&self) -> Vec<String> {
        let mut a = vec!["cargo".to_string(), "build".into(), "--locked".into()];
        if self.profile == "release" {
            a.push("--release".into());
        } else {
            a.extend(["--profile".into(), self.profile.clone()]);
        }
        a.extend(self.selection());
        a
    }
}

/// The toolchain that builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// `rustc -vV`, trimmed.
    pub rustc_vv: String,
    /// `cargo -V`, trimmed.
    pub cargo_v: String,
    /// `release:` from `rustc -vV`.
    pub release: String,
    /// `commit-hash:` from `rustc -vV`.
    pub commit: Option<String>,
    /// `host:` from `rustc -vV`.
    pub host: String,
    /// `rustc --print sysroot`.
    pub sysroot: PathBuf,
}

fn output_of(cmd: &mut Command, what: &str) -> Result<String> {
    let out = scrub(cmd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The cargo binary: `$CARGO` or `cargo`.
pub fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "cargo".into())
}

fn rustc_program() -> std::ffi::OsString {
    std::env::var_os("RUSTC")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "rustc".into())
}

impl Toolchain {
    /// Ask the toolchain in effect in `dir` (rust-toolchain.toml applies).
    pub fn detect(dir: &Path) -> Result<Toolchain> {
        // Three short processes (each through rustup's proxy): run them side by side.
        let (rustc_vv, cargo_v, sysroot) = std::thread::scope(|s| {
            let vv = s.spawn(|| {
                output_of(
                    Command::new(rustc_program()).arg("-vV").current_dir(dir),
                    "`rustc -vV`",
                )
            });
            let cv = s.spawn(|| {
                output_of(
                    Command::new(cargo_program()).arg("-V").current_dir(dir),
                    "`cargo -V`",
                )
            });
            let sr = output_of(
                Command::new(rustc_program())
                    .args(["--print", "sysroot"])
                    .current_dir(dir),
                "`rustc --print sysroot`",
            );
            let join = |h: std::thread::ScopedJoinHandle<'_, Result<String>>| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a toolchain query panicked")))
            };
            (join(vv), join(cv), sr)
        });
        let (rustc_vv, cargo_v, sysroot) = (rustc_vv?, cargo_v?, sysroot?);
        let field = |k: &str| {
            rustc_vv
                .lines()
                .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
        };
        Ok(Toolchain {
            release: field("release:").unwrap_or_default(),
            commit: field("commit-hash:").filter(|c| c != "unknown"),
            host: field("host:").unwrap_or_default(),
            rustc_vv: rustc_vv.clone(),
            cargo_v,
            sysroot: PathBuf::from(sysroot),
        })
    }
}

/// Where the source came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `git+https://host/owner/repo` (or `git+file:///…` without a remote); `None` outside git.
    pub repo: Option<String>,
    /// The ref built (`refs/heads/main`, `refs/tags/v1.0.0`), when known.
    pub git_ref: Option<String>,
    /// The commit.
    pub commit: Option<String>,
    /// Commit time (Unix seconds).
    pub commit_time: Option<i64>,
    /// Tracked files differ from the commit.
    pub dirty: bool,
    /// What `git status` lists (`M src/main.rs`, `?? notes.txt`), for messages.
    pub changed: Vec<String>,
    /// Tracked files git was told not to look at (`update-index --assume-unchanged` or
    /// `--skip-worktree`): `git status` cannot vouch for them, so they count as changes.
    pub unwatched: Vec<String>,
    /// The git work tree's top directory.
    pub toplevel: Option<PathBuf>,
}

impl Source {
    /// `git+URL@REF` (or `git+URL` without a ref).
    pub fn uri(&self) -> Option<String> {
        let repo = self.repo.as_ref()?;
        Some(match &self.git_ref {
            Some(r) => format!("{repo}@{r}"),
            None => repo.clone(),
        })
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = scrub(&mut Command::new("git"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Normalise a git remote URL to `https://host/path` without `.git` (scp-like `git@host:o/r`
/// and `ssh://` forms included; credentials dropped).
pub fn normalize_repo_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let url = url.strip_prefix("git+").unwrap_or(url);
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return format!("file://{rest}");
        }
        // Credentials and ports live in the authority only (before the first '/').
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or(authority);
        let (scheme, host) = match scheme {
            // ssh and git URLs name a host we reach over https; their port is not the web's.
            "ssh" | "git" => ("https", host.split(':').next().unwrap_or(host)),
            s => (s, host),
        };
        return format!("{scheme}://{host}/{path}")
            .trim_end_matches('/')
            .to_string();
    }
    // scp-like: user@host:path
    if let Some((host, path)) = url.split_once(':')
        && !host.contains('/')
    {
        let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
        return format!("https://{host}/{}", path.trim_start_matches('/'));
    }
    url.to_string()
}

impl Source {
    /// Describe the source of `dir`: in GitHub Actions from `GITHUB_SERVER_URL`,
    /// `GITHUB_REPOSITORY`, `GITHUB_REF` and `GITHUB_SHA` (checked against HEAD), else from git.
    pub fn detect(dir: &Path) -> Source {
        let toplevel = git(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
        let Some(top) = toplevel.clone() else {
            return Source {
                repo: None,
                git_ref: None,
                commit: None,
                commit_time: None,
                dirty: false,
                changed: Vec::new(),
                unwatched: Vec::new(),
                toplevel: None,
            };
        };
        // Independent queries, side by side.
        let (commit, commit_time, status, origin, symbolic, tag, flags) = std::thread::scope(|s| {
            let q = |args: &'static [&'static str]| {
                let top = &top;
                s.spawn(move || git(top, args))
            };
            let handles = [
                q(&["rev-parse", "--verify", "-q", "HEAD"]),
                q(&["log", "-1", "--format=%ct", "HEAD"]),
                // Untracked files count: an untracked .cargo/config.toml or an include_bytes!
                // target changes the build as much as an edit does. An fsmonitor hook or the
                // untracked cache would let git answer from a cache: both off.
                q(&[
                    "-c",
                    "core.fsmonitor=false",
                    "-c",
                    "core.untrackedCache=false",
                    "status",
                    "--porcelain",
                    "--untracked-files=normal",
                    "--ignore-submodules=none",
                ]),
                q(&["remote", "get-url", "origin"]),
                q(&["symbolic-ref", "-q", "HEAD"]),
                q(&["describe", "--tags", "--exact-match", "HEAD"]),
                // Per-file flags: lowercase tags are assume-unchanged, `S` skip-worktree.
                q(&["ls-files", "-v", "-z"]),
            ];
            let mut r = handles.map(|h| h.join().ok().flatten());
            (
                r[0].take(),
                r[1].take().and_then(|t| t.parse::<i64>().ok()),
                r[2].take(),
                r[3].take(),
                r[4].take(),
                r[5].take(),
                r[6].take(),
            )
        });
        // Without the per-file flags, git cannot vouch for the tree.
        let flags_known = flags.is_some();
        let unwatched: Vec<String> = flags
            .unwrap_or_default()
            .split('\0')
            .filter_map(|entry| {
                let (tag, path) = entry.split_once(' ')?;
                (tag == "S" || tag.chars().all(|c| c.is_ascii_lowercase()))
                    .then(|| path.to_string())
            })
            .collect();
        // A status git could not give is not a clean one.
        let dirty = status.as_ref().map(|s| !s.is_empty()).unwrap_or(true)
            || !unwatched.is_empty()
            || !flags_known;
        let changed: Vec<String> = status
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        // A repository without a commit has no source to name: recorded as unknown, so no
        // policy on the source can pass.
        if commit.is_none() {
            return Source {
                repo: None,
                git_ref: None,
                commit: None,
                commit_time: None,
                dirty: true,
                changed,
                unwatched,
                toplevel: Some(top),
            };
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let in_actions = env("GITHUB_ACTIONS").as_deref() == Some("true");
        let (repo, git_ref) = match (
            in_actions,
            env("GITHUB_SERVER_URL"),
            env("GITHUB_REPOSITORY"),
        ) {
            (true, Some(server), Some(repository))
                if env("GITHUB_SHA").is_none() || env("GITHUB_SHA") == commit =>
            {
                (
                    Some(format!(
                        "git+{}/{}",
                        server.trim_end_matches('/'),
                        repository
                    )),
                    env("GITHUB_REF"),
                )
            }
            _ => {
                let repo = origin
                    .map(|u| format!("git+{}", normalize_repo_url(&u)))
                    .unwrap_or_else(|| format!("git+file://{}", top.display()));
                let git_ref = symbolic.or_else(|| tag.map(|t| format!("refs/tags/{t}")));
                (Some(repo), git_ref)
            }
        };
        Source {
            repo,
            git_ref,
            commit,
            commit_time,
            dirty,
            changed,
            unwatched,
            toplevel,
        }
    }
}

/// The environment and flags a reproducible build runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReproEnv {
    /// Variables set for cargo (sorted); rustc flags go in `CARGO_ENCODED_RUSTFLAGS`
    /// (`\x1f`-separated), so paths with spaces stay one flag.
    pub vars: BTreeMap<String, String>,
    /// The rustc flags as recorded: machine paths replaced by `$WORKSPACE`, `$TARGET_DIR`,
    /// `$CARGO_HOME`, `$SYSROOT`, `$HOME`.
    pub recorded_rustflags: Vec<String>,
    /// The machine paths and their placeholders, longest first (to record other values).
    pub placeholders: Vec<(String, &'static str)>,
}

impl ReproEnv {
    /// `text` with this build's machine paths replaced by their placeholders.
    pub fn without_paths(&self, text: &str) -> String {
        to_placeholders(text, &self.placeholders)
    }
}

/// Remove every secret variable from a child's environment: [`crate::secrets::STASHED`] (the
/// binaries already took those out of their own environment at startup; this also protects
/// library embedders) and every `AWS_*` variable — credentials, container and web-identity
/// tokens alike (`verify --lambda-function --rebuild` holds them). Build scripts and
/// proc-macros are other people's code.
pub fn scrub(cmd: &mut Command) -> &mut Command {
    for k in crate::secrets::STASHED {
        cmd.env_remove(k);
    }
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("AWS_")) {
            cmd.env_remove(&k);
        }
    }
    cmd
}

/// `CARGO_HOME` as cargo resolves it.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// The rustc flags already in the environment, as cargo would read them: the
/// `\x1f`-separated `CARGO_ENCODED_RUSTFLAGS`, else whitespace-separated `RUSTFLAGS`.
pub fn ambient_rustflags() -> Vec<String> {
    match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(v) if !v.is_empty() => v.split('\x1f').map(str::to_string).collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    }
}

/// The machine paths a build's flags may name, longest first, each with the placeholder it is
/// recorded as. Only the first four are remapped in the binary; `$HOME` is mapped in the record
/// only, so no home directory is published.
fn path_placeholders(
    root: &Path,
    target_dir: &Path,
    toolchain: &Toolchain,
) -> Vec<(String, &'static str)> {
    let mut maps: Vec<(String, &'static str)> = vec![
        (toolchain.sysroot.display().to_string(), "$SYSROOT"),
        (root.display().to_string(), "$WORKSPACE"),
        (target_dir.display().to_string(), "$TARGET_DIR"),
    ];
    if let Some(home) = cargo_home() {
        maps.push((home.display().to_string(), "$CARGO_HOME"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| h.len() > 1) {
        maps.push((PathBuf::from(home).display().to_string(), "$HOME"));
    }
    maps.retain(|(p, _)| p.len() > 1);
    maps.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    maps
}

/// `text` with every machine path in `maps` replaced by its placeholder (longest first, so a
/// target dir inside the workspace is named as the target dir).
fn to_placeholders(text: &str, maps: &[(String, &'static str)]) -> String {
    let mut out = text.to_string();
    for (path, name) in maps {
        out = out.replace(path.as_str(), name);
    }
    out
}

/// `text` with the placeholders of a record expanded to this machine's paths.
fn from_placeholders(text: &str, maps: &[(String, &'static str)]) -> String {
    let mut out = text.to_string();
    for (path, name) in maps {
        out = out.replace(name, path);
    }
    out
}

/// The reproducibility settings for building `root` into `target_dir` with `toolchain`, on top
/// of `base_rustflags` (the user's, or a record's, whose `$WORKSPACE`-style placeholders are
/// expanded to this machine's paths). `epoch` is `SOURCE_DATE_EPOCH` (from the commit, or as
/// recorded). The recorded flags name no machine path: every one is replaced by its
/// placeholder.
pub fn repro_env(
    root: &Path,
    target_dir: &Path,
    toolchain: &Toolchain,
    epoch: Option<i64>,
    base_rustflags: &[String],
) -> ReproEnv {
    let placeholders = path_placeholders(root, target_dir, toolchain);
    let mut maps: Vec<(PathBuf, &str, &str)> = vec![
        (toolchain.sysroot.clone(), "/slsa/rustc", "$SYSROOT"),
        (root.to_path_buf(), "/slsa/src", "$WORKSPACE"),
        (target_dir.to_path_buf(), "/slsa/target", "$TARGET_DIR"),
    ];
    if let Some(home) = cargo_home() {
        maps.push((home, "/slsa/cargo", "$CARGO_HOME"));
    }
    // rustc applies the last matching mapping: shortest prefix first, so the most specific
    // one (a target dir or CARGO_HOME inside the workspace) wins.
    maps.sort_by_key(|(p, _, _)| p.as_os_str().len());
    let mut flags: Vec<String> = base_rustflags
        .iter()
        .map(|f| from_placeholders(f, &placeholders))
        .collect();
    let mut recorded: Vec<String> = flags
        .iter()
        .map(|f| to_placeholders(f, &placeholders))
        .collect();
    for (from, to, name) in &maps {
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        recorded.push(format!("--remap-path-prefix={name}={to}"));
    }
    let mut vars = BTreeMap::new();
    vars.insert("CARGO_ENCODED_RUSTFLAGS".to_string(), flags.join("\x1f"));
    vars.insert("CARGO_INCREMENTAL".to_string(), "0".to_string());
    vars.insert("TZ".to_string(), "UTC".to_string());
    vars.insert("LC_ALL".to_string(), "C".to_string());
    if let Some(e) = epoch {
        vars.insert("SOURCE_DATE_EPOCH".to_string(), e.to_string());
    }
    ReproEnv {
        vars,
        recorded_rustflags: recorded,
        placeholders,
    }
}

/// The recorded rustc flags of a build, without the remaps we add: the base for a rebuild.
pub fn base_flags_of_record(recorded: &[String]) -> Vec<String> {
    recorded
        .iter()
        .filter(|f| !f.starts_with("--remap-path-prefix=$"))
        .cloned()
        .collect()
}

/// The environment variables recorded with the build, without the rustc flags (recorded as a
/// list beside them).
pub fn recorded_env(env: &ReproEnv) -> BTreeMap<String, String> {
    let mut out = env.vars.clone();
    out.remove("CARGO_ENCODED_RUSTFLAGS");
    out
}

/// How an ambient variable is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// The value, with machine paths replaced by placeholders (tool paths, profile settings:
    /// values that select a build, never credentials).
    Value,
    /// Only that it was set: flags (`CFLAGS`, `LDFLAGS`, a target's `RUSTFLAGS`) can carry
    /// `-DAPI_KEY=…` or a licence server's address.
    Presence,
}

/// Whether `name` is a build-affecting variable we record, and how. An exact allowlist by
/// name: the per-target forms only for the host and target triples of this build, so
/// `CC_TEST_REPORTER_ID` (a secret that merely starts like `CC_<triple>`) is never recorded.
fn ambient_rule(name: &str, triples: &[&str]) -> Option<Record> {
    const VALUES: &[&str] = &[
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_BOOTSTRAP",
        "CC",
        "CXX",
        "AR",
        "CARGO_BUILD_TARGET",
    ];
    const PRESENCE: &[&str] = &["CFLAGS", "CXXFLAGS", "LDFLAGS", "CARGO_BUILD_RUSTFLAGS"];
    const PROFILE: &[&str] = &[
        "OPT_LEVEL",
        "DEBUG",
        "SPLIT_DEBUGINFO",
        "STRIP",
        "DEBUG_ASSERTIONS",
        "OVERFLOW_CHECKS",
        "LTO",
        "PANIC",
        "INCREMENTAL",
        "CODEGEN_UNITS",
        "RPATH",
        "CODEGEN_BACKEND",
    ];
    if VALUES.contains(&name) {
        return Some(Record::Value);
    }
    if PRESENCE.contains(&name) {
        return Some(Record::Presence);
    }
    if let Some(key) = name.strip_prefix("CARGO_PROFILE_RELEASE_")
        && PROFILE.contains(&key)
    {
        return Some(Record::Value);
    }
    for t in triples {
        let upper = t.to_ascii_uppercase().replace(['-', '.'], "_");
        let under = t.replace(['-', '.'], "_");
        for tool in ["CC", "CXX", "AR"] {
            if name == format!("{tool}_{t}") || name == format!("{tool}_{under}") {
                return Some(Record::Value);
            }
        }
        for flags in ["CFLAGS", "CXXFLAGS"] {
            if name == format!("{flags}_{t}") || name == format!("{flags}_{under}") {
                return Some(Record::Presence);
            }
        }
        if name == format!("CARGO_TARGET_{upper}_LINKER")
            || name == format!("CARGO_TARGET_{upper}_AR")
        {
            return Some(Record::Value);
        }
        if name == format!("CARGO_TARGET_{upper}_RUSTFLAGS") {
            return Some(Record::Presence);
        }
    }
    None
}

/// Variables of the environment that change what cargo and build scripts do, recorded so a
/// reader knows what else was set: an exact allowlist of names ([`ambient_rule`]); values only
/// for those that cannot hold secrets, with machine paths mapped as in the rustc flags;
/// flags as `(set)`.
pub fn ambient_build_env(env: &ReproEnv, triples: &[&str]) -> BTreeMap<String, String> {
    std::env::vars()
        .filter_map(|(k, v)| match ambient_rule(&k, triples)? {
            Record::Value => Some((k, env.without_paths(&v))),
            Record::Presence => Some((k, "(set)".to_string())),
        })
        .collect()
}

/// One built executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The binary target's name.
    pub name: String,
    /// Where cargo put it.
    pub path: PathBuf,
}

/// A cargo message we read: executables of workspace members.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    target: Option<MessageTarget>,
}

#[derive(Deserialize)]
struct MessageTarget {
    name: String,
    #[serde(default)]
    kind: Vec<String>,
}

/// Run the reproducible build of `spec` for the workspace whose manifest is `manifest`, into
/// `target_dir`. Cargo's diagnostics go to our stderr (it is the user's build); the executables
/// are returned sorted by name.
pub fn build(
    manifest: &Path,
    target_dir: &Path,
    spec: &BuildSpec,
    env: &ReproEnv,
    offline: bool,
    quiet: bool,
) -> Result<Vec<Built>> {
    let root = manifest.parent().unwrap_or(Path::new("."));
    let mut cmd = Command::new(cargo_program());
    cmd.args(spec.cargo_args(manifest, target_dir))
        .current_dir(root)
        .envs(&env.vars)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    if offline {
        cmd.arg("--offline");
    }
    scrub(&mut cmd);
    let out = cmd
        .output()
        .map_err(|e| anyhow!("cannot run cargo build: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "cargo build failed{}",
            if err.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", err.trim())
            }
        );
    }
    let mut built = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        if msg.reason != "compiler-artifact" {
            continue;
        }
        if let (Some(exe), Some(t)) = (msg.executable, msg.target)
            && t.kind.iter().any(|k| k == "bin")
        {
            // Subjects are named by file name (`app`, `app.exe`), as a downloader sees them.
            let name = exe
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(t.name);
            built.push(Built { name, path: exe });
        }
    }
    built.sort_by(|a, b| a.name.cmp(&b.name));
    built.dedup();
    if built.is_empty() {
        bail!(
            "cargo build produced no executables to attest{}; pass --bin or attest files with \
             --artifact",
            spec.package
                .as_ref()
                .map(|p| format!(" for package `{p}`"))
                .unwrap_or_default()
        );
    }
    Ok(built)
}

/// Lowercase hex SHA-256 of a file, streamed (aws-lc-rs: SHA extensions where the CPU has them;
/// release artifacts are tens of megabytes).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// Copy the source tree at `top` (the git top level, or the workspace root outside git) to
/// `dest`: with git, the files git knows about (tracked plus untracked-but-not-ignored) as they
/// are in the work tree; without git, everything but `target/` and `.git/`.
pub fn copy_clean_tree(top: &Path, dest: &Path, with_git: bool) -> Result<()> {
    let files: Vec<PathBuf> = if with_git {
        let out = Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(top)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| anyhow!("cannot run git ls-files: {e}"))?;
        if !out.status.success() {
            bail!(
                "git ls-files failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        out.stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .collect()
    } else {
        let mut v = Vec::new();
        walk(top, Path::new(""), &mut v)?;
        v
    };
    for rel in files {
        let from = top.join(&rel);
        let to = dest.join(&rel);
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            continue; // deleted in the work tree but still in the index
        };
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        if meta.file_type().is_symlink() {
            #[cfg(unix)]
            {
                let target = std::fs::read_link(&from)?;
                std::os::unix::fs::symlink(target, &to)
                    .with_context(|| format!("linking {}", to.display()))?;
            }
        } else if meta.is_file() {
            std::fs::copy(&from, &to)
                .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(root.join(rel))
        .with_context(|| format!("reading {}", root.join(rel).display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if rel.as_os_str().is_empty() && (name == "target" || name == ".git") {
            continue;
        }
        let path = rel.join(&name);
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether `rel` (relative to the git top level `top`) is tracked by git.
pub fn is_tracked(top: &Path, rel: &Path) -> bool {
    scrub(&mut Command::new("git"))
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(rel)
        .current_dir(top)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `s` is a full git object id (SHA-1 or SHA-256, lowercase hex).
pub fn is_commit_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Check out commit `commit` of the repository at `top` into `dest` (a fresh directory),
/// exactly as committed (no export-ignore or export-subst rewriting, unlike `git archive`),
/// using a throw-away index so the clone's own index and work tree are untouched.
pub fn export_commit(top: &Path, commit: &str, dest: &Path) -> Result<()> {
    if !is_commit_id(commit) {
        bail!("the recorded commit {commit:?} is not a full git commit id");
    }
    let index = dest.with_extension("index");
    let out = scrub(&mut Command::new("git"))
        .arg("--work-tree")
        .arg(dest)
        .args([
            "checkout",
            "--force",
            &format!("{commit}^{{commit}}"),
            "--",
            ".",
        ])
        .env("GIT_INDEX_FILE", &index)
        .current_dir(top)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run git checkout: {e}"))?;
    let _ = std::fs::remove_file(&index);
    if !out.status.success() {
        bail!(
            "cannot check out commit {commit} (is it in this clone? fetch it first): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_urls_normalise() {
        for (input, want) in [
            ("git@github.com:o/r.git", "https://github.com/o/r"),
            ("https://github.com/o/r.git", "https://github.com/o/r"),
            ("ssh://git@github.com/o/r", "https://github.com/o/r"),
            ("https://user:tok@github.com/o/r/", "https://github.com/o/r"),
            ("ssh://git@github.com:22/o/r.git", "https://github.com/o/r"),
            (
                "https://github.com/o/r@weird",
                "https://github.com/o/r@weird",
            ),
            ("http://git.internal/o/r", "http://git.internal/o/r"),
            ("git+https://github.com/o/r", "https://github.com/o/r"),
            ("file:///srv/repo", "file:///srv/repo"),
        ] {
            assert_eq!(normalize_repo_url(input), want, "{input}");
        }
    }

    #[test]
    fn spec_command_line() {
        let s = BuildSpec {
            package: Some("svc".into()),
            bins: vec!["a".into()],
            target: Some("x86_64-unknown-linux-musl".into()),
            features: vec!["f1".into(), "f2".into()],
            profile: "release".into(),
            ..BuildSpec::default()
        };
        assert_eq!(
            s.display_command().join(" "),
            "cargo build --locked --release -p svc --bin a --target x86_64-unknown-linux-musl --features f1,f2"
        );
    }
}
