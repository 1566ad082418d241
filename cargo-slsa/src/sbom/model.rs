//! The SBOM's content, independent of the output format: the selected packages with their
//! identities (purl), hashes, licenses and authors, and the dependency edges between them.
//!
//! Built from the guppy graph of one `cargo metadata --locked` run (resolved with the
//! workspace's default features), filtered by the same edge test as the rest of the tool
//! ([`EdgeFilter`]), with SHA-256 checksums taken from Cargo.lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Result, anyhow};
use guppy::PackageId;
use guppy::graph::{DependencyDirection, PackageGraph, PackageMetadata, PackageSource};
use guppy::platform::Platform;

use crate::workspace::graph::{EdgeFilter, Kinds, reachable, reachable_from};
use crate::workspace::lock::{CRATES_IO_REGISTRY, CRATES_IO_SPARSE};
use crate::workspace::{Lockfile, SourceKind};

/// Where a package comes from, as the SBOM records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// crates.io.
    CratesIo,
    /// Another registry (its index URL, without `registry+`/`sparse+`).
    Registry(String),
    /// A git repository at a commit.
    Git {
        /// Repository URL.
        url: String,
        /// Locked commit.
        commit: String,
    },
    /// A workspace member or path dependency.
    Local,
}

/// One package of the SBOM.
#[derive(Debug, Clone)]
pub struct Component {
    /// Unique, stable reference (the purl, suffixed if two packages share one).
    pub bom_ref: String,
    pub name: String,
    pub version: String,
    pub origin: Origin,
    /// `pkg:cargo/NAME@VERSION[?qualifiers]`.
    pub purl: String,
    /// SHA-256 of the `.crate` file, from Cargo.lock (registry packages).
    pub sha256: Option<String>,
    /// `license` as an SPDX expression (legacy `/` separators normalised to ` OR `).
    pub license: Option<String>,
    /// `license-file`, when there is no `license`.
    pub license_file: Option<String>,
    /// `authors` entries as written (`Name <email>`).
    pub authors: Vec<String>,
    pub description: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    /// A workspace member.
    pub member: bool,
    /// Has a binary target (an application rather than a library).
    pub has_bin: bool,
}

/// The SBOM content.
#[derive(Debug, Clone)]
pub struct Sbom {
    /// The described root: a member, or a synthetic component for a multi-member workspace.
    pub root: Component,
    /// Every other package, sorted by (name, version, origin).
    pub components: Vec<Component>,
    /// `bom_ref` → direct dependencies' `bom_ref`s, for the root and every component.
    pub dependencies: BTreeMap<String, BTreeSet<String>>,
}

/// What to include.
pub struct Selection<'a> {
    /// `--package`: describe this member only.
    pub package: Option<&'a str>,
    /// `--target`: only packages that can be built for this platform.
    pub platform: Option<Platform>,
    /// `--include-dev`: follow the members' dev-dependencies.
    pub include_dev: bool,
    /// Name for the synthetic root of a multi-member workspace.
    pub workspace_name: String,
}

