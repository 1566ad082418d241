//! `[workspace.metadata.slsa.update]`: the cooldown, groups, ignore rules, the pull-request
//! limit and the review signals that hold an update back.

use super::*;

/// `[workspace.metadata.slsa.update]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpdateConfig {
    /// Cooldown in days (default 3).
    pub min_age: Option<u32>,
    /// Default grouping.
    pub group: Option<GroupBy>,
    /// Named groups: crates whose names match go into one pull request.
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    /// Ignore rules.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// Open-PR limit (default 5).
    pub open_pull_requests_limit: Option<usize>,
    /// Review signal codes that hold an update back from its pull request.
    #[serde(default)]
    pub deny_signals: Vec<String>,
}

/// A named group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GroupConfig {
    /// The group's name (the branch is `cargo-slsa/<name>`).
    pub name: String,
    /// Crate name patterns (`*` matches any run of characters).
    pub patterns: Vec<String>,
}

/// An ignore rule: a crate (pattern), optionally only some versions or update kinds, until a date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IgnoreRule {
    /// Crate name pattern (`*` matches any run of characters).
    pub name: String,
    /// Version requirements to ignore (e.g. `">=2"`); all versions when absent.
    pub versions: Option<Vec<String>>,
    /// `patch`, `minor`, `major`; all when absent.
    pub update_types: Option<Vec<String>>,
    /// The rule stops applying after this date (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Why (shown in the plan).
    pub reason: Option<String>,
}

/// `*`-glob match.
pub fn glob(pattern: &str, name: &str) -> bool {
    pub(super) fn m(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), name.as_bytes())
}
