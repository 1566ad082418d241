//! `cargo slsa harden`: audits GitHub Actions workflows and composite actions, and with `--fix`
//! pins `uses:` to commit SHAs and adds least-privilege top-level permissions.
//!
//! Pipeline: [`input`] collects and parses files (typed model + located YAML), [`audits`] run
//! over each, and [`fix`] plans byte-exact line edits (the `uses:` value, one inserted
//! `permissions:` block) that keep every other byte, comment and blank line — then writes each
//! file atomically and re-audits, so the findings printed are what is still wrong.

// `ypath!` builds owned routes; some call sites only borrow them.
#![allow(clippy::useless_vec)]

pub mod audits;
mod cache;
mod checkout;
pub mod codes;
mod deploy;
mod expr;
mod fix;
mod hit;
mod injection;
mod injection_fix;
pub mod input;
mod mechanical;
mod perms;
mod shell;
mod walk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use crate::Ctx;
use crate::cli::HardenArgs;
use crate::report::Report;
use codes::HardenCode;
use input::Input;
pub use walk::is_sha;

/// The directory inputs are found from: the enclosing git repository, else the working
/// directory (or the `--manifest-path` directory).
pub fn repo_root(ctx: &Ctx) -> PathBuf {
    let start = ctx
        .manifest_path
        .as_ref()
        .and_then(|p| {
            let p = if p.is_absolute() {
                p.clone()
            } else {
                ctx.cwd.join(p)
            };
            p.parent().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| ctx.cwd.clone());
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    start
}

/// Whether the repository at `root` commits a Cargo.lock (any, for workspaces in
/// subdirectories); outside git, whether `root/Cargo.lock` exists.
fn lock_committed(root: &Path) -> bool {
    let out = crate::build::scrub(&mut std::process::Command::new("git"))
        .args(["ls-files", "-z", "--", "Cargo.lock", "**/Cargo.lock"])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => !o.stdout.is_empty(),
        _ => root.join("Cargo.lock").is_file(),
    }
}

/// Audit the inputs (no fixes): the read-only part `check` reuses.
pub fn audit(ctx: &Ctx, paths: &[PathBuf]) -> Result<(Report, Vec<Input>)> {
    let root = repo_root(ctx);
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                ctx.cwd.join(p)
            }
        })
        .collect();
    let files = input::collect(&root, &paths)?;
    let mut report = Report::new("harden", HardenCode::rules());
    // A file that cannot be parsed is one input error; every other file is still audited.
    let mut inputs = Vec::new();
    for f in &files {
        match Input::load(f) {
            Ok(i) => inputs.push(i),
            Err(e) => report.input_error_from("", &e),
        }
    }
    // Without a committed Cargo.lock, `--locked` makes cargo fail: cargo-unlocked only speaks
    // to repositories that have one.
    let has_lock = lock_committed(&root);
    let mut unlocked_skipped = 0;
    for i in &inputs {
        let mut hits = audits::all(i);
        if !has_lock {
            let before = hits.len();
            hits.retain(|h| h.code != HardenCode::CargoUnlocked);
            unlocked_skipped += before - hits.len();
        }
        let secrets = hit::secrets(&hits);
        for hit in &hits {
            report.findings.push(hit.finding(i, &secrets));
        }
    }
    report.sort();
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *by_code.entry(f.code).or_default() += 1;
    }
    if unlocked_skipped > 0 {
        report.notes.push(format!(
            "{unlocked_skipped} cargo command(s) without --locked not reported: no Cargo.lock is \
             committed in {} (commit one, then --locked keeps CI on it)",
            root.display()
        ));
    }
    report.summary.insert("files".into(), json!(files.len()));
    report.summary.insert("by_code".into(), json!(by_code));
    if files.is_empty() {
        report.notes.push(if paths.is_empty() {
            format!(
                "no workflows found (looked in {}/.github/workflows and for action.yml files \
                 in the repository)",
                root.display()
            )
        } else {
            format!(
                "no workflow or action files (.yml, .yaml) in {}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    Ok((report, inputs))
}

/// Run `cargo slsa harden`.
pub fn run(ctx: &Ctx, args: &HardenArgs) -> Result<Report> {
    let (mut report, inputs) = audit(ctx, &args.paths)?;
    if !args.fix {
        return Ok(report);
    }
    if report.incomplete() {
        report
            .notes
            .push("--fix changed nothing: fix the files that could not be read first".into());
        return Ok(report);
    }
    // What a reviewer accepted stays as it is: an accepted `artipacked` is a job that needs its
    // token, an accepted injection a script someone read.
    let accepted = {
        let mut copy = report.clone();
        let looked_at: Vec<PathBuf> = args.paths.iter().map(|p| ctx.cwd.join(p)).collect();
        let section = crate::report::suppress::Section {
            name: "harden",
            codes: codes::HardenCode::ALL.iter().map(|c| c.as_str()).collect(),
            strict: true,
        };
        crate::report::suppress::apply_sections(ctx, &[section], &looked_at, &mut copy)?;
        copy.suppressed
            .into_iter()
            .map(|s| s.finding)
            .collect::<Vec<_>>()
    };
    let outcome = fix::apply(
        ctx,
        args,
        &inputs,
        lock_committed(&repo_root(ctx)),
        &accepted,
    )?;
    // Re-audit what is on disk now (a dry run wrote nothing: its findings stand, its changes
    // are what it would write).
    let (mut after, _) = if args.dry_run {
        report.diff = outcome.diff;
        report.notes.push(match outcome.changes.len() {
            0 => "--dry-run: nothing to change".to_string(),
            n => format!("--dry-run: {n} change(s) above would be made; nothing was written"),
        });
        (report, inputs)
    } else {
        audit(ctx, &args.paths)?
    };
    after.changes = outcome.changes;
    after.notes.extend(outcome.notes);
    after.summary.insert("pinned".into(), json!(outcome.pinned));
    after
        .summary
        .insert("unresolved".into(), json!(outcome.unresolved));
    Ok(after)
}
