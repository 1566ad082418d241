//! `cargo slsa audit`: the locked packages against the RustSec advisory database.
//!
//! Works from `Cargo.lock` alone — no resolution, no cargo run — so it is fast and needs no
//! network when the database is given with `--db`. Matching is the `rustsec` crate's own
//! (`Versions::is_vulnerable`, withdrawn advisories skipped, informational kinds `unmaintained` and
//! `unsound` reported as warnings, `notice` left out) over packages from crates.io, the registry
//! the database describes, exactly as cargo-audit does. Yanked versions are asked of the
//! registries (see [`yanked`]) unless `--offline`.
//!
//! Every finding points at the package's `[[package]]` line in Cargo.lock and carries the
//! shortest dependency path from a workspace (path) package, so a reviewer sees why it is there.

pub mod cfg;
pub mod codes;
/// The advisory database: located, fetched and read once here; `update` reads it through this
/// module too (security-first planning), so both see the same files the same way.
pub mod db;
mod paths;
mod yanked;

use std::collections::BTreeSet;

use anyhow::Result;
use rustsec::Advisory;
use rustsec::advisory::Informational;
use serde_json::json;

use crate::Ctx;
use crate::cli::AuditArgs;
use std::path::Path;

use crate::error::InputError;
use crate::report::{Finding, Report, Severity};
use crate::timefmt::Date;
use crate::workspace::lock::{CRATES_IO_REGISTRY, CRATES_IO_SPARSE};
use crate::workspace::{Config, LockPackage, Lockfile};
use cfg::Policy;
use codes::AuditCode;

/// Whether one of the `patched` requirements admits a version cargo's semver rule treats as
/// compatible with `current` (same leftmost non-zero component), so `cargo update -p` can get
/// there.
fn patch_is_compatible(current: &str, patched: &[String]) -> bool {
    let Ok(cur) = semver::Version::parse(current) else {
        return true;
    };
    let compatible = |v: &semver::Version| match (cur.major, cur.minor) {
        (0, 0) => v.major == 0 && v.minor == 0 && v.patch == cur.patch,
        (0, m) => v.major == 0 && v.minor == m,
        (m, _) => v.major == m,
    };
    patched.iter().any(|req| {
        let Ok(r) = semver::VersionReq::parse(req) else {
            return true;
        };
        // The lowest versions a requirement admits are its comparators' own versions.
        r.comparators.iter().any(|c| {
            let v = semver::Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
            r.matches(&v) && compatible(&v) && v >= cur
        })
    })
}

