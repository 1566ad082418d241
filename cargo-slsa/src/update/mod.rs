//! `cargo slsa update`: Dependabot-like dependency updates, with a cooldown, MSRV awareness and
//! security fixes first.
//!
//! 1. The plan ([`plan`]): registry dependencies as declared in every manifest (member tables,
//!    `[target.*]` tables, `[workspace.dependencies]`; inherited `workspace = true` entries are
//!    covered by the workspace entry), their locked versions, the registry index
//!    ([`crate::registry`]) and the RustSec database (through the audit module's database
//!    loader: the same files, the same matching).
//! 2. Ignore rules and groups from `[workspace.metadata.slsa.update]` and `--group`.
//! 3. `--dry-run`: the plan in `summary.updates`. Otherwise [`apply`]: the lock first
//!    (`cargo update --precise`), requirements raised only where they no longer admit the new
//!    version, comments kept; or `--open-pr` ([`pr`]): the same edits on a scratch copy,
//!    committed through the GitHub git-data API.

pub mod apply;
pub mod body;
pub mod codes;
mod config;
pub mod git;
pub mod plan;
pub mod pr;
mod security;
mod tags;
mod workspaces;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;
use semver::{Version, VersionReq};
use serde::Deserialize;
use serde_json::json;

use crate::Ctx;
use crate::cli::{AuditArgs, DbArgs, GroupBy, UpdateArgs};
use crate::error::InputError;
use crate::report::{self, Finding, Report};
use crate::workspace::{Cargo, DepDecl, DepTable, Workspace};
pub use codes::UpdateCode;
pub use config::*;
use plan::Kind;
use security::*;
use tags::*;
use workspaces::*;

/// One planned update.
#[derive(Debug, Clone)]
pub struct Update {
    /// Crate name.
    pub name: String,
    /// Locked version now.
    pub from: Version,
    /// Version to move to.
    pub to: Version,
    /// patch / minor / major.
    pub kind: Kind,
    /// Advisories fixed.
    pub security: Vec<String>,
    /// Publication time of `to`.
    pub published: Option<i64>,
    /// The declarations (manifest, decl) that select `from`.
    pub decls: Vec<(PathBuf, DepDecl)>,
    /// The `.crate` checksum of `to` from the index.
    pub checksum: String,
    /// Group key: `cargo-slsa/<this>` is the branch.
    pub group: String,
    /// For a git dependency: the `tag`/`rev` change (`from`/`to` are then the tags' versions).
    pub git: Option<git::GitMove>,
    /// The registry, when it is not the default index (named, or a lock source elsewhere).
    pub registry_source: Option<String>,
}

/// Run `cargo slsa update`: once, or for each workspace (`--manifest-path` several times, or
/// `--all-workspaces`), merging the reports.
pub fn run(ctx: &Ctx, args: &UpdateArgs) -> Result<Report> {
    let manifests: Vec<PathBuf> = if args.all_workspaces {
        discover_workspaces(ctx)?
    } else {
        ctx.manifest_paths.clone()
    };
    if manifests.len() <= 1 {
        let mut one = ctx.clone();
        if let Some(m) = manifests.first() {
            one.manifest_path = Some(m.clone());
        }
        return run_one(&one, args);
    }
    let mut merged = Report::new("update", UpdateCode::rules());
    let mut all_updates = Vec::new();
    let mut all_prs = Vec::new();
    let mut failures = Vec::new();
    for m in &manifests {
        let mut one = ctx.clone();
        one.manifest_path = Some(m.clone());
        one.manifest_paths = vec![m.clone()];
        let shown = m.display().to_string();
        // One workspace's failure does not stop the others; it is said at the end.
        let r = match run_one(&one, args) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{shown}: {e:#}"));
                continue;
            }
        };
        merged.findings.extend(r.findings);
        merged.changes.extend(r.changes);
        merged
            .notes
            .extend(r.notes.into_iter().map(|n| format!("{shown}: {n}")));
        for (key, into) in [
            ("updates", &mut all_updates),
            ("pullRequests", &mut all_prs),
        ] {
            if let Some(serde_json::Value::Array(items)) = r.summary.get(key) {
                for mut i in items.clone() {
                    i["workspace"] = json!(shown);
                    into.push(i);
                }
            }
        }
    }
    merged.summary.insert("updates".into(), json!(all_updates));
    merged.summary.insert("pullRequests".into(), json!(all_prs));
    merged.summary.insert("workspaces".into(), json!(manifests));
    if !failures.is_empty() {
        // The other workspaces' changes are made (and listed here); the run still fails.
        let mut out = Vec::new();
        report::render(&merged, ctx, &mut out)?;
        let mut stdout = std::io::stdout();
        std::io::Write::write_all(&mut stdout, &out)?;
        anyhow::bail!(
            "{} of {} workspaces could not be updated:\n{}",
            failures.len(),
            manifests.len(),
            failures.join("\n")
        );
    }
    merged.sort();
    Ok(merged)
}