/// Build the SBOM content from the graph and the lock.
pub fn build(graph: &PackageGraph, lock: &Lockfile, sel: &Selection<'_>) -> Result<Sbom> {
    let kinds = Kinds {
        normal: true,
        build: true,
        dev: sel.include_dev,
    };
    let platforms: Vec<Platform> = sel.platform.iter().cloned().collect();
    let members: Vec<PackageMetadata<'_>> = graph
        .resolve_workspace()
        .packages(DependencyDirection::Forward)
        .collect();
    let root_pkg = match sel.package {
        Some(name) => Some(
            members
                .iter()
                .find(|m| m.name() == name)
                .copied()
                .ok_or_else(|| {
                    let mut names: Vec<&str> = members.iter().map(|m| m.name()).collect();
                    names.sort();
                    anyhow!(
                        "--package {name}: no such workspace member (members: {})",
                        names.join(", ")
                    )
                })?,
        ),
        None if members.len() == 1 => members.first().copied(),
        None => None,
    };
    let set = match root_pkg {
        Some(p) => reachable_from(graph, &[p.id()], &platforms, kinds)?,
        None => reachable(graph, &platforms, kinds),
    };
    let follow = EdgeFilter::new(&platforms, kinds);

    let checksums: HashMap<(&str, &str, &str), &str> = lock
        .packages
        .iter()
        .filter_map(|p| {
            Some((
                (p.name.as_str(), p.version.as_str(), p.source.as_deref()?),
                p.checksum.as_deref()?,
            ))
        })
        .collect();

    let mut comps: Vec<(PackageId, Component)> = set
        .packages(DependencyDirection::Forward)
        .map(|p| (p.id().clone(), component(&p, &checksums)))
        .collect();
    comps.sort_by(|a, b| {
        (&a.1.name, &a.1.version, &a.1.origin).cmp(&(&b.1.name, &b.1.version, &b.1.origin))
    });
    // Unique references: the purl, suffixed in the (rare) case two packages share one.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, c) in comps.iter_mut() {
        let n = seen.entry(c.purl.clone()).or_insert(0);
        *n += 1;
        c.bom_ref = if *n == 1 {
            c.purl.clone()
        } else {
            format!("{}#{}", c.purl, n)
        };
    }
    let refs: HashMap<PackageId, String> = comps
        .iter()
        .map(|(id, c)| (id.clone(), c.bom_ref.clone()))
        .collect();

    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, c) in &comps {
        let mut deps = BTreeSet::new();
        let meta = graph.metadata(id)?;
        for link in meta.direct_links() {
            if follow.follows(link)
                && let Some(r) = refs.get(link.to().id())
            {
                deps.insert(r.clone());
            }
        }
        dependencies.insert(c.bom_ref.clone(), deps);
    }

    let root = match root_pkg {
        Some(p) => {
            let r = refs
                .get(p.id())
                .cloned()
                .ok_or_else(|| anyhow!("the root package is missing from its own closure"))?;
            let (_, c) = comps
                .iter()
                .find(|(_, c)| c.bom_ref == r)
                .cloned()
                .ok_or_else(|| anyhow!("the root package is missing from its own closure"))?;
            comps.retain(|(_, c)| c.bom_ref != r);
            c
        }
        None => {
            let mut member_refs = BTreeSet::new();
            for m in &members {
                if let Some(r) = refs.get(m.id()) {
                    member_refs.insert(r.clone());
                }
            }
            let c = Component {
                bom_ref: format!("workspace:{}", sel.workspace_name),
                name: sel.workspace_name.clone(),
                version: String::new(),
                origin: Origin::Local,
                purl: String::new(),
                sha256: None,
                license: None,
                license_file: None,
                authors: Vec::new(),
                description: Some(format!("Cargo workspace with {} members", members.len())),
                repository: None,
                homepage: None,
                member: true,
                has_bin: false,
            };
            dependencies.insert(c.bom_ref.clone(), member_refs);
            c
        }
    };
    Ok(Sbom {
        root,
        components: comps.into_iter().map(|(_, c)| c).collect(),
        dependencies,
    })
}

fn component(p: &PackageMetadata<'_>, checksums: &HashMap<(&str, &str, &str), &str>) -> Component {
    let version = p.version().to_string();
    let (origin, lock_source) = match p.source() {
        PackageSource::Workspace(_) | PackageSource::Path(_) => (Origin::Local, None),
        PackageSource::External(s) => {
            let origin = if s == CRATES_IO_REGISTRY || s == CRATES_IO_SPARSE {
                Origin::CratesIo
            } else {
                match SourceKind::parse(s) {
                    SourceKind::Registry(u) | SourceKind::Sparse(u) => {
                        Origin::Registry(u.to_string())
                    }
                    SourceKind::Git { url, commit, .. } => Origin::Git {
                        url: url.to_string(),
                        commit: commit.to_string(),
                    },
                    SourceKind::Other(o) => Origin::Registry(o.to_string()),
                }
            };
            (origin, Some(s))
        }
    };
    let sha256 = lock_source
        .and_then(|s| checksums.get(&(p.name(), version.as_str(), s)))
        .map(|c| c.to_string());
    let purl = purl(p.name(), &version, &origin);
    Component {
        bom_ref: purl.clone(),
        name: p.name().to_string(),
        version,
        purl,
        sha256,
        license: p.license().map(normalize_license),
        license_file: p.license_file().map(|f| f.to_string()),
        authors: p.authors().to_vec(),
        description: p.description().map(|d| d.trim().to_string()),
        repository: p.repository().map(str::to_string),
        homepage: p.homepage().map(str::to_string),
        member: p.in_workspace(),
        has_bin: p
            .build_targets()
            .any(|t| matches!(t.id(), guppy::graph::BuildTargetId::Binary(_))),
        origin,
    }
}

