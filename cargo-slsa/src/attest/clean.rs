//! What besides the commit can change a build, found before building: cargo configuration files
//! that are not part of the commit.
//!
//! Also ignored source files ([`ignored_sources`]): a `build.rs`, a module or a manifest that
//! `.gitignore` or `.git/info/exclude` hides from `git status` is still compiled.
//!
//! Cargo reads `.cargo/config.toml` (and the legacy `.cargo/config`) in the directory it runs
//! in and every ancestor, then `$CARGO_HOME/config.toml`. One that git ignores (through
//! `.gitignore`, `.git/info/exclude` or a global excludes file) does not show in `git status`
//! yet can set a linker, a rustc wrapper, environment variables or profile settings. So:
//! - inside the repository, a configuration file that is not tracked makes the source dirty
//!   (`source-dirty`, naming the file): the commit does not describe the build;
//! - outside it (the machine's own configuration), each file is recorded in the provenance
//!   with its sha256 under a name without machine paths (`$CARGO_HOME/config.toml`,
//!   `$REPOSITORY/../.cargo/config.toml`), so a reader sees that it existed and can compare.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::build;

/// The cargo configuration files a build in `root` reads.
#[derive(Debug, Default)]
pub struct Configs {
    /// Inside the repository and not tracked by git.
    pub untracked: Vec<PathBuf>,
    /// Outside the repository: (recorded name, sha256).
    pub outside: Vec<(String, String)>,
}

/// Look for the configuration files of a build in `root` (the workspace), in the repository
/// whose top level is `top` (if any).
pub fn cargo_configs(root: &Path, top: Option<&Path>) -> Result<Configs> {
    let mut out = Configs::default();
    let mut seen: Vec<PathBuf> = Vec::new();
    let top_c = top.map(|t| t.canonicalize().unwrap_or_else(|_| t.to_path_buf()));
    let root_c = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut candidates: Vec<(PathBuf, Option<String>)> = Vec::new();
    let mut dir = Some(root_c.as_path());
    while let Some(d) = dir {
        let inside = top_c.as_ref().is_some_and(|t| d.starts_with(t));
        let (base, anchor) = match &top_c {
            Some(t) => ("$REPOSITORY", t.as_path()),
            None => ("$WORKSPACE", root_c.as_path()),
        };
        let up = anchor
            .components()
            .count()
            .saturating_sub(d.components().count());
        for name in [".cargo/config.toml", ".cargo/config"] {
            let outside_name = (!inside).then(|| format!("{base}/{}{name}", "../".repeat(up)));
            candidates.push((d.join(name), outside_name));
        }
        dir = d.parent();
    }
    if let Some(home) = build::cargo_home() {
        for name in ["config.toml", "config"] {
            candidates.push((home.join(name), Some(format!("$CARGO_HOME/{name}"))));
        }
    }
    for (path, outside_name) in candidates {
        if !path.is_file() {
            continue;
        }
        let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
        if seen.contains(&canon) {
            continue;
        }
        seen.push(canon.clone());
        match (outside_name, &top_c) {
            (None, Some(t)) => {
                let rel = canon.strip_prefix(t).unwrap_or(&canon);
                if !build::is_tracked(t, rel) {
                    out.untracked.push(path);
                }
            }
            (Some(name), _) => out.outside.push((name, build::sha256_file(&path)?)),
            (None, None) => {}
        }
    }
    Ok(out)
}

/// Whether cargo would read a file of this name as source: Rust code, a manifest, a toolchain
/// file.
fn is_source_name(name: &str) -> bool {
    name.ends_with(".rs")
        || matches!(
            name,
            "Cargo.toml" | "Cargo.lock" | "rust-toolchain" | "rust-toolchain.toml"
        )
}

/// Ignored files in the repository that cargo would read as source (a `build.rs`, a module, a
/// manifest that `.gitignore` or `.git/info/exclude` hides): what `git status` cannot show
/// still changes the build. Build output and dependency directories are passed over.
pub fn ignored_sources(top: &Path, target_dir: &Path) -> Vec<PathBuf> {
    let out = build::scrub(&mut std::process::Command::new("git"))
        .args([
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
        ])
        .current_dir(top)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let Ok(out) = out else {
        return Vec::new();
    };
    let target_c = target_dir
        .canonicalize()
        .unwrap_or_else(|_| target_dir.to_path_buf());
    let mut found = Vec::new();
    for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let rel = String::from_utf8_lossy(entry).into_owned();
        let path = top.join(&rel);
        if rel.ends_with('/') {
            let name = rel.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            let skip = matches!(name, "target" | "node_modules" | ".git")
                || path.canonicalize().is_ok_and(|p| p.starts_with(&target_c));
            if !skip {
                let mut budget = 20_000usize;
                walk_sources(&path, 0, &mut budget, &mut found);
            }
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_source_name)
        {
            found.push(path);
        }
        if found.len() >= 5 {
            break;
        }
    }
    found
}

fn walk_sources(dir: &Path, depth: usize, budget: &mut usize, found: &mut Vec<PathBuf>) {
    if depth > 8 || *budget == 0 || found.len() >= 5 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        *budget = budget.saturating_sub(1);
        if *budget == 0 {
            return;
        }
        let path = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk_sources(&path, depth + 1, budget, found);
        } else if e.file_name().to_str().is_some_and(is_source_name) {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_outside_the_repository_are_named_without_machine_paths() {
        let dir = tempfile::tempdir().expect("tmp");
        let repo = dir.path().join("repo");
        let ws = repo.join("ws");
        std::fs::create_dir_all(&ws).expect("mkdir");
        std::fs::create_dir_all(dir.path().join(".cargo")).expect("mkdir");
        std::fs::write(dir.path().join(".cargo/config.toml"), "[env]\nX = \"1\"\n").expect("w");
        let c = cargo_configs(&ws, Some(&repo)).expect("configs");
        assert!(c.untracked.is_empty());
        assert_eq!(c.outside.len(), 1, "{:?}", c.outside);
        assert_eq!(c.outside[0].0, "$REPOSITORY/../.cargo/config.toml");
        assert!(!c.outside[0].0.contains(dir.path().to_str().expect("utf-8")));
    }
}
