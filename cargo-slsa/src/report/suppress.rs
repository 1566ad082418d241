//! Inline suppressions: a reviewed finding of `pin`, `audit`, `harden` or `check` (never of
//! `attest`, `verify` or `keygen`, whose findings point into files an attacker writes) is
//! accepted with a comment on its line or the line above — `# cargo-slsa: ignore[code, other-code]` for any finding, and zizmor's `# zizmor:
//! ignore[audit]` for the audits `harden` shares with zizmor, so a repository's existing
//! zizmor suppressions keep working. A suppressed finding no longer counts or fails the run; it
//! is kept in [`super::Report::suppressed`], counted in the summary, listed with `-v`, and
//! written to SARIF with an `inSource` suppression, so code scanning shows it as dismissed.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;

use super::{Finding, Report, Suppressed};
use crate::Ctx;
use crate::cli::Command;

/// The audits `harden` shares with zizmor (same names): zizmor's comments suppress them too.
const ZIZMOR_SHARED: &[&str] = &[
    "unpinned-uses",
    "excessive-permissions",
    "dangerous-triggers",
    "template-injection",
    "artipacked",
    "cache-poisoning",
];

/// Whether a finding with `code` may be accepted by a reviewer: the codes of `pin`, `audit` and
/// `harden` (also inside `check`). Never `input-error` (what could not be looked at), never the
/// ignore findings themselves, never `vendor --verify`'s (inside `check`: they point into
/// vendored files that the crates' authors wrote).
pub fn suppressible(code: &str) -> bool {
    use crate::audit::codes::AuditCode;
    use crate::harden::codes::HardenCode;
    use crate::pin::codes::PinCode;
    PinCode::ALL.iter().any(|c| c.as_str() == code)
        || crate::review::codes::ReviewCode::ALL
            .iter()
            .any(|c| c.as_str() == code)
        || AuditCode::ALL.iter().any(|c| c.as_str() == code)
        || HardenCode::ALL.iter().any(|c| c.as_str() == code)
}

/// The codes each configuration section may ignore, and whether the section holds nothing else.
fn sections(command: &Command) -> Vec<(&'static str, Vec<&'static str>, bool)> {
    use crate::audit::codes::AuditCode;
    use crate::harden::codes::HardenCode;
    use crate::pin::codes::PinCode;
    let pin: Vec<_> = PinCode::ALL.iter().map(|c| c.as_str()).collect();
    let audit: Vec<_> = AuditCode::ALL.iter().map(|c| c.as_str()).collect();
    let harden: Vec<_> = HardenCode::ALL.iter().map(|c| c.as_str()).collect();
    let review: Vec<_> = crate::review::codes::ReviewCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    match command {
        Command::Pin(_) => vec![("pin", pin, false)],
        Command::Audit(_) => vec![("audit", audit, false)],
        Command::Harden(_) => vec![("harden", harden, true)],
        Command::Review(_) => vec![("review", review, true)],
        Command::Check(_) => {
            let all = [pin.clone(), audit.clone(), harden.clone(), review.clone()].concat();
            vec![
                ("pin", pin, false),
                ("audit", audit, false),
                ("harden", harden, true),
                ("review", review, true),
                ("check", all, true),
            ]
        }
        _ => Vec::new(),
    }
}

/// Accept reviewed findings of `command` (only `pin`, `audit`, `harden`, `check`): ignore
/// comments first, then the configuration's `ignore` entries, whose expired and unused entries
/// become findings. A configuration that cannot be read is an error (exit 2); no workspace at
/// all (`harden` in a repository without `Cargo.toml`) means no configuration.
pub fn apply(ctx: &Ctx, command: &Command, report: &mut Report) -> Result<()> {
    // Explicit workflow paths narrow what harden looked at; an entry elsewhere is not unused.
    let looked_at: Vec<PathBuf> = match command {
        Command::Harden(a) => a.paths.iter().map(|p| ctx.cwd.join(p)).collect(),
        Command::Check(a) => a.paths.iter().map(|p| ctx.cwd.join(p)).collect(),
        _ => Vec::new(),
    };
    apply_sections(ctx, sections(command), &looked_at, report)
}

/// The findings of a `harden` report that a reviewer accepted (by comment or configuration):
/// `--fix` leaves what they point at as it is.
pub fn accepted_by_harden(ctx: &Ctx, paths: &[PathBuf], report: &Report) -> Result<Vec<Finding>> {
    let mut copy = report.clone();
    let looked_at: Vec<PathBuf> = paths.iter().map(|p| ctx.cwd.join(p)).collect();
    let harden: Vec<_> = crate::harden::codes::HardenCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    apply_sections(ctx, vec![("harden", harden, true)], &looked_at, &mut copy)?;
    Ok(copy.suppressed.into_iter().map(|s| s.finding).collect())
}

