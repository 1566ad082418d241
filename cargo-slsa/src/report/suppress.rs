//! Inline suppressions: a reviewed finding of `pin`, `audit`, `harden` or `check` (never of
//! `attest`, `verify` or `keygen`, whose findings point into files an attacker writes) is
//! accepted with a comment on its line or the line above — `# cargo-slsa: ignore[code, other-code]` for any finding, and zizmor's `# zizmor:
//! ignore[audit]` for the audits `harden` shares with zizmor, so a repository's existing
//! zizmor suppressions keep working. A suppressed finding no longer counts or fails the run; it
//! is kept in [`super::Report::suppressed`], counted in the summary, listed with `-v`, and
//! written to SARIF with an `inSource` suppression, so code scanning shows it as dismissed.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{Finding, Report};

/// The audits `harden` shares with zizmor (same names): zizmor's comments suppress them too.
const ZIZMOR_SHARED: &[&str] = &[
    "unpinned-uses",
    "excessive-permissions",
    "dangerous-triggers",
    "template-injection",
    "artipacked",
    "cache-poisoning",
];

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
pub fn inline(report: &mut Report) {
    let mut files: HashMap<PathBuf, Option<Vec<String>>> = HashMap::new();
    let mut kept = Vec::with_capacity(report.findings.len());
    for f in std::mem::take(&mut report.findings) {
        if is_suppressed(&f, &mut files) {
            report.suppressed.push(f);
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
    if f.code == super::INPUT_ERROR.code || line == 0 {
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
