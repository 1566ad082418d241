//! `cargo slsa pin`: lockfile, git revs, exact versions, toolchain and allowed sources.
//!
//! Shape: [`check`] is pure over the loaded [`Workspace`] and returns findings, each with the
//! edit that fixes it when one is known. [`run`] either reports them (`--check`) or applies the
//! edits — lock first (cargo, journaled), then manifests and the toolchain file (atomic writes),
//! then the lock again so it follows the manifests — and finally re-checks the result, so the
//! findings it prints are exactly what is still wrong.

pub mod cfg;
pub mod codes;
mod deps;
mod sources;
mod toolchain;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;

use crate::Ctx;
use crate::cli::PinArgs;
use crate::fsx;
use crate::report::{Change, Finding, Report};
use crate::workspace::{Cargo, LockState, Lockfile, Workspace, manifest};
use cfg::Policy;
use codes::PinCode;

/// A fix, decided by a check and applied by [`run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Set a dependency's version requirement.
    Requirement {
        manifest: PathBuf,
        path: Vec<String>,
        req: String,
        what: String,
    },
    /// Pin a git dependency to a full commit.
    GitRev {
        manifest: PathBuf,
        path: Vec<String>,
        sha: String,
        what: String,
    },
    /// Replace (or create) the toolchain file.
    Toolchain {
        file: PathBuf,
        content: String,
        what: String,
    },
}

/// A finding and, when known, its fix.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) finding: Finding,
    pub(crate) edit: Option<Edit>,
}

/// Every pin check over a loaded workspace.
fn check(
    ws: &Workspace,
    policy: &Policy,
    active: &dyn Fn() -> Result<Option<String>>,
) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    let lock_path = ws.lock_path();
    match ws.lock_state {
        LockState::Missing => out.push(Planned {
            finding: Finding::new(
                PinCode::LockfileMissing.rule(),
                "Cargo.lock is missing: every build may resolve different versions",
            )
            .at(&lock_path, None, None)
            .with_fix("generate it (`cargo slsa pin` runs cargo to do so) and commit it"),
            edit: None,
        }),
        LockState::Stale => out.push(Planned {
            finding: Finding::new(
                PinCode::LockfileStale.rule(),
                "Cargo.lock does not match the manifests: `cargo build --locked` would fail",
            )
            .at(&lock_path, None, None)
            .with_fix("update it minimally (`cargo slsa pin` does) and commit it"),
            edit: None,
        }),
        LockState::Fresh => {}
    }
    out.extend(deps::check(ws, policy.exact));
    out.extend(toolchain::check(&ws.root, &policy.toolchain, active)?);
    if let Some(lock) = &ws.lock {
        out.extend(sources::check(lock, policy));
    }
    Ok(out)
}

/// Run `cargo slsa pin`.
pub fn run(ctx: &Ctx, args: &PinArgs) -> Result<Report> {
    let cargo = Cargo::new(ctx.offline, ctx.progress());
    let mut ws = Workspace::load(ctx, &cargo)?;
    let policy = Policy::new(args, &ws.config)?;
    let mut report = Report::new("pin", PinCode::rules());
    if ws.recovered_lock {
        report.notes.push(format!(
            "restored {} from the journal of an interrupted run",
            ws.lock_path().display()
        ));
    }
    // The active rustc is only asked when its answer matters (a toolchain finding's fix, or a
    // comparison with it), and then once.
    let asked: std::cell::OnceCell<Option<String>> = std::cell::OnceCell::new();
    let root = ws.root.clone();
    let active_fn = || -> Result<Option<String>> {
        if let Some(a) = asked.get() {
            return Ok(a.clone());
        }
        let a = crate::workspace::toolchain::active_rustc(&root)?.exact_channel;
        Ok(asked.get_or_init(|| a).clone())
    };
    let active: &dyn Fn() -> Result<Option<String>> = &active_fn;

    if policy.check {
        report.findings = check(&ws, &policy, active)?
            .into_iter()
            .map(|p| p.finding)
            .collect();
    } else {
        // 1. The lock: generate or minimally update it, so the other fixes can read from it.
        if ws.lock_state != LockState::Fresh {
            update_lock(&cargo, &ws, &mut report)?;
            ws = Workspace::load(ctx, &cargo)?;
        }
        // 2. Manifests and the toolchain file.
        let planned = check(&ws, &policy, active)?;
        let manifests_changed = apply(&ws, planned, &mut report)?;
        // 3. The lock follows the manifests (a pinned rev changes the recorded source).
        if manifests_changed {
            ws = Workspace::load(ctx, &cargo)?;
            if ws.lock_state != LockState::Fresh {
                update_lock(&cargo, &ws, &mut report)?;
                ws = Workspace::load(ctx, &cargo)?;
            }
        }
        // 4. What is still wrong.
        report.findings = check(&ws, &policy, active)?
            .into_iter()
            .map(|p| p.finding)
            .collect();
    }
    report.sort();
    report.summary.insert(
        "lockfile".into(),
        serde_json::json!(match ws.lock_state {
            LockState::Fresh => "fresh",
            LockState::Stale => "stale",
            LockState::Missing => "missing",
        }),
    );
    report.summary.insert(
        "packages".into(),
        serde_json::json!(ws.lock.as_ref().map(|l| l.packages.len())),
    );
    report
        .summary
        .insert("check".into(), serde_json::json!(policy.check));
    Ok(report)
}

