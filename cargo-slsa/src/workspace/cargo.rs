//! Running cargo: the one place that spawns it, with `--offline` applied, stderr captured for
//! error messages, and a spinner while it works.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, anyhow};

use crate::progress::Progress;

/// `cargo metadata --locked` refused because the lock would change (or is missing).
#[derive(Debug)]
pub struct LockWouldChange {
    /// cargo's message.
    pub stderr: String,
}

/// A cargo binary and how to call it.
#[derive(Debug, Clone)]
pub struct Cargo {
    program: OsString,
    offline: bool,
    progress: Progress,
    envs: Vec<(OsString, OsString)>,
}

impl Cargo {
    /// The cargo of this invocation: `$CARGO` (set when run as `cargo slsa`), else `cargo`.
    pub fn new(offline: bool, progress: Progress) -> Self {
        let program = std::env::var_os("CARGO")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| OsString::from("cargo"));
        Cargo {
            program,
            offline,
            progress,
            envs: Vec::new(),
        }
    }

    /// Use this cargo binary instead of `$CARGO`.
    pub fn with_program(mut self, program: impl Into<OsString>) -> Self {
        self.program = program.into();
        self
    }

    /// Set an environment variable for every cargo run (e.g. `CARGO_HOME` for an embedder that
    /// cannot change its own environment).
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// A `cargo` command with `--offline` when asked for.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args).envs(self.envs.iter().map(|(k, v)| (k, v)));
        if self.offline {
            cmd.arg("--offline");
        }
        cmd
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<Output> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.progress.detail(&format!(
            "running: {} {}",
            cmd.get_program().to_string_lossy(),
            cmd.get_args()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let spinner = self.progress.spinner(what.to_string());
        let out = cmd.output();
        spinner.finish_and_clear();
        if let Ok(o) = &out {
            self.progress.detail(&String::from_utf8_lossy(&o.stderr));
        }
        out.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!(
                    "cannot run `{}`: not found. Install Rust with rustup, or set CARGO to cargo's path",
                    self.program.to_string_lossy()
                )
            } else {
                anyhow!("cannot run `{}`: {e}", self.program.to_string_lossy())
            }
        })
    }

    fn metadata_command(&self, manifest: &Path, no_deps: bool, locked: bool) -> Command {
        let mut mc = cargo_metadata::MetadataCommand::new();
        mc.cargo_path(&self.program).manifest_path(manifest);
        if no_deps {
            mc.no_deps();
        }
        let mut extra = Vec::new();
        if locked {
            extra.push("--locked".to_string());
        }
        if self.offline {
            extra.push("--offline".to_string());
        }
        mc.other_options(extra);
        let mut cmd = mc.cargo_command();
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// `cargo metadata --locked`: the JSON, or [`LockWouldChange`] when the lock is stale or
    /// missing. Other failures are errors carrying cargo's message.
    pub fn metadata_locked(&self, manifest: &Path) -> Result<Result<String, LockWouldChange>> {
        let out = self.run(
            self.metadata_command(manifest, false, true),
            "resolving dependencies (cargo metadata --locked)",
        )?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            return String::from_utf8(out.stdout)
                .map(Ok)
                .context("cargo metadata printed non-UTF-8 output");
        }
        if stderr.contains("--locked was passed") || stderr.contains("needs to be updated but") {
            return Ok(Err(LockWouldChange { stderr }));
        }
        Err(cargo_failed("cargo metadata", &stderr))
    }

    /// Cargo's lock check and nothing more: whether Cargo.lock satisfies the manifests, by
    /// `cargo update --workspace --locked` offline (resolution from the index cache alone, no
    /// package loaded) or `cargo fetch --locked` online (which also downloads what the lock
    /// names). [`LockWouldChange`] when cargo would have to change the lock.
    pub fn lock_check(&self, manifest: &Path) -> Result<Result<(), LockWouldChange>> {
        let mut cmd = Command::new(&self.program);
        if self.offline {
            cmd.args(["update", "--workspace", "--locked", "--offline"]);
        } else {
            cmd.args(["fetch", "--locked"]);
        }
        cmd.arg("--manifest-path")
            .arg(manifest)
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        let out = self.run(cmd, "checking Cargo.lock (cargo's lock check)")?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            return Ok(Ok(()));
        }
        if stderr.contains("--locked was passed") || stderr.contains("needs to be updated but") {
            return Ok(Err(LockWouldChange { stderr }));
        }
        Err(cargo_failed("cargo's lock check", &stderr))
    }

    /// `cargo metadata --no-deps`: members and root without resolving (never writes the lock).
    pub fn metadata_no_deps(&self, manifest: &Path) -> Result<String> {
        let out = self.run(
            self.metadata_command(manifest, true, false),
            "reading workspace members (cargo metadata --no-deps)",
        )?;
        if !out.status.success() {
            return Err(cargo_failed(
                "cargo metadata --no-deps",
                &String::from_utf8_lossy(&out.stderr),
            ));
        }
        String::from_utf8(out.stdout).context("cargo metadata printed non-UTF-8 output")
    }

    /// `cargo metadata` without `--locked`: cargo updates `Cargo.lock` minimally (only what the
    /// manifests now require) or creates it. The caller journals the lock around this.
    pub fn update_lock_minimally(&self, manifest: &Path) -> Result<String> {
        let out = self.run(
            self.metadata_command(manifest, false, false),
            "updating Cargo.lock (cargo metadata)",
        )?;
        if !out.status.success() {
            return Err(cargo_failed(
                "cargo metadata",
                &String::from_utf8_lossy(&out.stderr),
            ));
        }
        String::from_utf8(out.stdout).context("cargo metadata printed non-UTF-8 output")
    }
}

/// cargo's error, without the progress lines (`Updating …`, `Downloaded …`) that precede it.
fn cargo_failed(what: &str, stderr: &str) -> anyhow::Error {
    let start = stderr
        .lines()
        .position(|l| l.starts_with("error") || l.starts_with("warning"))
        .unwrap_or(0);
    let msg: Vec<&str> = stderr.lines().skip(start).collect();
    anyhow!("`{what}` failed:\n{}", msg.join("\n").trim())
}
