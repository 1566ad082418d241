//! The update plan: for each registry dependency as declared, the version to move to and why.
//!
//! Rules (cargo's semver, <https://doc.rust-lang.org/cargo/reference/semver.html>): two versions
//! are compatible when their leftmost non-zero component is equal (`1.2 → 1.9`, `0.3.1 → 0.3.7`,
//! but `0.3 → 0.4` and `0.0.1 → 0.0.2` are breaking). A candidate is never yanked, never a
//! pre-release unless the current version is one, never declares a `rust-version` above the
//! package's, and is at least `min-age` days old by the index's `pubtime` — unless it fixes an
//! advisory that affects the current version, which makes it a security update.

use std::collections::BTreeMap;

use semver::Version;
use serde::Serialize;

use crate::registry::Published;

/// patch, minor or major, relative to the current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Same major.minor (for 0.x: same minor and patch-only change).
    Patch,
    /// Compatible, larger.
    Minor,
    /// Incompatible.
    Major,
}

impl Kind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Patch => "patch",
            Kind::Minor => "minor",
            Kind::Major => "major",
        }
    }
}

/// Whether `b` is semver-compatible with `a` by cargo's rule.
pub fn compatible(a: &Version, b: &Version) -> bool {
    if a.major != 0 || b.major != 0 {
        a.major == b.major
    } else if a.minor != 0 || b.minor != 0 {
        a.minor == b.minor
    } else {
        a.patch == b.patch
    }
}

/// The kind of moving from `a` to `b`.
pub fn kind(a: &Version, b: &Version) -> Kind {
    if !compatible(a, b) {
        Kind::Major
    } else if a.major == 0 && a.minor == 0 {
        Kind::Patch
    } else if a.major == 0 {
        // 0.x.y: the minor is the "major"; a change of y is a patch.
        Kind::Patch
    } else if a.minor != b.minor {
        Kind::Minor
    } else {
        Kind::Patch
    }
}

/// A `rust-version` (`1.70` or `1.70.1`) as a comparable version.
pub fn rust_version(s: &str) -> Option<Version> {
    let s = s.trim();
    Version::parse(s)
        .ok()
        .or_else(|| Version::parse(&format!("{s}.0")).ok())
}

/// Why a version was passed over; counted for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// Yanked.
    Yanked,
    /// A pre-release.
    Prerelease,
    /// Needs a newer Rust.
    Msrv,
    /// Too new.
    Cooldown,
    /// Ignored by configuration.
    Ignored,
    /// Affected by an advisory the current version is not.
    Vulnerable,
    /// Outside a requirement the workspace declares (lockfile refreshes change none).
    Requirement,
}

/// What the plan needs to know about one dependency.
pub struct Input<'a> {
    /// The locked version.
    pub current: &'a Version,
    /// Every published version.
    pub published: &'a [Published],
    /// The package's rust-version.
    pub msrv: Option<&'a Version>,
    /// Now (Unix seconds) and the cooldown in seconds.
    pub now: i64,
    pub min_age_secs: i64,
    /// Propose incompatible versions.
    pub breaking: bool,
    /// Advisory ids affecting a version: `affects(id_set_for(version))`.
    pub advisories_of: &'a dyn Fn(&Version) -> Vec<String>,
    /// Whether configuration ignores this version.
    pub ignored: &'a dyn Fn(&Version, Kind) -> bool,
    /// Whether the declared requirements admit this version (always, unless requirements
    /// must stay as they are).
    pub admitted: &'a dyn Fn(&Version) -> bool,
}

/// The chosen version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Target version.
    pub to: Version,
    /// Its kind.
    pub kind: Kind,
    /// Advisories it fixes (affecting the current version, not this one).
    pub security: Vec<String>,
    /// Its pubtime.
    pub published: Option<i64>,
    /// Chosen inside the cooldown because it fixes advisories.
    pub in_cooldown: bool,
}

/// A newer version the rules hold back, and why (for the human output and the summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub version: Version,
    pub reason: String,
}

