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
/// `~1.2` → `~1.4.0`, `1.2` / `^1.2` → `1.4.0`). A compound (`>=1.2, <1.5`) or `>=`
/// requirement that excludes `to` becomes the caret requirement `1.6.0`.
pub fn raised_requirement(old: &str, to: &Version) -> String {
    let t = old.trim();
    if t.contains(',') {
        return to.to_string();
    }
    let op = ["=", "~", "^", ">="]
        .into_iter()
        .find(|op| t.starts_with(op))
        .unwrap_or("");
    let op = if op == ">=" { "" } else { op };
    format!("{op}{to}")
}

/// What [`edit`] did.
#[derive(Debug, Default)]
pub struct Edited {
    /// Files changed, with what changed.
    pub changed: Vec<(PathBuf, String)>,
    /// Updates that could not be made (crate, why); their edits were undone.
    pub failed: Vec<(String, String)>,
}

/// Make `updates` in the workspace at `root` (paths in the plan are under `plan_root`; a
/// scratch copy passes its own root), one at a time: raise that crate's requirements where they
/// no longer admit the new version, then `cargo update -p NAME@FROM --precise TO` at once, so
/// cargo never re-resolves another crate on its own (and cannot pick a version the plan held
/// back). An update cargo refuses is undone (its manifests and the lock restored) and reported;
/// the others go on.
pub fn edit(cargo: &Cargo, plan_root: &Path, root: &Path, updates: &[&Update]) -> Result<Edited> {
    let lock = root.join("Cargo.lock");
    let mut out = Edited::default();
    let mut touched: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut lock_changes = Vec::new();
    for u in updates {
        // An earlier update may have taken this crate out of the lock (or moved it already).
        let now = crate::workspace::Lockfile::load(&lock)?;
        if u.git.is_none()
            && !now
                .by_name(&u.name)
                .any(|p| p.version == u.from.to_string())
        {
            continue;
        }
        // Manifests of this update, and their text before it.
        let mut by_manifest: BTreeMap<PathBuf, Vec<&crate::workspace::DepDecl>> = BTreeMap::new();
        for (path, d) in &u.decls {
            let rel = path.strip_prefix(plan_root).map_err(|_| {
                anyhow!(
                    "{} is outside the workspace root {}",
                    path.display(),
                    plan_root.display()
                )
            })?;
            by_manifest.entry(root.join(rel)).or_default().push(d);
        }
        let mut saved: Vec<(PathBuf, String)> = Vec::new();
        let lock_before =
            std::fs::read(&lock).with_context(|| format!("reading {}", lock.display()))?;
        let mut raised = Vec::new();
        for (path, decls) in &by_manifest {
            let manifest = Manifest::load(path)?;
            let mut doc = manifest.to_mut()?;
            let mut any = false;
            for d in decls {
                if let Some(g) = &u.git {
                    if set_git_key(&mut doc, &d.path, g.key, &g.to) {
                        any = true;
                        raised.push((
                            path.clone(),
                            format!("{} {} \"{}\" -> \"{}\"", d.package, g.key, g.from, g.to),
                        ));
                    }
                    continue;
                }
                let Some(old) = d.version.as_deref() else {
                    continue;
                };
                if VersionReq::parse(old).is_ok_and(|r| r.matches(&u.to)) {
                    continue;
                }
                let new = raised_requirement(old, &u.to);
                if set_requirement(&mut doc, &d.path, &new) {
                    any = true;
                    raised.push((
                        path.clone(),
                        format!("{} \"{old}\" -> \"{new}\"", d.package),
                    ));
                }
            }
            if any {
                saved.push((path.clone(), manifest.src.clone()));
                fsx::write_atomic(path, doc.to_string().as_bytes())?;
            }
        }
        let journal = fsx::ExternalWrite::begin(&lock)?;
        let result = match &u.git {
            Some(g) => git_update(cargo, root, u, g),
            None => precise(cargo, root, u),
        };
        match result {
            Ok(()) => {
                journal.commit()?;
                for (path, what) in raised {
                    touched.entry(path).or_default().push(what);
                }
                lock_changes.push(match &u.git {
                    Some(g) => format!("{} {} {} -> {}", u.name, g.key, g.from, g.to),
                    None => format!("{} {} -> {}", u.name, u.from, u.to),
                });
            }
            Err(e) => {
                journal.rollback()?;
                for (path, text) in saved {
                    fsx::write_atomic(&path, text.as_bytes())?;
                }
                if std::fs::read(&lock).ok().as_deref() != Some(lock_before.as_slice()) {
                    fsx::write_atomic(&lock, &lock_before)?;
                }
                out.failed.push((u.name.clone(), format!("{e:#}")));
            }
        }
    }
    for (path, what) in touched {
        out.changed
            .push((path, format!("requirement raised: {}", what.join(", "))));
    }
    if !lock_changes.is_empty() {
        out.changed.push((lock, lock_changes.join(", ")));
    }
    Ok(out)
}

