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

mod env;
mod source;
mod tree;
pub use env::*;
pub use source::*;
pub use tree::*;

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