/// Pick the version to move to, count what was skipped, and say why each newer version was
/// held back.
pub fn choose(i: &Input<'_>) -> (Option<Choice>, BTreeMap<Skip, usize>, Vec<Held>) {
    let mut skipped = BTreeMap::new();
    let mut held: Vec<Held> = Vec::new();
    let current_advisories = (i.advisories_of)(i.current);
    let mut eligible: Vec<(&Published, bool)> = Vec::new(); // (version, in cooldown)
    for p in i.published {
        let v = &p.version;
        if v <= i.current {
            continue;
        }
        let k = kind(i.current, v);
        if k == Kind::Major && !i.breaking {
            continue;
        }
        let same_release =
            (v.major, v.minor, v.patch) == (i.current.major, i.current.minor, i.current.patch);
        let skip = if p.yanked {
            Some(Skip::Yanked)
        } else if !v.pre.is_empty() && (i.current.pre.is_empty() || !same_release) {
            // As cargo: a pre-release only to move along the current pre-release's own line.
            Some(Skip::Prerelease)
        } else if (i.advisories_of)(v)
            .iter()
            .any(|a| !current_advisories.contains(a))
        {
            Some(Skip::Vulnerable)
        } else if let (Some(msrv), Some(rv)) =
            (i.msrv, p.rust_version.as_deref().and_then(rust_version))
            && rv > *msrv
        {
            Some(Skip::Msrv)
        } else if !(i.admitted)(v) {
            Some(Skip::Requirement)
        } else if (i.ignored)(v, k) {
            Some(Skip::Ignored)
        } else {
            None
        };
        if let Some(s) = skip {
            *skipped.entry(s).or_insert(0) += 1;
            let reason = match s {
                Skip::Yanked => "yanked".to_string(),
                Skip::Prerelease => "a pre-release".to_string(),
                Skip::Vulnerable => format!(
                    "affected by {}",
                    (i.advisories_of)(v)
                        .into_iter()
                        .filter(|a| !current_advisories.contains(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Skip::Msrv => format!(
                    "needs Rust {}, above the rust-version {}",
                    p.rust_version.as_deref().unwrap_or("?"),
                    i.msrv.map(ToString::to_string).unwrap_or_default()
                ),
                Skip::Requirement => "outside the declared requirement".to_string(),
                Skip::Ignored => "ignored by the configuration".to_string(),
                Skip::Cooldown => "in the cooldown".to_string(),
            };
            held.push(Held {
                version: v.clone(),
                reason,
            });
            continue;
        }
        let young = p.pubtime.is_some_and(|t| i.now - t < i.min_age_secs);
        eligible.push((p, young));
    }
    // Newest mature version; a security fix may be younger.
    let fixes = |v: &Version| -> Vec<String> {
        let after = (i.advisories_of)(v);
        current_advisories
            .iter()
            .filter(|a| !after.contains(a))
            .cloned()
            .collect()
    };
    let best_mature = eligible
        .iter()
        .filter(|(_, young)| !young)
        .map(|(p, _)| *p)
        .max_by(|a, b| a.version.cmp(&b.version));
    let young_count = eligible.iter().filter(|(_, y)| *y).count();
    let choice = match best_mature {
        Some(p) if fixes(&p.version).len() == current_advisories.len() => Some((p, false)),
        mature => {
            // The mature choice (if any) leaves advisories open: take the oldest version that
            // fixes the most, even inside the cooldown.
            let mut fixers: Vec<&Published> = eligible
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| !fixes(&p.version).is_empty())
                .collect();
            fixers.sort_by(|a, b| {
                fixes(&b.version)
                    .len()
                    .cmp(&fixes(&a.version).len())
                    .then(a.version.cmp(&b.version))
            });
            match (fixers.first(), mature) {
                (Some(f), Some(m)) if fixes(&f.version).len() > fixes(&m.version).len() => {
                    let young = eligible.iter().any(|(p, y)| p.version == f.version && *y);
                    Some((*f, young))
                }
                (_, Some(m)) => Some((m, false)),
                (Some(f), None) => {
                    let young = eligible.iter().any(|(p, y)| p.version == f.version && *y);
                    Some((*f, young))
                }
                (None, None) => None,
            }
        }
    };
    if young_count > 0 {
        let used_young = choice.as_ref().is_some_and(|(_, y)| *y);
        let n = young_count - usize::from(used_young);
        if n > 0 {
            *skipped.entry(Skip::Cooldown).or_insert(0) += n;
        }
        let chosen = choice.as_ref().map(|(p, _)| &p.version);
        for (p, young) in &eligible {
            if *young && Some(&p.version) != chosen {
                let until = p
                    .pubtime
                    .map(|t| crate::timefmt::Date::from_unix(t + i.min_age_secs).to_string())
                    .unwrap_or_default();
                held.push(Held {
                    version: p.version.clone(),
                    reason: format!("in the cooldown until {until}"),
                });
            }
        }
    }
    // Only what is newer than the version chosen (or the current one) was held back.
    let floor = choice
        .as_ref()
        .map(|(p, _)| p.version.clone())
        .unwrap_or_else(|| i.current.clone());
    held.retain(|h| h.version > floor);
    held.sort_by(|a, b| a.version.cmp(&b.version));
    let choice = choice.map(|(p, young)| Choice {
        to: p.version.clone(),
        kind: kind(i.current, &p.version),
        security: fixes(&p.version),
        published: p.pubtime,
        in_cooldown: young,
    });
    (choice, skipped, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("version")
    }

    fn p(s: &str, days_old: i64) -> Published {
        Published {
            version: v(s),
            yanked: false,
            rust_version: None,
            pubtime: Some(1_000_000_000 - days_old * 86_400),
            checksum: String::new(),
        }
    }

    fn input<'a>(
        current: &'a Version,
        published: &'a [Published],
        advisories_of: &'a dyn Fn(&Version) -> Vec<String>,
    ) -> Input<'a> {
        Input {
            current,
            published,
            msrv: None,
            now: 1_000_000_000,
            min_age_secs: 3 * 86_400,
            breaking: false,
            advisories_of,
            ignored: &|_, _| false,
            admitted: &|_| true,
        }
    }

    #[test]
    fn cargo_compatibility_and_kinds() {
        assert!(compatible(&v("1.2.0"), &v("1.9.0")));
        assert!(!compatible(&v("1.2.0"), &v("2.0.0")));
        assert!(compatible(&v("0.3.1"), &v("0.3.7")));
        assert!(!compatible(&v("0.3.1"), &v("0.4.0")));
        assert!(!compatible(&v("0.0.1"), &v("0.0.2")));
        assert_eq!(kind(&v("1.2.0"), &v("1.2.5")), Kind::Patch);
        assert_eq!(kind(&v("1.2.0"), &v("1.3.0")), Kind::Minor);
        assert_eq!(kind(&v("0.3.0"), &v("0.3.2")), Kind::Patch);
        assert_eq!(kind(&v("0.3.0"), &v("0.4.0")), Kind::Major);
    }

    #[test]
    fn cooldown_yank_prerelease_msrv() {
        let none = |_: &Version| Vec::new();
        let mut pubs = vec![
            p("1.1.0", 30),
            p("1.2.0", 1),
            p("1.3.0-rc.1", 30),
            p("2.0.0", 30),
        ];
        let mut y = p("1.1.5", 30);
        y.yanked = true;
        pubs.push(y);
        let mut m = p("1.1.9", 30);
        m.rust_version = Some("1.99".into());
        pubs.push(m);
        let cur = v("1.0.0");
        let msrv = v("1.80.0");
        let mut i = input(&cur, &pubs, &none);
        i.msrv = Some(&msrv);
        let (c, skipped, _) = choose(&i);
        assert_eq!(c.expect("choice").to, v("1.1.0"));
        assert_eq!(skipped.get(&Skip::Cooldown), Some(&1));
        assert_eq!(skipped.get(&Skip::Yanked), Some(&1));
        assert_eq!(skipped.get(&Skip::Prerelease), Some(&1));
        assert_eq!(skipped.get(&Skip::Msrv), Some(&1));
        i.breaking = true;
        assert_eq!(choose(&i).0.expect("choice").to, v("2.0.0"));
    }

    #[test]
    fn newly_vulnerable_versions_and_foreign_prereleases_are_skipped() {
        let pubs = vec![p("1.1.0", 30), p("1.2.0", 30)];
        let adv = |ver: &Version| {
            if *ver == v("1.2.0") {
                vec!["RUSTSEC-2099-0002".to_string()]
            } else {
                vec![]
            }
        };
        let cur = v("1.0.0");
        let (c, skipped, _) = choose(&input(&cur, &pubs, &adv));
        assert_eq!(c.expect("choice").to, v("1.1.0"));
        assert_eq!(skipped.get(&Skip::Vulnerable), Some(&1));

        let none = |_: &Version| Vec::new();
        let pubs = vec![p("1.0.0-rc.2", 30), p("1.1.0-beta.1", 30), p("1.0.0", 30)];
        let cur = v("1.0.0-rc.1");
        let (c, _, _) = choose(&input(&cur, &pubs, &none));
        assert_eq!(
            c.expect("choice").to,
            v("1.0.0"),
            "stable over another line's beta"
        );
    }

    #[test]
    fn security_fixes_skip_the_cooldown() {
        let pubs = vec![p("1.0.1", 30), p("1.0.2", 0)];
        let adv = |ver: &Version| {
            if *ver < v("1.0.2") {
                vec!["RUSTSEC-2099-0001".to_string()]
            } else {
                vec![]
            }
        };
        let cur = v("1.0.0");
        let (c, _, _) = choose(&input(&cur, &pubs, &adv));
        let c = c.expect("choice");
        assert_eq!(c.to, v("1.0.2"));
        assert_eq!(c.security, ["RUSTSEC-2099-0001"]);
        assert!(c.in_cooldown);
    }
}
