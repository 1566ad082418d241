//! Manifest checks: `git-unpinned`, `wildcard-requirement`, `inexact-requirement` — each with the
//! edit that fixes it, taken from what Cargo.lock resolved.

use super::codes::PinCode;
use super::{Edit, Planned};
use crate::report::Finding;
use crate::workspace::{DepDecl, DepTable, LockPackage, Lockfile, Manifest, SourceKind, Workspace};

/// Check every dependency declaration of every manifest.
pub(super) fn check(ws: &Workspace, exact: bool) -> Vec<Planned> {
    let mut out = Vec::new();
    for m in ws.manifests() {
        for d in m.deps() {
            if d.git.is_some()
                && let Some(p) = git_unpinned(ws, m, &d)
            {
                out.push(p);
            }
            if let Some(p) = requirement(ws, m, &d, exact) {
                out.push(p);
            }
        }
    }
    out
}

fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Decode a `application/x-www-form-urlencoded` value as cargo writes lockfile git queries.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lockfile query a declaration produces (`branch=main`, `tag=v1`, `rev=abc`, or empty).
fn reference_of(d: &DepDecl) -> (String, String) {
    if let Some(b) = &d.branch {
        ("branch".into(), b.clone())
    } else if let Some(t) = &d.tag {
        ("tag".into(), t.clone())
    } else if let Some(r) = &d.rev {
        ("rev".into(), r.clone())
    } else {
        (String::new(), String::new())
    }
}

fn same_repo(a: &str, b: &str) -> bool {
    super::cfg::normalize_url(a) == super::cfg::normalize_url(b)
}

/// The locked commit of a git declaration: the lock entry with the same package, repository and
/// reference.
fn locked_commit<'a>(lock: &'a Lockfile, d: &'a DepDecl) -> Option<&'a str> {
    let git = d.git.as_deref()?;
    let (kind, value) = reference_of(d);
    lock.by_name_with_patches(&d.package).find_map(|p| {
        let Some(SourceKind::Git {
            url,
            reference,
            commit,
        }) = p.source_kind()
        else {
            return None;
        };
        if !same_repo(url, git) {
            return None;
        }
        let (k, v) = reference.split_once('=').unwrap_or(("", ""));
        (k == kind && form_decode(v) == value && is_full_sha(commit)).then_some(commit)
    })
}

fn git_unpinned(ws: &Workspace, m: &Manifest, d: &DepDecl) -> Option<Planned> {
    let what = match (&d.branch, &d.tag, &d.rev) {
        (_, _, Some(rev)) if is_full_sha(rev) => return None,
        (_, _, Some(rev)) => format!("rev `{rev}`, which is not a full commit hash"),
        (Some(b), _, _) => format!("branch `{b}`"),
        (_, Some(t), _) => format!("tag `{t}`, which can be moved"),
        _ => "the repository's default branch".to_string(),
    };
    let mut finding = Finding::new(
        PinCode::GitUnpinned.rule(),
        format!(
            "git dependency `{}` in {} follows {what}",
            d.key,
            d.table.display()
        ),
    )
    .at(&m.path, Some(d.ref_line), m.line(d.ref_line));
    let commit = ws.lock.as_ref().and_then(|l| locked_commit(l, d));
    let edit = match commit {
        Some(sha) => {
            finding = finding.with_fix(format!("rev = \"{sha}\" (the commit Cargo.lock has)"));
            Some(Edit::GitRev {
                manifest: m.path.clone(),
                path: d.path.clone(),
                sha: sha.to_string(),
                what: format!(
                    "pinned git dependency `{}` in {} to rev {sha} (was {what})",
                    d.key,
                    d.table.display()
                ),
            })
        }
        None => {
            finding = finding.with_fix(
                "Cargo.lock has no commit for it yet: run `cargo slsa pin` (it updates the lock first), or set rev = \"<40-hex commit>\"",
            );
            None
        }
    };
    Some(Planned { finding, edit })
}

/// The exact version form `=x.y.z` (pre-release allowed).
fn is_exact_req(req: &str) -> bool {
    let Some(v) = req.trim().strip_prefix('=') else {
        return false;
    };
    let v = v.trim();
    !v.starts_with('=') && semver::Version::parse(v).is_ok()
}