/// The update of one workspace.
fn run_one(ctx: &Ctx, args: &UpdateArgs) -> Result<Report> {
    let cargo = Cargo::new(ctx.offline, ctx.progress());
    let ws = Workspace::load(ctx, &cargo)?;
    let lock = ws.fresh_lock("updates would not start from what is locked")?;
    let config: UpdateConfig = ws.config.section("update")?;
    // Checked up front: a misspelt code would otherwise hold nothing back, silently.
    let deny_signals = pr::deny_signals(args, &config)?;
    let today = crate::timefmt::Date::today();
    for (i, rule) in config.ignore.iter().enumerate() {
        let line = ws.config.entry_line("update", &rule.name, 0);
        let bad = |msg: String| InputError::at(ws.config.file(), line, None, msg);
        if let Some(u) = &rule.until
            && crate::timefmt::Date::parse(u).is_none()
        {
            return Err(bad(format!(
                "ignore[{i}].until = {u:?} is not a YYYY-MM-DD date"
            ))
            .into());
        }
        for v in rule.versions.iter().flatten() {
            VersionReq::parse(v).map_err(|e| bad(format!("ignore[{i}].versions: {v:?}: {e}")))?;
        }
        for t in rule.update_types.iter().flatten() {
            if !["patch", "minor", "major"].contains(&t.as_str()) {
                return Err(bad(format!(
                    "ignore[{i}].update-types: {t:?} is not patch, minor or major"
                ))
                .into());
            }
        }
    }
    let min_age_days = args.min_age.or(config.min_age).unwrap_or(3);
    let group_by = args.group.or(config.group).unwrap_or(GroupBy::None);
    let mut report = Report::new("update", UpdateCode::rules());

    // Declarations per (crate, locked version).
    let mut targets: BTreeMap<(String, Version), Vec<(PathBuf, DepDecl)>> = BTreeMap::new();
    let mut msrv_of: BTreeMap<(String, Version), Option<Version>> = BTreeMap::new();
    let workspace_msrv = ws
        .root_manifest
        .doc
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .and_then(|v| v.as_str())
        .and_then(plan::rust_version);
    // Crates from a registry named in `[registries]` (`registry = "…"`), by name.
    let mut registry_of: BTreeMap<String, String> = BTreeMap::new();
    let msrv_of_manifest = |m: &crate::workspace::Manifest| match m
        .doc
        .get("package")
        .and_then(|p| p.get("rust-version"))
    {
        Some(v) if v.as_str().is_some() => v.as_str().and_then(plan::rust_version),
        Some(_) => workspace_msrv.clone(), // rust-version.workspace = true
        None => None,
    };
    // The lowest rust-version binds: `None` (no rust-version) never lowers a known one.
    let lower = |slot: &mut Option<Version>, v: &Option<Version>| {
        if let Some(v) = v
            && slot.as_ref().is_none_or(|s| v < s)
        {
            *slot = Some(v.clone());
        }
    };
    // A [workspace.dependencies] entry binds every package that inherits it.
    let mut inherited_msrv: BTreeMap<String, Option<Version>> = BTreeMap::new();
    for m in ws.manifests() {
        let own = msrv_of_manifest(m);
        for d in m.deps() {
            if d.workspace {
                lower(inherited_msrv.entry(d.package.clone()).or_default(), &own);
            }
        }
    }
    let mut git_targets: BTreeMap<GitKey, Vec<(PathBuf, DepDecl)>> = BTreeMap::new();
    for m in ws.manifests() {
        let own_msrv = msrv_of_manifest(m);
        for d in m.deps() {
            if d.workspace || matches!(d.table, DepTable::Patch { .. }) {
                continue;
            }
            if let Some(url) = &d.git
                && (d.tag.is_some() || d.rev.is_some())
            {
                git_targets
                    .entry((d.package.clone(), url.clone(), d.tag.clone(), d.rev.clone()))
                    .or_default()
                    .push((m.path.clone(), d.clone()));
                continue;
            }
            if !d.is_registry() {
                continue;
            }
            if let Some(r) = &d.registry {
                registry_of.insert(d.package.clone(), r.clone());
            }
            let Some(req) = d.version.as_deref().and_then(|r| VersionReq::parse(r).ok()) else {
                continue;
            };
            let Some(current) = lock
                .by_name(&d.package)
                .filter(|p| p.source.is_some())
                .filter_map(|p| Version::parse(&p.version).ok())
                .filter(|v| req.matches(v))
                .max()
            else {
                continue;
            };
            // As cargo: `[workspace.package] rust-version` binds only the members that inherit
            // it (`rust-version.workspace = true`, folded into their own MSRV above), so a
            // workspace dependency is bound by the members that use it, and by nothing when
            // none of them declares one.
            let msrv = if matches!(d.table, DepTable::Workspace) {
                inherited_msrv.get(&d.package).cloned().flatten()
            } else {
                own_msrv.clone()
            };
            let key = (d.package.clone(), current);
            lower(msrv_of.entry(key.clone()).or_default(), &msrv);
            targets.entry(key).or_default().push((m.path.clone(), d));
        }
    }
    // The requirements declared for each crate (a lockfile refresh must stay inside them).
    // Keyed by the locked version each requirement selects: `rand = "0.8"` says nothing about a
    // transitive rand 0.7.
    let mut declared: BTreeMap<(String, Version), Vec<VersionReq>> = BTreeMap::new();
    for (key, decls) in &targets {
        for (_, d) in decls {
            if let Some(r) = d.version.as_deref().and_then(|r| VersionReq::parse(r).ok()) {
                declared.entry(key.clone()).or_default().push(r);
            }
        }
    }
    // Lock packages from another registry than the default index (lockfile refreshes).
    let mut lock_source_of: BTreeMap<String, String> = BTreeMap::new();
    if args.lockfile {
        // A lockfile refresh: every registry package in Cargo.lock, direct or not, to its newest
        // compatible version under the same rules; no requirement changes. The lowest
        // rust-version in the workspace binds them all.
        let mut lowest: Option<Version> = None;
        for m in ws.manifests() {
            lower(&mut lowest, &msrv_of_manifest(m));
        }
        targets.clear();
        msrv_of.clear();
        for p in &lock.packages {
            let registry = p
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
            if !registry {
                continue;
            }
            let Ok(v) = Version::parse(&p.version) else {
                continue;
            };
            msrv_of.insert((p.name.clone(), v.clone()), lowest.clone());
            if let Some(src) = p.source.as_deref()
                && !registry_of.contains_key(&p.name)
                && src != crate::workspace::lock::CRATES_IO_REGISTRY
                && src != crate::workspace::lock::CRATES_IO_SPARSE
                && let Some(url) = src.strip_prefix("sparse+").map(|u| format!("sparse+{u}"))
            {
                lock_source_of.insert(p.name.clone(), url);
            }
            targets.entry((p.name.clone(), v)).or_default();
        }
    }

    let names: BTreeSet<String> = targets.keys().map(|(n, _)| n.clone()).collect();
    let progress = ctx.progress();
    let spinner = progress.spinner(format!(
        "asking the registry index about {} crates",
        names.len()
    ));
    // The default index (crates.io or --index-url) for most crates; each named registry for its
    // own.
    let default_names: BTreeSet<String> = names
        .iter()
        .filter(|n| !registry_of.contains_key(*n) && !lock_source_of.contains_key(*n))
        .cloned()
        .collect();
    let answer = crate::registry::fetch(
        &ws.root,
        &default_names,
        args.index_url.as_deref(),
        ctx.offline,
    );
    let mut answer = match answer {
        Ok(a) => a,
        Err(e) => {
            spinner.finish_and_clear();
            return Err(e);
        }
    };
    let mut by_registry: BTreeMap<&String, BTreeSet<String>> = BTreeMap::new();
    for (n, r) in &registry_of {
        if names.contains(n) {
            by_registry.entry(r).or_default().insert(n.clone());
        }
    }
    for (r, ns) in by_registry {
        match crate::registry::fetch_from(&ws.root, &ns, None, Some(r), ctx.offline) {
            Ok(a) => {
                answer.crates.extend(a.crates);
                answer.problems.extend(a.problems);
            }
            Err(e) => answer.problems.push(format!("registry `{r}`: {e:#}")),
        }
    }
    let mut by_source: BTreeMap<&String, BTreeSet<String>> = BTreeMap::new();
    for (n, url) in &lock_source_of {
        by_source.entry(url).or_default().insert(n.clone());
    }
    for (url, ns) in by_source {
        match crate::registry::fetch(&ws.root, &ns, Some(url), ctx.offline) {
            Ok(a) => {
                answer.crates.extend(a.crates);
                answer.problems.extend(a.problems);
            }
            Err(e) => answer.problems.push(format!("{url}: {e:#}")),
        }
    }
    spinner.finish_and_clear();
    if !answer.problems.is_empty() {
        report.notes.push(format!(
            "{} crate(s) could not be checked: {}",
            answer.problems.len(),
            answer.problems.join("; ")
        ));
    }

    // Security data: never fatal.
    let (advisories, have_security_data) = advisories(ctx, args, &names, &mut report);
    // With gaps in what was asked, an absent update proves nothing: no pull request is closed.
    let complete_registry = answer.problems.is_empty() && have_security_data;

    let now = crate::timefmt::now_unix();
    let undated: usize = answer
        .crates
        .values()
        .flatten()
        .filter(|p| p.pubtime.is_none())
        .count();
    if undated > 0 {
        report.notes.push(format!(
            "{undated} published version(s) carry no publication time in the index, so the \
             cooldown cannot hold them back"
        ));
    }
    let mut updates = Vec::new();
    let mut skipped_total: BTreeMap<plan::Skip, usize> = BTreeMap::new();
    let mut held_back: Vec<(String, Version, Vec<plan::Held>)> = Vec::new();
    for ((name, current), decls) in &targets {
        let Some(published) = answer.crates.get(name) else {
            continue;
        };
        let advisories_of = |v: &Version| -> Vec<String> {
            advisories
                .iter()
                .filter(|a| a.metadata.package.as_str() == name)
                .filter(|a| semver_compat(v).is_some_and(|rv| a.versions.is_vulnerable(&rv)))
                .map(|a| a.metadata.id.to_string())
                .collect()
        };
        let ignored = |v: &Version, k: Kind| {
            config.ignore.iter().any(|r| {
                glob(&r.name, name)
                    && r.until
                        .as_deref()
                        .and_then(crate::timefmt::Date::parse)
                        .is_none_or(|u| u >= today)
                    && r.versions.as_ref().is_none_or(|vs| {
                        vs.iter()
                            .filter_map(|s| VersionReq::parse(s).ok())
                            .any(|req| req.matches(v))
                    })
                    && r.update_types
                        .as_ref()
                        .is_none_or(|ts| ts.iter().any(|t| t == k.as_str()))
            })
        };
        let msrv = msrv_of
            .get(&(name.clone(), current.clone()))
            .cloned()
            .flatten();
        let (choice, skipped, held) = plan::choose(&plan::Input {
            current,
            published,
            msrv: msrv.as_ref(),
            now,
            min_age_secs: i64::from(min_age_days) * 86_400,
            breaking: args.breaking && !args.lockfile,
            advisories_of: &advisories_of,
            ignored: &ignored,
            admitted: &|v: &Version| {
                !args.lockfile
                    || declared
                        .get(&(name.clone(), current.clone()))
                        .is_none_or(|reqs| reqs.iter().all(|r| r.matches(v)))
            },
        });
        for (k, n) in skipped {
            *skipped_total.entry(k).or_insert(0) += n;
        }
        if !held.is_empty() {
            held_back.push((name.clone(), current.clone(), held));
        }
        let Some(c) = choice else { continue };
        let checksum = published
            .iter()
            .find(|p| p.version == c.to)
            .map(|p| p.checksum.clone())
            .unwrap_or_default();
        updates.push(Update {
            name: name.clone(),
            from: current.clone(),
            to: c.to,
            kind: c.kind,
            security: c.security,
            published: c.published,
            decls: decls.clone(),
            checksum,
            group: String::new(),
            git: None,
            registry_source: registry_of
                .get(name)
                .cloned()
                .or_else(|| lock_source_of.get(name).cloned()),
        });
    }
    // Git dependencies: newer release tags (never in a lockfile refresh).
    let git_complete = if args.lockfile || git_targets.is_empty() {
        true
    } else {
        git_updates(
            ctx,
            args,
            &config,
            today,
            &git_targets,
            &mut updates,
            &mut report,
        )
    };
    if args.lockfile {
        for u in &mut updates {
            u.group = "lockfile".into();
        }
    } else {
        assign_groups(&mut updates, group_by, &config.groups);
    }

    security_findings(&updates, &mut report);
    report.summary.insert(
        "updates".into(),
        json!(
            updates
                .iter()
                .map(|u| {
                    let mut j = json!({
                        "name": u.name,
                        "from": u.from.to_string(),
                        "to": u.to.to_string(),
                        "kind": u.kind.as_str(),
                        "security": u.security,
                        "published": u.published.map(crate::timefmt::rfc3339),
                        "group": u.group,
                    });
                    if let Some(g) = &u.git {
                        j["git"] = json!({"key": g.key, "from": g.from, "to": g.to});
                    }
                    j
                })
                .collect::<Vec<_>>()
        ),
    );
    report.summary.insert(
        "skipped".into(),
        json!(
            skipped_total
                .iter()
                .map(|(k, n)| (
                    serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    n
                ))
                .collect::<BTreeMap<_, _>>()
        ),
    );
    report.summary.insert("index".into(), json!(answer.index));
    report
        .summary
        .insert("minAgeDays".into(), json!(min_age_days));
    for u in &updates {
        report.notes.push(format!(
            "{} {} -> {} ({}{}){}",
            u.name,
            u.from,
            u.to,
            u.kind.as_str(),
            if u.security.is_empty() {
                String::new()
            } else {
                format!(", security: {}", u.security.join(", "))
            },
            u.published
                .map(|t| format!(", published {}", crate::timefmt::Date::from_unix(t)))
                .unwrap_or_default()
        ));
    }
    // What the rules held back, and why: each version (up to five per crate here; all in the
    // JSON summary).
    const SHOWN: usize = 5;
    for (name, current, held) in &held_back {
        for h in held.iter().take(SHOWN) {
            report.notes.push(format!(
                "held back: {name} {} (at {current}): {}",
                h.version, h.reason
            ));
        }
        if held.len() > SHOWN {
            report.notes.push(format!(
                "held back: {name}: {} more newer versions (see --format json)",
                held.len() - SHOWN
            ));
        }
    }
    report.summary.insert(
        "heldBack".into(),
        json!(
            held_back
                .iter()
                .flat_map(|(name, current, held)| held.iter().map(move |h| json!({
                    "name": name,
                    "current": current.to_string(),
                    "version": h.version.to_string(),
                    "reason": h.reason,
                })))
                .collect::<Vec<_>>()
        ),
    );
    if updates.is_empty() {
        report.notes.push(if held_back.is_empty() {
            "everything is up to date".into()
        } else {
            "nothing to update within the rules; the newer versions above are held back".into()
        });
    }

    if args.dry_run {
        report.sort();
        return Ok(report);
    }
    if !deny_signals.is_empty() && !args.open_pr {
        report.notes.push(
            "--deny-signal applies to update pull requests (--open-pr); nothing was held back"
                .into(),
        );
    }
    if args.open_pr {
        pr::open(
            ctx,
            args,
            &config,
            &ws,
            &updates,
            complete_registry && git_complete,
            &answer.index,
            &mut report,
        )?;
    } else if !updates.is_empty() {
        apply::apply(&cargo, &ws, &updates, &mut report)?;
        if let Some(cmd) = &args.check_cmd {
            apply::check_cmd(&ws.root, cmd, &mut report)?;
        }
    }
    report.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("aws-*", "aws-sdk-s3"));
        assert!(glob("*", "x"));
        assert!(glob("serde", "serde"));
        assert!(!glob("serde", "serde_json"));
        assert!(glob("serde*", "serde_json"));
    }
}
