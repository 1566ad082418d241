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
use crate::workspace::Config;

/// The configuration section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Section {
    #[serde(default)]
    ignore: Vec<RawIgnore>,
    #[serde(default)]
    deny: Option<DenyLevel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    id: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
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

/// A calendar date (UTC), ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub y: i32,
    /// Month 1–12.
    pub m: u32,
    /// Day 1–31.
    pub d: u32,
}

impl Date {
    /// Parse `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.split('-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&d).then_some(Date { y, m, d })
    }

    /// The date of `unix_secs` seconds since the epoch (civil-from-days, proleptic Gregorian).
    pub fn from_unix(unix_secs: i64) -> Date {
        let z = unix_secs.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
        Date { y, m, d }
    }

    /// Today, UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Date::from_unix(secs)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.y, self.m, self.d)
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
        for raw in section.ignore {
            let line = config.line_of(&format!("\"{}\"", raw.id));
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
    fn dates_parse_and_order() {
        assert_eq!(
            Date::parse("2024-02-29"),
            Some(Date {
                y: 2024,
                m: 2,
                d: 29
            })
        );
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-13-01"), None);
        assert_eq!(Date::parse("2023-1-01"), None);
        assert_eq!(Date::parse("tomorrow"), None);
        assert!(Date::parse("2026-01-31") < Date::parse("2026-02-01"));
    }

    #[test]
    fn unix_time_maps_to_civil_dates() {
        assert_eq!(Date::from_unix(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix(951_782_400).to_string(), "2000-02-29");
        assert_eq!(Date::from_unix(1_795_392_000).to_string(), "2026-11-23");
        assert_eq!(Date::from_unix(-86_400).to_string(), "1969-12-31");
    }

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