/// Let cargo generate or minimally update Cargo.lock, journaled so a kill leaves old or new.
fn update_lock(cargo: &Cargo, ws: &Workspace, report: &mut Report) -> Result<()> {
    let path = ws.lock_path();
    let before = ws.lock.clone();
    let journal = fsx::ExternalWrite::begin(&path)?;
    match cargo.update_lock_minimally(&ws.root_manifest.path) {
        Ok(_) => journal.commit()?,
        Err(e) => {
            journal.rollback()?;
            return Err(e);
        }
    }
    let after = Lockfile::load(&path)?;
    let description = match before {
        None => format!("generated ({} packages)", after.packages.len()),
        Some(before) => {
            let key = |l: &Lockfile| -> BTreeSet<(String, String, Option<String>)> {
                l.packages
                    .iter()
                    .map(|p| (p.name.clone(), p.version.clone(), p.source.clone()))
                    .collect()
            };
            let (old, new) = (key(&before), key(&after));
            let added = new.difference(&old).count();
            let removed = old.difference(&new).count();
            format!("updated minimally: {added} entries added, {removed} removed")
        }
    };
    report.changes.push(Change {
        file: path,
        description,
    });
    Ok(())
}

/// Apply the known edits; returns whether a manifest changed.
fn apply(ws: &Workspace, planned: Vec<Planned>, report: &mut Report) -> Result<bool> {
    let mut per_manifest: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    for p in planned {
        match p.edit {
            Some(Edit::Toolchain {
                file,
                content,
                what,
            }) if fsx::write_if_changed(&file, content.as_bytes())? => {
                report.changes.push(Change {
                    file,
                    description: what,
                });
            }
            Some(Edit::Toolchain { .. }) => {}
            Some(e @ (Edit::Requirement { .. } | Edit::GitRev { .. })) => {
                let (Edit::Requirement { manifest, .. } | Edit::GitRev { manifest, .. }) = &e
                else {
                    continue;
                };
                let list = per_manifest.entry(manifest.clone()).or_default();
                // [workspace.dependencies] edits are found once per inheriting member.
                if !list.contains(&e) {
                    list.push(e);
                }
            }
            None => {}
        }
    }
    let mut changed = false;
    for (path, edits) in per_manifest {
        let Some(m) = ws.manifests().find(|m| m.path == path) else {
            continue;
        };
        let mut doc = m.to_mut()?;
        let mut descriptions = Vec::new();
        for e in edits {
            let (ok, what) = match e {
                Edit::Requirement {
                    path, req, what, ..
                } => (manifest::set_requirement(&mut doc, &path, &req), what),
                Edit::GitRev {
                    path, sha, what, ..
                } => (manifest::pin_git_rev(&mut doc, &path, &sha), what),
                Edit::Toolchain { .. } => continue,
            };
            if ok {
                descriptions.push(what);
            }
        }
        if fsx::write_if_changed(&path, doc.to_string().as_bytes())? {
            changed = true;
            for d in descriptions {
                report.changes.push(Change {
                    file: path.clone(),
                    description: d,
                });
            }
        }
    }
    Ok(changed)
}
