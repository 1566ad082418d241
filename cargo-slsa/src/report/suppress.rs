//! Accepting reviewed findings. Inline: a finding whose code its command's configuration
//! sections name (see [`Section`]; never one of `attest`, `verify` or `keygen`, whose findings
//! point into files an attacker writes) is accepted with a comment on its line or the line above — `# cargo-slsa: ignore[code, other-code]` for any finding, and zizmor's `# zizmor:
//! ignore[audit]` for the audits `harden` shares with zizmor, so a repository's existing
//! zizmor suppressions keep working. A suppressed finding no longer counts or fails the run; it
//! is kept in [`super::Report::suppressed`], counted in the summary, listed with `-v`, and
//! written to SARIF with an `inSource` suppression, so code scanning shows it as dismissed.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;

use super::{Finding, Report, Suppressed};
use crate::Ctx;

/// The audits `harden` shares with zizmor (same names): zizmor's comments suppress them too.
const ZIZMOR_SHARED: &[&str] = &[
    "unpinned-uses",
    "excessive-permissions",
    "dangerous-triggers",
    "template-injection",
    "artipacked",
    "cache-poisoning",
];

/// One configuration section: its name (`[workspace.metadata.slsa.<name>]`), the finding codes
/// its `ignore` entries may name, and whether it holds nothing but `ignore`. Which sections a
/// command has is the dispatcher's business (`lib.rs`); what they may name decides what can be
/// accepted at all — by comment or by configuration.
pub struct Section {
    pub name: &'static str,
    pub codes: Vec<&'static str>,
    pub strict: bool,
}

/// Accept the reviewed findings of a command whose configuration has `sections`: ignore
/// comments first, then the configuration's `ignore` entries, whose expired and unused entries
/// become findings. Only codes some section names can be accepted: never `input-error` (what
/// could not be looked at), never the ignore findings themselves, never codes a command has no
/// section for (`vendor --verify`'s inside `check`, whose findings point into files the crates'
/// authors wrote; `attest` and `verify`, which point into attestations). `looked_at`: the paths
/// the run was limited to (an entry elsewhere is not unused). A configuration that cannot be
/// read is an error (exit 2); no workspace at all (`harden` in a repository without
/// `Cargo.toml`) means no configuration.
pub fn apply_sections(
    ctx: &Ctx,
    sections: &[Section],
    looked_at: &[PathBuf],
    report: &mut Report,
) -> Result<()> {
    if sections.is_empty() {
        return Ok(());
    }
    let suppressible = |code: &str| sections.iter().any(|s| s.codes.contains(&code));
    inline(report, &suppressible);
    let (root, config) = match crate::workspace::root_config(ctx) {
        Ok(found) => found,
        Err(_) if crate::workspace::Workspace::locate(ctx).is_err() => return Ok(()),
        Err(e) => return Err(e),
    };
    let parts = report.summary.get("parts").cloned();
    let today = crate::timefmt::Date::today();
    for Section {
        name: section,
        codes,
        strict,
    } in sections
    {
        let (section, strict) = (*section, *strict);
        let ignores = super::config_ignore::load(&config, section, codes, strict)?;
        if ignores.is_empty() {
            continue;
        }
        let part_ran = match &parts {
            Some(p) if section != "check" => p[section]["ran"].as_bool().unwrap_or(false),
            _ => true,
        };
        super::config_ignore::apply(
            report,
            &config,
            &root,
            &ignores,
            today,
            &suppressible,
            |ig| {
                let target = root.join(&ig.path);
                let in_view = section == "pin"
                    || section == "audit"
                    || looked_at.is_empty()
                    || looked_at
                        .iter()
                        .any(|p| target.starts_with(p) || p.starts_with(&target));
                part_ran && in_view
            },
        );
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
fn inline(report: &mut Report, suppressible: &dyn Fn(&str) -> bool) {
    let mut files: HashMap<PathBuf, Option<Vec<String>>> = HashMap::new();
    let mut kept = Vec::with_capacity(report.findings.len());
    for f in std::mem::take(&mut report.findings) {
        if is_suppressed(&f, &mut files, suppressible) {
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

fn is_suppressed(
    f: &Finding,
    files: &mut HashMap<PathBuf, Option<Vec<String>>>,
    suppressible: &dyn Fn(&str) -> bool,
) -> bool {
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