/// Run `cargo slsa audit`.
pub fn run(ctx: &Ctx, args: &AuditArgs) -> Result<Report> {
    let progress = ctx.progress();
    let given_lock = args.file.as_ref().map(|f| {
        if f.is_absolute() {
            f.clone()
        } else {
            ctx.cwd.join(f)
        }
    });
    // The workspace (for configuration and the lock), or — with --file outside any workspace —
    // just that lock with the default configuration.
    let located = crate::workspace::root_config(ctx);
    let (root, config) = match (located, &given_lock) {
        (Ok(found), _) => found,
        (Err(_), Some(lock)) => (
            lock.parent().map(Path::to_path_buf).unwrap_or_default(),
            Config::default(),
        ),
        (Err(e), None) => return Err(e),
    };
    let policy = Policy::new(args, &config)?;
    // The manifest's text, for snippets of ignore entries.
    let config_src = std::fs::read_to_string(config.file()).unwrap_or_default();
    let lock_path = given_lock.unwrap_or_else(|| root.join("Cargo.lock"));
    if !lock_path.is_file() {
        return Err(InputError::at(
            &lock_path,
            None,
            None,
            "no Cargo.lock to audit: generate it with `cargo slsa pin` (or `cargo generate-lockfile`) and commit it",
        )
        .into());
    }
    let lock = Lockfile::load(&lock_path)?;
    let db = db::locate(args, ctx.offline, &progress)?;

    let audited: Vec<&LockPackage> = lock
        .packages
        .iter()
        .filter(|p| p.source.is_some())
        .collect();
    let names: BTreeSet<&str> = audited.iter().map(|p| p.name.as_str()).collect();
    let advisories = db::load_for(&db.path, names.iter().copied())?;

    let mut report = Report::new("audit", AuditCode::rules());
    report.add_rule(crate::report::config_ignore::IGNORE_EXPIRED);
    report.add_rule(crate::report::config_ignore::IGNORE_UNUSED);
    report.deny = policy.deny;
    let today = Date::today();
    let paths = paths::Paths::new(&lock);
    let mut used = vec![false; policy.ignores.len()];
    let mut listed = Vec::new();
    let mut ignored = Vec::new();

    for p in &audited {
        let Ok(version) = p.version.parse::<semver::Version>() else {
            return Err(InputError::at(
                &lock.path,
                Some(p.line),
                None,
                format!("`{}` has an invalid version `{}`", p.name, p.version),
            )
            .into());
        };
        for adv in advisories.iter().filter(|a| applies(a, p, &version)) {
            let Some(code) = code_of(adv) else { continue };
            let id = adv.id().as_str();
            let aliases: Vec<&str> = adv.metadata.aliases.iter().map(|a| a.as_str()).collect();
            // Every ignore naming this advisory (by id or alias); any active one suppresses it.
            let matching: Vec<usize> = policy
                .ignores
                .iter()
                .enumerate()
                .filter(|(_, ig)| ig.id == id || aliases.contains(&ig.id.as_str()))
                .map(|(i, _)| i)
                .collect();
            let active: Vec<usize> = matching
                .iter()
                .copied()
                .filter(|&i| policy.ignores[i].active(today))
                .collect();
            if let Some(&first) = active.first() {
                for &i in &active {
                    used[i] = true;
                }
                let ig = &policy.ignores[first];
                ignored.push(json!({
                    "id": id, "package": p.name, "version": p.version,
                    "reason": ig.reason, "until": ig.until.map(|d| d.to_string()),
                }));
                continue;
            }
            let path = paths.describe(p);
            let patched: Vec<String> = adv
                .versions
                .patched()
                .iter()
                .map(|r| r.to_string())
                .collect();
            let alias_text = if aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", aliases.join(", "))
            };
            let message = format!(
                "`{} {}`: {id}{alias_text}: {}; dependency path: {path}",
                p.name,
                p.version,
                adv.title().trim()
            );
            let fix = if patched.is_empty() {
                match code {
                    AuditCode::Unmaintained => format!(
                        "replace `{}` with a maintained alternative (see https://rustsec.org/advisories/{id})",
                        p.name
                    ),
                    _ => format!(
                        "no patched version exists: remove or replace `{}` (see https://rustsec.org/advisories/{id})",
                        p.name
                    ),
                }
            } else if patch_is_compatible(&p.version, &patched) {
                format!(
                    "upgrade `{}` to a patched version ({}), e.g. `cargo update -p {}@{}`",
                    p.name,
                    patched.join(" or "),
                    p.name,
                    p.version
                )
            } else {
                // `cargo update -p` stays within the requirement that pulled the version in, so
                // it cannot reach a semver-incompatible fix: the dependent has to move.
                let dependent = path
                    .rsplit(" → ")
                    .nth(1)
                    .map(|d| format!("`{d}`"))
                    .unwrap_or_else(|| "the crate that depends on it".into());
                format!(
                    "the patched versions ({}) are not semver-compatible with {}, so `cargo \
                     update` cannot reach them: raise the requirement on `{}` in {dependent} (or \
                     upgrade {dependent} to a release that depends on a patched `{}`)",
                    patched.join(" or "),
                    p.version,
                    p.name,
                    p.name
                )
            };
            report.findings.push(locate(
                Finding::new(code.rule(), message).with_fix(fix),
                &lock,
                p,
            ));
            listed.push(json!({
                "id": id,
                "kind": code.as_str(),
                "package": p.name,
                "version": p.version,
                "title": adv.title().trim(),
                "aliases": aliases,
                "patched": patched,
                "cvss": adv.metadata.cvss.as_ref().map(|c| c.to_string()),
                "url": format!("https://rustsec.org/advisories/{id}"),
                "path": paths.names(p),
            }));
        }
    }

    // Ignores: expired ones say so; active ones that matched nothing are dead weight.
    for (i, ig) in policy.ignores.iter().enumerate() {
        let snippet = ig
            .line
            .and_then(|l| crate::workspace::line_text(&config_src, l));
        if !ig.active(today) {
            let until = ig.until.map(|d| d.to_string()).unwrap_or_default();
            report.findings.push(
                Finding::new(
                    crate::report::config_ignore::IGNORE_EXPIRED,
                    format!(
                        "the ignore of {} expired on {until}; the advisory is reported again (reason was: {})",
                        ig.id, ig.reason
                    ),
                )
                .at(config.file(), ig.line, snippet)
                .with_fix("fix the advisory, or review the ignore and move `until` forward"),
            );
        } else if !used[i] {
            report.findings.push(
                Finding::new(
                    crate::report::config_ignore::IGNORE_UNUSED,
                    format!(
                        "the ignore of {} matches no advisory for the locked packages",
                        ig.id
                    ),
                )
                .at(config.file(), ig.line, snippet)
                .with_fix("remove the entry"),
            );
        }
    }

    // Yanked versions.
    let yanked_checked = if ctx.offline || args.no_yanked {
        report.notes.push(if args.no_yanked {
            "yanked versions were not checked (--no-yanked)".into()
        } else {
            "yanked versions were not checked: the registry index is needed and --offline is set"
                .into()
        });
        false
    } else {
        let registry: Vec<&LockPackage> = audited
            .iter()
            .copied()
            .filter(|p| {
                p.source
                    .as_deref()
                    .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
            })
            .collect();
        let spinner = progress.spinner(format!(
            "asking the registry whether {} packages are yanked",
            registry.len()
        ));
        let outcome = yanked::check(&root, &registry)?;
        drop(spinner);
        for problem in &outcome.problems {
            report.notes.push(problem.clone());
        }
        for p in &registry {
            if outcome
                .yanked
                .contains(&(p.name.clone(), p.version.clone()))
            {
                let finding = Finding::new(
                    AuditCode::Yanked.rule(),
                    format!(
                        "`{} {}` was yanked from its registry; dependency path: {}",
                        p.name,
                        p.version,
                        paths.describe(p)
                    ),
                )
                .with_fix(format!(
                    "move to a version that is not yanked: `cargo update -p {}@{}`",
                    p.name, p.version
                ));
                report.findings.push(locate(finding, &lock, p));
            }
        }
        outcome.checked > 0 || outcome.problems.is_empty()
    };

    report.sort();
    let count = |c: AuditCode| {
        report
            .findings
            .iter()
            .filter(|f| f.code == c.as_str())
            .count()
    };
    let counts = json!({
        "vulnerabilities": count(AuditCode::Vulnerability),
        "unmaintained": count(AuditCode::Unmaintained),
        "unsound": count(AuditCode::Unsound),
        "yanked": count(AuditCode::Yanked),
    });
    report.summary.insert(
        "database".into(),
        json!({
            "path": db.path,
            "commit": db.commit,
            "fetched": db.fetched,
            "advisories_read": advisories.len(),
        }),
    );
    report
        .summary
        .insert("packages".into(), json!(audited.len()));
    report.summary.insert("counts".into(), counts);
    report.summary.insert("advisories".into(), json!(listed));
    report.summary.insert("ignored".into(), json!(ignored));
    report
        .summary
        .insert("yanked_checked".into(), json!(yanked_checked));
    report.summary.insert(
        "deny".into(),
        json!(if policy.deny == Severity::Warning {
            "warnings"
        } else {
            "errors"
        }),
    );
    Ok(report)
}

