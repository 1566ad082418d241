//! Ignores in the configuration: a reviewed finding accepted by an entry of
//! `[workspace.metadata.slsa.<command>] ignore` (for `pin`, `audit`, `harden` and `check`), for
//! files that cannot carry a comment or findings a team would rather review in one place.
//!
//! ```toml
//! [workspace.metadata.slsa.harden]
//! ignore = [
//!   { code = "excessive-permissions", path = ".github/workflows/release.yml", line = 12,
//!     reason = "the release job creates tags", until = "2027-06-30" },
//! ]
//! ```
//!
//! `code` and `path` (relative to the workspace root; a directory covers every file under it)
//! are required, and so is `reason`: the point of the list is that a reviewer sees why each
//! finding is tolerated. `line` narrows the entry to one line; `until` is the last day (UTC) it
//! applies. An entry past its `until` stops applying and is reported (`ignore-expired`); an
//! active entry that accepted nothing is reported too (`ignore-unused`), so the list does not
//! rot. A code the section's command cannot report is an input error at the entry's line — a
//! typo must never silently accept nothing. `audit` keeps its advisory ignores (`{ id, … }`) in
//! the same list; entries with `id` are its own.

use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use super::{Finding, Report, Rule, Severity, Suppressed};
use crate::error::InputError;
use crate::timefmt::Date;
use crate::workspace::Config;

/// An `ignore` entry past its `until` date (shared by every command with ignores).
pub const IGNORE_EXPIRED: Rule = Rule {
    code: "ignore-expired",
    severity: Severity::Warning,
    description: "An `ignore` entry's `until` date has passed, so what it covered is reported again.",
};

/// An active `ignore` entry that accepted nothing.
pub const IGNORE_UNUSED: Rule = Rule {
    code: "ignore-unused",
    severity: Severity::Note,
    description: "An `ignore` entry matches nothing this run reported and can be removed.",
};

/// One entry as written; `id` is audit's advisory ignore, which this module leaves to audit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntry {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub line: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

/// A section that holds nothing but `ignore` (harden, check).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnlyIgnores {
    #[serde(default)]
    ignore: Vec<serde_json::Value>,
}

/// A section whose other keys its command validates (pin, audit).
#[derive(Debug, Default, Deserialize)]
struct WithIgnores {
    #[serde(default)]
    ignore: Vec<serde_json::Value>,
}

/// One validated entry.
#[derive(Debug, Clone)]
pub struct ConfigIgnore {
    /// The section it came from (`harden`).
    pub section: &'static str,
    /// The finding code it accepts.
    pub code: String,
    /// File or directory, relative to the workspace root, normalized.
    pub path: PathBuf,
    /// Only this line of `path`.
    pub line: Option<usize>,
    /// Why it is tolerated.
    pub reason: String,
    /// Last day it applies.
    pub until: Option<Date>,
    /// Line of the entry in the manifest.
    pub at: Option<usize>,
}

impl ConfigIgnore {
    fn active(&self, today: Date) -> bool {
        self.until.is_none_or(|u| today <= u)
    }

    fn accepts(&self, f: &Finding, root: &Path) -> bool {
        let (Some(file), true) = (&f.file, f.code == self.code) else {
            return false;
        };
        let Ok(rel) = file.strip_prefix(root) else {
            return false;
        };
        rel.starts_with(&self.path) && self.line.is_none_or(|l| f.line == Some(l))
    }
}

/// A relative path with `.` removed; `None` for an absolute path or one that climbs out (`..`).
fn normalize(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Read and validate the code-based ignores of `[<prefix>.<section>]`. `codes` are the codes the
/// section's command can report; `strict` when the section holds nothing but `ignore`.
pub fn load(
    config: &Config,
    section: &'static str,
    codes: &[&str],
    strict: bool,
) -> Result<Vec<ConfigIgnore>> {
    let raw = if strict {
        config.section::<OnlyIgnores>(section)?.ignore
    } else {
        config.section::<WithIgnores>(section)?.ignore
    };
    let lines = config.array_lines(section, "ignore");
    let name = config.section_name(section);
    let mut out = Vec::new();
    for (i, e) in raw.into_iter().enumerate() {
        let at = lines.get(i).copied().flatten();
        let bad = |msg: String| -> anyhow::Error {
            InputError::at(
                config.file(),
                at,
                None,
                format!("in `[{name}]` ignore: {msg}"),
            )
            .into()
        };
        // Each entry on its own, so an error points at its line.
        let e = RawEntry::deserialize(e).map_err(|err| bad(err.to_string()))?;
        let Some(code) = e.code.map(|c| c.trim().to_string()) else {
            if section == "audit" && e.id.is_some() {
                continue; // an advisory ignore: audit's own
            }
            return Err(bad(if section == "audit" {
                "an entry needs `id` (an advisory) or `code` and `path` (a finding)".into()
            } else {
                "an entry needs `code`, `path` and `reason`".into()
            }));
        };
        if e.id.is_some() {
            return Err(bad(
                "an entry has either `id` (an advisory) or `code` (a finding), not both".into(),
            ));
        }
        if !codes.contains(&code.as_str()) {
            return Err(bad(format!(
                "`{code}` is not a finding code of `{section}` (codes: {})",
                codes.join(", ")
            )));
        }
        let path = match e.path.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(bad(format!(
                    "the entry for `{code}` has no `path` (a file or directory relative to the workspace root)"
                )));
            }
            Some(p) => normalize(p).ok_or_else(|| {
                bad(format!(
                    "`path = \"{p}\"` must be relative to the workspace root and stay inside it"
                ))
            })?,
        };
        let line = match e.line {
            None => None,
            Some(n) => Some(
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| bad(format!("`line = {n}` is not a line number")))?,
            ),
        };
        let reason = e.reason.map(|r| r.trim().to_string()).unwrap_or_default();
        if reason.is_empty() {
            return Err(bad(format!(
                "the entry for `{code}` has no `reason`: say why the finding is tolerated"
            )));
        }
        let until = match e.until {
            None => None,
            Some(u) => Some(
                Date::parse(u.trim())
                    .ok_or_else(|| bad(format!("`until = \"{u}\"` is not a date (YYYY-MM-DD)")))?,
            ),
        };
        out.push(ConfigIgnore {
            section,
            code,
            path,
            line,
            reason,
            until,
            at,
        });
    }
    Ok(out)
}