fn apply_sections(
    ctx: &Ctx,
    sections: Vec<(&'static str, Vec<&'static str>, bool)>,
    looked_at: &[PathBuf],
    report: &mut Report,
) -> Result<()> {
    if sections.is_empty() {
        return Ok(());
    }
    inline(report);
    let (root, config) = match crate::workspace::root_config(ctx) {
        Ok(found) => found,
        Err(_) if crate::workspace::Workspace::locate(ctx).is_err() => return Ok(()),
        Err(e) => return Err(e),
    };
    let parts = report.summary.get("parts").cloned();
    let today = crate::timefmt::Date::today();
    for (section, codes, strict) in sections {
        let ignores = super::config_ignore::load(&config, section, &codes, strict)?;
        if ignores.is_empty() {
            continue;
        }
        let part_ran = match &parts {
            Some(p) if section != "check" => p[section]["ran"].as_bool().unwrap_or(false),
            _ => true,
        };
        super::config_ignore::apply(report, &config, &root, &ignores, today, |ig| {
            let target = root.join(&ig.path);
            let in_view = section == "pin"
                || section == "audit"
                || looked_at.is_empty()
                || looked_at
                    .iter()
                    .any(|p| target.starts_with(p) || p.starts_with(&target));
            part_ran && in_view
        });
    }
    report.sort();
    Ok(())
}

/// The codes a line's `# <tool>: ignore[a, b]` comment names, for `tool`.
fn ignored_codes<'a>(line: &'a str, tool: &str) -> Vec<&'a str> {
    let Some(hash) = line.find('#') else {
        return Vec::new();
    };
    let comment = &line[hash..];
    let marker = format!("{tool}: ignore[");
    let mut out = Vec::new();
    let mut rest = comment;
    while let Some(i) = rest.find(&marker) {
        let after = &rest[i + marker.len()..];
        let Some(end) = after.find(']') else {
            break;
        };
        out.extend(
            after[..end]
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty()),
        );
        rest = &after[end..];
    }
    out
}

/// Whether `line` suppresses `code`.
fn suppresses(line: &str, code: &str) -> bool {
    ignored_codes(line, "cargo-slsa").contains(&code)
        || (ZIZMOR_SHARED.contains(&code) && ignored_codes(line, "zizmor").contains(&code))
}

/// Move every finding that an ignore comment on its line, or the line above, accepts into
/// `report.suppressed`. Findings without a file and line, and `input-error`, are never
/// suppressed.
fn inline(report: &mut Report) {
    let mut files: HashMap<PathBuf, Option<Vec<String>>> = HashMap::new();
    let mut kept = Vec::with_capacity(report.findings.len());
    for f in std::mem::take(&mut report.findings) {
        if is_suppressed(&f, &mut files) {
            report.suppressed.push(Suppressed {
                finding: f,
                reason: None,
            });
        } else {
            kept.push(f);
        }
    }
    report.findings = kept;
}

fn is_suppressed(f: &Finding, files: &mut HashMap<PathBuf, Option<Vec<String>>>) -> bool {
    let (Some(file), Some(line)) = (&f.file, f.line) else {
        return false;
    };
    if !suppressible(f.code) || line == 0 {
        return false;
    }
    let lines = files.entry(file.clone()).or_insert_with(|| {
        std::fs::read_to_string(file)
            .ok()
            .map(|t| t.lines().map(str::to_string).collect())
    });
    let Some(lines) = lines else {
        return false;
    };
    let at = |n: usize| lines.get(n.wrapping_sub(1)).map(String::as_str);
    [at(line), at(line - 1)]
        .into_iter()
        .flatten()
        .any(|l| suppresses(l, f.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_name_codes() {
        assert!(suppresses(
            "uses: a/b@v1 # cargo-slsa: ignore[unpinned-uses]",
            "unpinned-uses"
        ));
        assert!(suppresses(
            "# cargo-slsa: ignore[cargo-unlocked, artipacked]",
            "artipacked"
        ));
        assert!(suppresses(
            "# zizmor: ignore[excessive-permissions]",
            "excessive-permissions"
        ));
        assert!(
            !suppresses("# zizmor: ignore[cargo-unlocked]", "cargo-unlocked"),
            "zizmor's comments speak only for the audits it shares"
        );
        assert!(
            !suppresses("echo 'cargo-slsa: ignore[x]'", "x"),
            "not a comment"
        );
        assert!(!suppresses(
            "# cargo-slsa: ignore[unpinned-usesx]",
            "unpinned-uses"
        ));
    }
}