/// Whether `adv` is about this locked package and version (and still in force).
fn applies(adv: &Advisory, p: &LockPackage, version: &semver::Version) -> bool {
    if adv.metadata.withdrawn.is_some() || adv.metadata.package.as_str() != p.name {
        return false;
    }
    let source = p.source.as_deref().unwrap_or("");
    let same_source = match &adv.metadata.source {
        // The database describes crates.io unless an advisory names another registry.
        None => source == CRATES_IO_REGISTRY || source == CRATES_IO_SPARSE,
        Some(s) => {
            let want = s.url().as_str().trim_end_matches('/');
            source
                .split_once('+')
                .is_some_and(|(_, url)| url.trim_end_matches('/') == want)
        }
    };
    same_source && adv.versions.is_vulnerable(version)
}

/// The finding code of an advisory kind; `None` for kinds that are not reported (notices).
fn code_of(adv: &Advisory) -> Option<AuditCode> {
    match &adv.metadata.informational {
        None => Some(AuditCode::Vulnerability),
        Some(Informational::Unmaintained) => Some(AuditCode::Unmaintained),
        Some(Informational::Unsound) => Some(AuditCode::Unsound),
        Some(_) => None,
    }
}

/// The line a finding about `p` points at: its `name = "…"` line (cargo writes it right after
/// `[[package]]`), else the `[[package]]` line.
fn name_line(lock: &Lockfile, p: &LockPackage) -> usize {
    let next = p.line + 1;
    match crate::workspace::line_text(&lock.src, next) {
        Some(t) if t.trim_start().starts_with("name") => next,
        _ => p.line,
    }
}

fn locate(f: Finding, lock: &Lockfile, p: &LockPackage) -> Finding {
    let line = name_line(lock, p);
    f.at(
        &lock.path,
        Some(line),
        crate::workspace::line_text(&lock.src, line),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_within_reach_of_cargo_update() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(patch_is_compatible("1.0.0", &p(&[">= 1.2.0"])));
        assert!(patch_is_compatible("0.3.20", &p(&["^0.3.27", ">= 0.4.0"])));
        assert!(!patch_is_compatible("0.3.0", &p(&[">= 0.4.0"])));
        assert!(!patch_is_compatible("1.4.0", &p(&[">= 2.0.0"])));
        assert!(!patch_is_compatible("0.0.3", &p(&[">= 0.0.4"])));
    }
}