/// Move the findings an active entry accepts into `report.suppressed`; then report each expired
/// entry, and each active entry that accepted nothing when `judge_unused(entry)` says this run
/// could have produced its finding (its part ran, its file was looked at).
pub fn apply(
    report: &mut Report,
    config: &Config,
    root: &Path,
    ignores: &[ConfigIgnore],
    today: Date,
    suppressible: &dyn Fn(&str) -> bool,
    judge_unused: impl Fn(&ConfigIgnore) -> bool,
) {
    let mut used = vec![false; ignores.len()];
    let mut kept = Vec::with_capacity(report.findings.len());
    for f in std::mem::take(&mut report.findings) {
        let hit = suppressible(f.code)
            .then(|| {
                ignores
                    .iter()
                    .position(|ig| ig.active(today) && ig.accepts(&f, root))
            })
            .flatten();
        match hit {
            Some(i) => {
                used[i] = true;
                report.suppressed.push(Suppressed {
                    finding: f,
                    reason: Some(ignores[i].reason.clone()),
                });
            }
            None => kept.push(f),
        }
    }
    report.findings = kept;
    let name = |ig: &ConfigIgnore| {
        let mut s = format!("{} at {}", ig.code, ig.path.display());
        if let Some(l) = ig.line {
            s.push_str(&format!(":{l}"));
        }
        s
    };
    for (ig, used) in ignores.iter().zip(used) {
        let snippet = ig
            .at
            .and_then(|l| crate::workspace::line_text(config.source(), l));
        if !ig.active(today) {
            let until = ig.until.map(|d| d.to_string()).unwrap_or_default();
            report.add_rule(IGNORE_EXPIRED);
            report.findings.push(
                Finding::new(
                    IGNORE_EXPIRED,
                    format!(
                        "the `{}` ignore of {} expired on {until}; its findings are reported again (reason was: {})",
                        ig.section,
                        name(ig),
                        ig.reason
                    ),
                )
                .at(config.file(), ig.at, snippet)
                .with_fix("fix the finding, or review the ignore and move `until` forward"),
            );
        } else if !used && judge_unused(ig) {
            report.add_rule(IGNORE_UNUSED);
            report.findings.push(
                Finding::new(
                    IGNORE_UNUSED,
                    format!(
                        "the `{}` ignore of {} accepted no finding",
                        ig.section,
                        name(ig)
                    ),
                )
                .at(config.file(), ig.at, snippet)
                .with_fix("remove the entry (or correct its path or line)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_workspace() {
        assert_eq!(
            normalize("./.github/workflows/"),
            Some(PathBuf::from(".github/workflows"))
        );
        assert_eq!(normalize("../elsewhere"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(normalize("."), None);
    }

    #[test]
    fn a_directory_covers_its_files_but_not_a_prefix_of_a_name() {
        let ig = ConfigIgnore {
            section: "harden",
            code: "artipacked".into(),
            path: PathBuf::from(".github/workflows"),
            line: None,
            reason: "r".into(),
            until: None,
            at: None,
        };
        let rule = Rule {
            code: "artipacked",
            ..IGNORE_UNUSED
        };
        let f = |p: &str| Finding::new(rule, "x").at(&Path::new("/w").join(p), Some(3), None);
        assert!(ig.accepts(&f(".github/workflows/ci.yml"), Path::new("/w")));
        assert!(!ig.accepts(&f(".github/workflows-old/ci.yml"), Path::new("/w")));
        assert!(!ig.accepts(&f("ci.yml"), Path::new("/w")));
    }
}