/// `cargo update -p NAME@FROM --precise TO`. When a raised requirement made cargo re-resolve the
/// crate on its own (it then takes the newest version, which may be one the plan held back),
/// the version it picked is moved to TO in a second step.
fn precise(cargo: &Cargo, root: &Path, u: &Update) -> Result<()> {
    let lock = root.join("Cargo.lock");
    let before: Vec<String> = crate::workspace::Lockfile::load(&lock)?
        .by_name(&u.name)
        .map(|p| p.version.clone())
        .collect();
    run_precise(cargo, root, &u.name, &u.from.to_string(), &u.to.to_string())?;
    let after: Vec<String> = crate::workspace::Lockfile::load(&lock)?
        .by_name(&u.name)
        .map(|p| p.version.clone())
        .collect();
    let to = u.to.to_string();
    if !after.contains(&to)
        && let Some(stray) = after.iter().find(|v| !before.contains(v))
    {
        run_precise(cargo, root, &u.name, stray, &to)?;
    }
    let now = crate::workspace::Lockfile::load(&lock)?;
    if !now.by_name(&u.name).any(|p| p.version == to) {
        return Err(anyhow!(
            "cargo did not lock {} {to} (locked: {})",
            u.name,
            now.by_name(&u.name)
                .map(|p| p.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// Set `key` (`tag` or `rev`) of the git dependency table at `path`, keeping its decor.
fn set_git_key(doc: &mut toml_edit::DocumentMut, path: &[String], key: &str, value: &str) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let Some(mut item) = doc.as_table_mut().get_mut(first) else {
        return false;
    };
    for k in rest {
        item = match item.as_table_like_mut().and_then(|t| t.get_mut(k)) {
            Some(i) => i,
            None => return false,
        };
    }
    let Some(t) = item.as_table_like_mut() else {
        return false;
    };
    match t.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
        Some(v) => {
            let decor = v.decor().clone();
            *v = toml_edit::Value::from(value);
            *v.decor_mut() = decor;
            true
        }
        None => false,
    }
}

/// After a git dependency's tag or rev changed: `cargo update -p NAME` fetches it; the lock must
/// then name the new ref.
fn git_update(cargo: &Cargo, root: &Path, u: &Update, g: &super::git::GitMove) -> Result<()> {
    cargo_update(cargo, root, &["-p", &u.name])?;
    let now = crate::workspace::Lockfile::load(&root.join("Cargo.lock"))?;
    let want = format!("{}={}", g.key, g.to);
    // `git+URL?tag=v1.2.0#commit`: the query value must be exactly the new one.
    let names_it = |s: &str| {
        s.split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(q))
            .is_some_and(|q| q.split('&').any(|kv| kv == want))
    };
    if !now
        .by_name(&u.name)
        .any(|p| p.source.as_deref().is_some_and(names_it))
    {
        return Err(anyhow!(
            "Cargo.lock does not name {} {want} after the update",
            u.name
        ));
    }
    Ok(())
}

fn run_precise(cargo: &Cargo, root: &Path, name: &str, from: &str, to: &str) -> Result<()> {
    cargo_update(
        cargo,
        root,
        &["-p", &format!("{name}@{from}"), "--precise", to],
    )
}

/// `cargo update --manifest-path ROOT/Cargo.toml ARGS`, with cargo's own error on failure.
fn cargo_update(cargo: &Cargo, root: &Path, args: &[&str]) -> Result<()> {
    let manifest = root.join("Cargo.toml").display().to_string();
    let mut all = vec!["update", "--manifest-path", manifest.as_str()];
    all.extend_from_slice(args);
    let out = cargo
        .command(&all)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run cargo update: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let start = err.find("error").unwrap_or(0);
        return Err(anyhow!(
            "`cargo update {}` failed: {}",
            args.join(" "),
            err[start..].trim()
        ));
    }
    Ok(())
}

/// Apply `updates` to the workspace's own tree.
pub fn apply(cargo: &Cargo, ws: &Workspace, updates: &[Update], report: &mut Report) -> Result<()> {
    let all: Vec<&Update> = updates.iter().collect();
    let edited = edit(cargo, &ws.root, &ws.root, &all)?;
    for (file, description) in edited.changed {
        report.changes.push(Change { file, description });
    }
    for (name, why) in edited.failed {
        report.findings.push(
            Finding::new(
                UpdateCode::UpdateFailed.rule(),
                format!("{name} was not updated (undone): {why}"),
            )
            .at(&ws.lock_path(), None, None),
        );
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