/// `pkg:cargo/NAME@VERSION` with the qualifier that says where a non-crates.io package comes
/// from (purl spec: `repository_url` for registries, `vcs_url` as `git+URL@COMMIT` for git).
pub fn purl(name: &str, version: &str, origin: &Origin) -> String {
    let base = format!("pkg:cargo/{}@{}", pct(name, false), pct(version, false));
    match origin {
        Origin::CratesIo | Origin::Local => base,
        Origin::Registry(url) => format!("{base}?repository_url={}", pct(url, true)),
        Origin::Git { url, commit } => {
            let vcs = format!("git+{url}@{commit}");
            format!("{base}?vcs_url={}", pct(&vcs, true))
        }
    }
}

/// Percent-encode for a purl: unreserved characters stay; in qualifier values `:` and `/` do too.
fn pct(s: &str, qualifier: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (qualifier && matches!(b, b':' | b'/'));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Cargo's legacy `MIT/Apache-2.0` means `MIT OR Apache-2.0`.
pub fn normalize_license(raw: &str) -> String {
    let parts: Vec<&str> = raw
        .split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if parts.len() > 1 && !raw.contains(" OR ") && !raw.contains(" AND ") {
        parts.join(" OR ")
    } else {
        raw.trim().to_string()
    }
}

/// Whether `text` is an SPDX license expression a validator accepts: the spdx crate's strict
/// grammar over the SPDX license list (deprecated identifiers such as `GPL-2.0+` allowed,
/// `LicenseRef-…` too), with the operators in upper case as the specification writes them.
/// Anything else is recorded as a license name / NOASSERTION, never as an expression, so the
/// documents stay valid.
pub fn is_spdx_expression(text: &str) -> bool {
    let upper_case_operators = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .all(|w| {
            !matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "with")
                || w == w.to_ascii_uppercase()
        });
    let mode = spdx::ParseMode {
        allow_deprecated: true,
        allow_postfix_plus_on_gpl: true,
        ..spdx::ParseMode::STRICT
    };
    !text.trim().is_empty()
        && upper_case_operators
        && spdx::Expression::parse_mode(text, mode).is_ok()
}

/// Split `Name <email>` into its parts.
pub fn split_author(a: &str) -> (String, Option<String>) {
    if let Some((name, rest)) = a.split_once('<')
        && let Some(email) = rest.trim_end().strip_suffix('>')
        && email.contains('@')
        && !email.contains(char::is_whitespace)
        && !email.contains("://")
    {
        let name = name.trim();
        let email = email.trim();
        let name = if name.is_empty() { email } else { name };
        return (
            name.to_string(),
            (!email.is_empty()).then(|| email.to_string()),
        );
    }
    (a.trim().to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_carry_where_the_package_comes_from() {
        assert_eq!(
            purl("serde", "1.0.0", &Origin::CratesIo),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            purl("x", "1.0.0+build.1", &Origin::Local),
            "pkg:cargo/x@1.0.0%2Bbuild.1"
        );
        assert_eq!(
            purl(
                "x",
                "0.1.0",
                &Origin::Registry("https://r.example/index/".into())
            ),
            "pkg:cargo/x@0.1.0?repository_url=https://r.example/index/"
        );
        assert_eq!(
            purl(
                "x",
                "0.1.0",
                &Origin::Git {
                    url: "https://github.com/o/r".into(),
                    commit: "abc".into()
                }
            ),
            "pkg:cargo/x@0.1.0?vcs_url=git%2Bhttps://github.com/o/r%40abc"
        );
    }

    #[test]
    fn licenses_are_normalised_and_checked() {
        assert_eq!(normalize_license("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(normalize_license("MIT OR Apache-2.0"), "MIT OR Apache-2.0");
        for ok in [
            "MIT",
            "MIT OR Apache-2.0",
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            "Apache-2.0 WITH LLVM-exception",
            "GPL-2.0+",
            "LicenseRef-Custom",
        ] {
            assert!(is_spdx_expression(ok), "{ok}");
        }
        for bad in [
            "",
            "MIT OR",
            "(MIT",
            "MIT Apache",
            "see LICENSE file",
            "MIT WITH",
            // Not on the SPDX license list, and operators the specification writes upper case.
            "Custom-1.0",
            "MIT or Apache-2.0",
            "MIT/Apache-2.0",
        ] {
            assert!(!is_spdx_expression(bad), "{bad}");
        }
    }

    #[test]
    fn authors_split_into_name_and_email() {
        assert_eq!(
            split_author("Jane Doe <jane@example.com>"),
            ("Jane Doe".into(), Some("jane@example.com".into()))
        );
        assert_eq!(split_author("The Team"), ("The Team".into(), None));
        assert_eq!(
            split_author("Proj <https://example.com>"),
            ("Proj <https://example.com>".into(), None)
        );
    }
}
