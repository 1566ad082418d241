//! Which advisories affect a locked version and which newer versions fix them (from the
//! RustSec database, never fatal), and the group each update goes into.

use super::*;

/// The same version for rustsec's semver (it uses the same crate, maybe another version).
pub(super) fn semver_compat(v: &Version) -> Option<rustsec::Version> {
    rustsec::Version::parse(&v.to_string()).ok()
}

/// The advisories about `names`, or none with one note when the database is unavailable.
pub(super) fn advisories(
    ctx: &Ctx,
    args: &UpdateArgs,
    names: &BTreeSet<String>,
    report: &mut Report,
) -> (Vec<rustsec::Advisory>, bool) {
    let audit_args = AuditArgs {
        source: DbArgs {
            db: args.advisory_db.clone(),
            db_url: None,
            no_fetch: ctx.offline,
        },
        deny: None,
        file: None,
        no_yanked: true,
        stale: false,
    };
    let db = match crate::audit::db::locate(&audit_args, ctx.offline, &ctx.progress()) {
        Ok(db) => db,
        Err(e) => {
            report.notes.push(format!(
                "no security data: the advisory database is unavailable ({}); updates are \
                 planned without it",
                format!("{e:#}").lines().next().unwrap_or_default()
            ));
            return (Vec::new(), false);
        }
    };
    match crate::audit::db::load_for(&db.path, names.iter().map(String::as_str)) {
        Ok(list) => (
            list.into_iter()
                .filter(|a| a.metadata.withdrawn.is_none() && a.metadata.informational.is_none())
                .collect(),
            true,
        ),
        Err(e) => {
            report.notes.push(format!(
                "no security data: the advisory database could not be read ({e})"
            ));
            (Vec::new(), false)
        }
    }
}

/// Give every update its group: a configured group matching its name, else by `--group`.
pub(super) fn assign_groups(updates: &mut [Update], by: GroupBy, groups: &[GroupConfig]) {
    for u in updates.iter_mut() {
        if let Some(g) = groups
            .iter()
            .find(|g| g.patterns.iter().any(|p| glob(p, &u.name)))
        {
            u.group = g.name.clone();
            continue;
        }
        u.group = match (by, u.kind) {
            (GroupBy::All, _) => "all".into(),
            (GroupBy::Patch, Kind::Patch) => "patch".into(),
            (GroupBy::Minor, Kind::Patch | Kind::Minor) => "minor".into(),
            _ => u.name.clone(),
        };
    }
}

/// A `security-update` warning at the declaration of every dependency an update fixes an
/// advisory for.
pub(super) fn security_findings(updates: &[Update], report: &mut Report) {
    for u in updates {
        if !u.security.is_empty()
            && let Some((path, d)) = u.decls.first()
        {
            let src = std::fs::read_to_string(path).unwrap_or_default();
            report.findings.push(
                Finding::new(
                    UpdateCode::SecurityUpdate.rule(),
                    format!(
                        "{} {} is affected by {}; {} fixes it",
                        u.name,
                        u.from,
                        u.security.join(", "),
                        u.to
                    ),
                )
                .at(
                    path,
                    Some(d.version_line.max(d.line)),
                    crate::workspace::line_text(&src, d.version_line.max(d.line)),
                )
                .with_fix(format!("cargo slsa update (moves {} to {})", u.name, u.to)),
            );
        }
    }
}
