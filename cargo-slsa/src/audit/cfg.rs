//! `[workspace.metadata.slsa.audit]`: ignores with reasons and expiry dates, and the deny level.
//!
//! ```toml
//! [workspace.metadata.slsa.audit]
//! deny = "warnings"
//! ignore = [
//!   { id = "RUSTSEC-2024-0001", reason = "not reachable: we never parse untrusted input", until = "2027-01-31" },
//! ]
//! ```
//!
//! An ignore without a reason is rejected (exit 2 at file:line): the point of the list is that a
//! reviewer can see why each advisory is tolerated. An ignore past its `until` date stops applying.

use anyhow::Result;
use serde::Deserialize;

use crate::cli::{AuditArgs, DenyLevel};
use crate::error::InputError;
use crate::report::Severity;
use crate::report::config_ignore::RawEntry;
use crate::timefmt::Date;
use crate::workspace::Config;

/// The configuration section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Section {
    /// Advisory ignores (`id`) and finding ignores (`code`, handled by
    /// [`crate::report::config_ignore`]) share the list.
    #[serde(default)]
    ignore: Vec<serde_json::Value>,
    #[serde(default)]
    deny: Option<DenyLevel>,
}

struct RawIgnore {
    id: String,
    reason: Option<String>,
    until: Option<String>,
}

/// One validated ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// Advisory id (`RUSTSEC-…`) or one of its aliases (`CVE-…`, `GHSA-…`).
    pub id: String,
    /// Why it is tolerated.
    pub reason: String,
    /// Last day (UTC) the ignore applies, if limited.
    pub until: Option<Date>,
    /// Line of the entry in the manifest.
    pub line: Option<usize>,
}

impl Ignore {
    /// Whether the ignore still applies on `today`.
    pub fn active(&self, today: Date) -> bool {
        self.until.is_none_or(|u| today <= u)
    }
}

/// The effective audit policy: config merged with flags (flags win).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Validated ignores, in config order.
    pub ignores: Vec<Ignore>,
    /// Findings at or above this severity fail the run.
    pub deny: Severity,
}

impl Policy {
    /// Read and validate the config section; `--deny` overrides `deny`.
    pub fn new(args: &AuditArgs, config: &Config) -> Result<Policy> {
        let section: Section = config.section("audit")?;
        let mut ignores = Vec::new();
        let lines = config.array_lines("audit", "ignore");
        for (i, raw) in section.ignore.into_iter().enumerate() {
            let line = lines.get(i).copied().flatten();
            let raw = RawEntry::deserialize(raw).map_err(|e| {
                InputError::at(
                    config.file(),
                    line,
                    None,
                    format!("in the audit ignore list: {e}"),
                )
            })?;
            // A finding ignore (`code`): validated and applied with every command's.
            let Some(raw_id) = raw.id.filter(|_| raw.code.is_none()) else {
                continue;
            };
            let raw = RawIgnore {
                id: raw_id,
                reason: raw.reason,
                until: raw.until,
            };
            let bad = |msg: String| InputError::at(config.file(), line, None, msg);
            let id = raw.id.trim().to_string();
            if id.is_empty() {
                return Err(bad("audit ignore: `id` is empty".into()).into());
            }
            let reason = raw.reason.map(|r| r.trim().to_string()).unwrap_or_default();
            if reason.is_empty() {
                return Err(bad(format!(
                    "audit ignore of {id} has no `reason`: say why the advisory is tolerated"
                ))
                .into());
            }
            let until = match raw.until {
                None => None,
                Some(u) => Some(Date::parse(u.trim()).ok_or_else(|| {
                    bad(format!(
                        "audit ignore of {id}: `until = \"{u}\"` is not a date (YYYY-MM-DD)"
                    ))
                })?),
            };
            ignores.push(Ignore {
                id,
                reason,
                until,
                line,
            });
        }
        let deny = match args.deny.or(section.deny) {
            Some(DenyLevel::Warnings) => Severity::Warning,
            Some(DenyLevel::Errors) | None => Severity::Error,
        };
        Ok(Policy { ignores, deny })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_applies_through_its_last_day() {
        let until = Date::parse("2026-11-23");
        let ig = Ignore {
            id: "RUSTSEC-2020-0001".into(),
            reason: "r".into(),
            until,
            line: None,
        };
        assert!(ig.active(Date::parse("2026-11-23").expect("date")));
        assert!(!ig.active(Date::parse("2026-11-24").expect("date")));
    }
}
