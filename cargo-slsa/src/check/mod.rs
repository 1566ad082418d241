//! `cargo slsa check`: the read-only gate for pull requests — `pin --check`, `vendor --verify`
//! (when the workspace has a `vendor/` directory), `audit`, `harden` and, in a pull request,
//! `review` of its lockfile change against the base branch, in one report with one exit code.
//!
//! Each part runs exactly as its own subcommand would (same library entry points, nothing
//! written); the findings are concatenated — codes are unique across subcommands, so SARIF gets
//! one rule per code of every part — and the summary keeps each part's own summary under its
//! name. A part that cannot run (no network for the advisory database, a broken workflow, no
//! manifest) does not hide the others: it becomes an `input-error` finding naming the part,
//! `summary.parts.<part>` says `ran: false` and why, every other part still reports, and the
//! check exits 2 — a gate that could not look must not pass.

use anyhow::Result;
use serde_json::{Value, json};

use crate::Ctx;
use crate::cli::{AuditArgs, CheckArgs, CheckPart, DenyLevel, PinArgs, ReviewArgs, VendorArgs};
use crate::report::{Report, Severity};

/// Run `cargo slsa check`.
pub fn run(ctx: &Ctx, args: &CheckArgs) -> Result<Report> {
    let mut report = Report::new("check", Vec::new());
    report.deny = match args.deny {
        Some(DenyLevel::Warnings) => Severity::Warning,
        _ => Severity::Error,
    };
    let mut parts = serde_json::Map::new();
    let runs = |p: CheckPart| !args.skip.contains(&p);

    if runs(CheckPart::Pin) {
        let part = crate::pin::run(
            ctx,
            &PinArgs {
                check: true,
                exact: false,
                toolchain: None,
            },
        );
        take(&mut report, &mut parts, "pin", part, false);
    }
    if runs(CheckPart::Vendor) {
        // vendor --verify, when the workspace has a vendor directory.
        let part = crate::workspace::Workspace::locate(ctx).and_then(|manifest| {
            let root = manifest
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            if !root.join("vendor").is_dir() {
                return Ok(None);
            }
            let out = crate::vendor::run(
                ctx,
                &VendorArgs {
                    dir: None,
                    verify: true,
                    versioned_dirs: false,
                    write_config: false,
                    platform: Vec::new(),
                },
            )?;
            Ok(Some(match out {
                crate::vendor::Output::Report(r) | crate::vendor::Output::Config(_, r) => r,
            }))
        });
        match part {
            Ok(None) => {}
            Ok(Some(r)) => take(&mut report, &mut parts, "vendor", Ok(r), false),
            Err(e) => take(&mut report, &mut parts, "vendor", Err(e), false),
        }
    }
    if runs(CheckPart::Audit) {
        let part = crate::audit::run(
            ctx,
            &AuditArgs {
                source: args.source.clone(),
                deny: args.deny,
                file: None,
                no_yanked: false,
                stale: false,
            },
        );
        // `deny = "warnings"` in the audit config makes audit warnings fail the check too.
        let promote = part.as_ref().is_ok_and(|p| p.deny == Severity::Warning);
        take(&mut report, &mut parts, "audit", part, promote);
    }
    if runs(CheckPart::Harden) {
        let part = crate::harden::audit(ctx, &args.paths).map(|(r, _)| r);
        take(&mut report, &mut parts, "harden", part, false);
    }
    if runs(CheckPart::Review) {
        let base = match &args.review_base {
            Some(rev) => Some(Ok(rev.clone())),
            None => crate::workspace::Workspace::locate(ctx)
                .ok()
                .and_then(|m| crate::review::fetch::pull_request_base(&m, ctx.offline)),
        };
        match base {
            None => {
                parts.insert(
                    "review".into(),
                    json!({"ran": false, "skipped": "not a pull request (no GITHUB_BASE_REF) and no --review-base"}),
                );
            }
            Some(Err(e)) => take(&mut report, &mut parts, "review", Err(e), false),
            Some(Ok(rev)) => {
                let part = crate::review::run(
                    ctx,
                    &ReviewArgs {
                        base: Some(rev),
                        base_lock: None,
                        all_code: false,
                        min_age: 30,
                        deny: args.deny,
                    },
                );
                take(&mut report, &mut parts, "review", part, false);
            }
        }
    }
    report.sort();
    report.summary.insert("parts".into(), Value::Object(parts));
    Ok(report)
}

/// A part's outcome into the check: its report merged, or its error as an `input-error`
/// finding with `ran: false` in its summary.
fn take(
    into: &mut Report,
    parts: &mut serde_json::Map<String, Value>,
    name: &str,
    part: Result<Report>,
    promote_warnings: bool,
) {
    match part {
        Ok(r) => merge(into, parts, r, promote_warnings),
        Err(e) => {
            into.input_error_from(&format!("{name} could not run: "), &e);
            parts.insert(
                name.to_string(),
                json!({"ran": false, "failed": true, "error": format!("{e:#}")}),
            );
        }
    }
}

fn merge(
    into: &mut Report,
    parts: &mut serde_json::Map<String, Value>,
    part: Report,
    promote_warnings: bool,
) {
    let failed = part.failed();
    let mut summary = part.summary.clone();
    summary.insert("findings".into(), json!(part.findings.len()));
    summary.insert("failed".into(), json!(failed || part.incomplete()));
    summary.insert("ran".into(), json!(true));
    parts.insert(part.command.to_string(), Value::Object(summary));
    for rule in part.rules {
        into.add_rule(rule);
    }
    for mut f in part.findings {
        if promote_warnings && f.severity == Severity::Warning {
            f.severity = Severity::Error;
        }
        into.findings.push(f);
    }
    into.notes.extend(
        part.notes
            .into_iter()
            .map(|n| format!("{}: {n}", part.command)),
    );
    into.changes.extend(part.changes);
}
