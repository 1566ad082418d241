//! Apply a plan to a work tree: requirements first (only where they no longer admit the new
//! version; the operator and the comments around the value are kept), then Cargo.lock through
//! `cargo update -p NAME@FROM --precise TO`, journaled so a killed run leaves the old lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, anyhow};
use semver::{Version, VersionReq};

use super::Update;
use super::codes::UpdateCode;
use crate::fsx;
use crate::report::{Change, Finding, Report};
use crate::workspace::manifest::set_requirement;
use crate::workspace::{Cargo, Manifest, Workspace};

/// The requirement to write for `to`, keeping the operator of `old` (`=1.2.3` → `=1.4.0`,
/// `~1.2` → `~1.4.0`, `1.2` / `^1.2` → `1.4.0`).
pub fn raised_requirement(old: &str, to: &Version) -> String {
    let t = old.trim();
    let op = ["=", "~", "^", ">="]
        .into_iter()
        .find(|op| t.starts_with(op))
        .unwrap_or("");
    let op = if op == ">=" { "" } else { op };
    format!("{op}{to}")
}

/// Edit the manifests of `updates` in `root` (paths in the plan are under `plan_root`; a
/// scratch copy passes its own root) and update the lock with cargo. Returns the files changed.
pub fn edit(
    cargo: &Cargo,
    plan_root: &Path,
    root: &Path,
    updates: &[&Update],
) -> Result<Vec<(PathBuf, String)>> {
    let mut by_manifest: BTreeMap<PathBuf, Vec<(&Update, &crate::workspace::DepDecl)>> =
        BTreeMap::new();
    for u in updates {
        for (path, d) in &u.decls {
            let rel = path.strip_prefix(plan_root).unwrap_or(path);
            by_manifest.entry(root.join(rel)).or_default().push((u, d));
        }
    }
    let mut changed = Vec::new();
    for (path, edits) in &by_manifest {
        let manifest = Manifest::load(path)?;
        let mut doc = manifest.to_mut()?;
        let mut what = Vec::new();
        for (u, d) in edits {
            let Some(old) = d.version.as_deref() else {
                continue;
            };
            let admits = VersionReq::parse(old).is_ok_and(|r| r.matches(&u.to));
            if admits {
                continue;
            }
            let new = raised_requirement(old, &u.to);
            if set_requirement(&mut doc, &d.path, &new) {
                what.push(format!("{} \"{old}\" -> \"{new}\"", d.package));
            }
        }
        if !what.is_empty() {
            fsx::write_atomic(path, doc.to_string().as_bytes())?;
            changed.push((
                path.clone(),
                format!("requirement raised: {}", what.join(", ")),
            ));
        }
    }
    let lock = root.join("Cargo.lock");
    let journal = fsx::ExternalWrite::begin(&lock)?;
    let result = (|| -> Result<()> {
        for u in updates {
            // A raised requirement makes cargo re-resolve that crate in an earlier step.
            let now = crate::workspace::Lockfile::load(&lock)?;
            let locked = |v: &Version| now.by_name(&u.name).any(|p| p.version == v.to_string());
            if locked(&u.to) && !locked(&u.from) {
                continue;
            }
            let spec = format!("{}@{}", u.name, u.from);
            let out = cargo
                .command(&[
                    "update",
                    "--manifest-path",
                    &root.join("Cargo.toml").display().to_string(),
                    "-p",
                    &spec,
                    "--precise",
                    &u.to.to_string(),
                ])
                .env_remove("CARGO_TARGET_DIR")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| anyhow!("cannot run cargo update: {e}"))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let start = err.find("error").unwrap_or(0);
                return Err(anyhow!(
                    "`cargo update -p {spec} --precise {}` failed:\n{}",
                    u.to,
                    err[start..].trim()
                ));
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => journal.commit()?,
        Err(e) => {
            journal.rollback()?;
            return Err(e);
        }
    }
    changed.push((
        lock,
        updates
            .iter()
            .map(|u| format!("{} {} -> {}", u.name, u.from, u.to))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    Ok(changed)
}

/// Apply `updates` to the workspace's own tree.
pub fn apply(cargo: &Cargo, ws: &Workspace, updates: &[Update], report: &mut Report) -> Result<()> {
    let all: Vec<&Update> = updates.iter().collect();
    for (file, description) in edit(cargo, &ws.root, &ws.root, &all)? {
        report.changes.push(Change { file, description });
    }
    Ok(())
}

/// `--check-cmd`: run it in the workspace root; a failure is a `check-failed` finding.
pub fn check_cmd(root: &Path, cmd: &str, report: &mut Report) -> Result<()> {
    let status = std::process::Command::new("sh")
        .args(["-c", cmd])
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .context("running --check-cmd")?;
    if !status.success() {
        report.findings.push(
            Finding::new(
                UpdateCode::CheckFailed.rule(),
                format!("`{cmd}` failed after the updates were applied ({status})"),
            )
            .with_fix(
                "inspect the failure; `git checkout -- Cargo.toml Cargo.lock` undoes the updates",
            ),
        );
    } else {
        report.notes.push(format!("`{cmd}` passed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_requirements_keep_the_operator() {
        let v = Version::parse("1.4.0").expect("v");
        assert_eq!(raised_requirement("=1.2.3", &v), "=1.4.0");
        assert_eq!(raised_requirement("~1.2", &v), "~1.4.0");
        assert_eq!(raised_requirement("^1.2", &v), "^1.4.0");
        assert_eq!(raised_requirement("1.2", &v), "1.4.0");
        assert_eq!(raised_requirement(">=1.2", &v), "1.4.0");
    }
}