fn requirement(ws: &Workspace, m: &Manifest, d: &DepDecl, exact: bool) -> Option<Planned> {
    let req = d.version.as_deref()?;
    if matches!(d.table, DepTable::Patch { .. }) {
        return None;
    }
    let wildcard = req.contains('*');
    let inexact = exact && d.is_registry() && !is_exact_req(req);
    if !wildcard && !inexact {
        return None;
    }
    let code = if wildcard {
        PinCode::WildcardRequirement
    } else {
        PinCode::InexactRequirement
    };
    let message = if wildcard {
        format!(
            "`{}` in {} accepts any version (`{req}`)",
            d.key,
            d.table.display()
        )
    } else {
        format!(
            "`{}` in {} is `{req}`, not an exact `=x.y.z` version",
            d.key,
            d.table.display()
        )
    };
    let mut finding = Finding::new(code.rule(), message).at(
        &m.path,
        Some(d.version_line),
        m.line(d.version_line),
    );
    let locked = locked_version(ws, m, d);
    let edit = match locked {
        Some(p) => {
            let new = if exact {
                format!("={}", p.version)
            } else {
                p.version.clone()
            };
            finding = finding.with_fix(format!("version = \"{new}\" (the version Cargo.lock has)"));
            Some(Edit::Requirement {
                manifest: m.path.clone(),
                path: d.path.clone(),
                req: new.clone(),
                what: format!(
                    "set `{}` in {} to \"{new}\" (was \"{req}\")",
                    d.key,
                    d.table.display()
                ),
            })
        }
        None => {
            finding = finding.with_fix(
                "no locked version found: generate Cargo.lock (`cargo slsa pin`) and run again",
            );
            None
        }
    };
    Some(Planned { finding, edit })
}

/// The lock entry a declaration resolved to.
fn locked_version<'a>(ws: &'a Workspace, m: &Manifest, d: &DepDecl) -> Option<&'a LockPackage> {
    let lock = ws.lock.as_ref()?;
    let req = d
        .version
        .as_deref()
        .filter(|r| !r.contains('*'))
        .and_then(|r| semver::VersionReq::parse(r).ok());
    let fits = |p: &LockPackage| {
        req.as_ref().is_none_or(|r| {
            semver::Version::parse(&p.version)
                .map(|v| r.matches(&v))
                .unwrap_or(false)
        })
    };
    let from_package = |pkg_name: &str| -> Option<&'a LockPackage> {
        let local = lock.local_package(pkg_name)?;
        lock.dependencies_named(local, &d.package)
            .find(|p| p.source.is_some() && fits(p))
    };
    match d.table {
        DepTable::Workspace => {
            // The members that inherit it know what it resolved to.
            ws.manifests()
                .filter(|mm| mm.deps().iter().any(|md| md.workspace && md.key == d.key))
                .filter_map(|mm| mm.package_name().and_then(from_package))
                .next()
                .or_else(|| only_candidate(lock, d, &fits))
        }
        _ => m
            .package_name()
            .and_then(from_package)
            .or_else(|| only_candidate(lock, d, &fits)),
    }
}

fn only_candidate<'a>(
    lock: &'a Lockfile,
    d: &DepDecl,
    fits: &dyn Fn(&LockPackage) -> bool,
) -> Option<&'a LockPackage> {
    let mut it = lock
        .by_name(&d.package)
        .filter(|p| p.source.is_some() && fits(p));
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_requirements() {
        assert!(is_exact_req("=1.2.3"));
        assert!(is_exact_req("= 1.2.3"));
        assert!(is_exact_req("=1.0.0-rc.1"));
        assert!(!is_exact_req("1.2.3"));
        assert!(!is_exact_req("=1.2"));
        assert!(!is_exact_req("^1.2.3"));
        assert!(!is_exact_req(">=1.2.3"));
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("feature%2Fx"), "feature/x");
        assert_eq!(form_decode("a+b"), "a b");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz"), "%zz");
    }
}
