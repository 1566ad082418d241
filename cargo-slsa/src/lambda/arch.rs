//! Lambda architectures and the Rust targets that build for them, checked before any build:
//! a target whose standard library is not installed, or a cross target with no linker set, is
//! an input error naming the fix, not a failure ten minutes into `cargo build`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Result, anyhow, bail};

/// A Lambda instruction set architecture, as `GetFunction` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// x86_64 (the Lambda default).
    #[value(name = "x86_64")]
    X86_64,
    /// arm64 (Graviton).
    #[value(name = "arm64")]
    Arm64,
}

impl Arch {
    /// The name AWS uses (`x86_64`, `arm64`).
    pub fn aws_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The default Rust target for the `provided.al2023` / `provided.al2` runtimes.
    pub fn default_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The architecture a target triple builds for, if Lambda runs it (Linux only).
    pub fn of_target(triple: &str) -> Option<Arch> {
        let mut parts = triple.split('-');
        let cpu = parts.next()?;
        if !triple.contains("-linux-") {
            return None;
        }
        match cpu {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }
}

/// The target to build: `--target` if given (it must be a Linux target of `arch` when both are
/// given), else the default target of `arch` (x86_64 when neither is given).
pub fn resolve(arch: Option<Arch>, target: Option<&str>) -> Result<(Arch, String)> {
    match (arch, target) {
        (Some(a), Some(t)) => match Arch::of_target(t) {
            Some(ta) if ta == a => Ok((a, t.to_string())),
            Some(ta) => bail!(
                "--target {t} builds for {}, but --lambda-arch is {}",
                ta.aws_name(),
                a.aws_name()
            ),
            None => {
                bail!("--target {t} is not a Linux x86_64 or aarch64 target: Lambda cannot run it")
            }
        },
        (None, Some(t)) => Arch::of_target(t)
            .map(|a| (a, t.to_string()))
            .ok_or_else(|| {
                anyhow!(
                    "--target {t} is not a Linux x86_64 or aarch64 target: Lambda cannot run it"
                )
            }),
        (a, None) => {
            let a = a.unwrap_or(Arch::X86_64);
            Ok((a, a.default_target().to_string()))
        }
    }
}

/// The standard library directory of `target` for the toolchain in effect in `dir`, if the
/// target is installed.
fn target_libdir(dir: &Path, rustc: &std::ffi::OsStr, target: &str) -> Option<PathBuf> {
    let out = crate::build::scrub(&mut Command::new(rustc))
        .args(["--print", "target-libdir", "--target", target])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = std::fs::read_dir(&p).ok()?.flatten().any(|e| {
        let n = e.file_name();
        let n = n.to_string_lossy();
        n.starts_with("libstd-") && n.ends_with(".rlib")
    });
    has_std.then_some(p)
}

/// Where a linker for `target` is configured: the `CARGO_TARGET_<TRIPLE>_LINKER` variable, a
/// `-C linker=` rustc flag, or `[target.<triple>] linker` in a cargo configuration file that
/// cargo reads from `dir` (its ancestors and `CARGO_HOME`).
pub fn configured_linker(dir: &Path, target: &str, rustflags: &[String]) -> Option<String> {
    let var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_ascii_uppercase().replace(['-', '.'], "_")
    );
    if let Ok(v) = std::env::var(&var)
        && !v.trim().is_empty()
    {
        return Some(format!("{var}={v}"));
    }
    let mut prev_c = false;
    for f in rustflags {
        if f.starts_with("-Clinker=")
            || f.starts_with("-C linker=")
            || (prev_c && f.starts_with("linker="))
        {
            return Some(format!("rustc flag {f}"));
        }
        prev_c = f == "-C";
    }
    let mut files = Vec::new();
    let mut d = Some(dir);
    while let Some(x) = d {
        files.push(x.join(".cargo/config.toml"));
        files.push(x.join(".cargo/config"));
        d = x.parent();
    }
    if let Some(home) = crate::build::cargo_home() {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
            continue;
        };
        if doc
            .get("target")
            .and_then(|t| t.get(target))
            .and_then(|t| t.get("linker"))
            .and_then(|l| l.as_str())
            .is_some()
        {
            return Some(f.display().to_string());
        }
    }
    None
}

/// Check, before building, that `target` can be built in `dir`: its standard library is
/// installed and, when it is for another architecture than the host's, a linker is configured.
pub fn check_buildable(dir: &Path, target: &str, host: &str, rustflags: &[String]) -> Result<()> {
    let rustc = std::env::var_os("RUSTC")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "rustc".into());
    if target_libdir(dir, &rustc, target).is_none() {
        bail!(
            "the Rust target {target} is not installed for this toolchain: run `rustup target \
             add {target}` (in the workspace, so rust-toolchain.toml applies) and try again"
        );
    }
    // Another libc of the host's architecture (x86_64-unknown-linux-musl on an x86_64 host)
    // links with the host's cc and rustc's self-contained objects; another architecture needs
    // a cross linker.
    let cross = Arch::of_target(target) != Arch::of_target(host);
    if cross && configured_linker(dir, target, rustflags).is_none() {
        let gcc = match Arch::of_target(target) {
            Some(Arch::Arm64) => "aarch64-linux-gnu-gcc",
            _ => "x86_64-linux-gnu-gcc",
        };
        bail!(
            "no linker is set for {target} (cross-compiling from {host}): install a cross \
             linker (Debian/Ubuntu: gcc-{}) and set CARGO_TARGET_{}_LINKER={gcc}, or [target.{target}] \
             linker = \"{gcc}\" in .cargo/config.toml; or build on a {} runner",
            gcc.trim_end_matches("-gcc"),
            target.to_ascii_uppercase().replace('-', "_"),
            Arch::of_target(target)
                .map(Arch::aws_name)
                .unwrap_or("matching")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_architectures() {
        assert_eq!(
            resolve(None, None).expect("default"),
            (Arch::X86_64, "x86_64-unknown-linux-gnu".into())
        );
        assert_eq!(
            resolve(Some(Arch::Arm64), None).expect("arm"),
            (Arch::Arm64, "aarch64-unknown-linux-gnu".into())
        );
        assert_eq!(
            resolve(None, Some("aarch64-unknown-linux-musl"))
                .expect("musl")
                .0,
            Arch::Arm64
        );
        assert!(resolve(Some(Arch::X86_64), Some("aarch64-unknown-linux-gnu")).is_err());
        assert!(resolve(None, Some("x86_64-pc-windows-msvc")).is_err());
        assert!(resolve(None, Some("wasm32-unknown-unknown")).is_err());
    }

    #[test]
    fn linkers_are_found_in_flags_and_config() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = "aarch64-unknown-linux-gnu";
        assert!(
            configured_linker(dir.path(), t, &["-Clinker=aarch64-linux-gnu-gcc".into()]).is_some()
        );
        assert!(configured_linker(dir.path(), t, &["-C".into(), "linker=x".into()]).is_some());
        let nested = dir.path().join("ws");
        std::fs::create_dir_all(dir.path().join(".cargo")).expect("mkdir");
        std::fs::create_dir_all(&nested).expect("mkdir");
        std::fs::write(
            dir.path().join(".cargo/config.toml"),
            "[target.aarch64-unknown-linux-gnu]\nlinker = \"aarch64-linux-gnu-gcc\"\n",
        )
        .expect("write");
        assert!(
            configured_linker(&nested, t, &[]).is_some(),
            "an ancestor's config counts"
        );
        assert!(configured_linker(&nested, "aarch64-unknown-linux-musl", &[]).is_none());
    }
}
