//! Queries on the resolved package graph that later subcommands share: which packages can be
//! built for given platforms, following which dependency kinds (vendor's `--platform` filter,
//! SBOM's `--target`, advisories' dependency paths).
//!
//! The question answered is "could this package be compiled for one of these platforms under
//! some feature selection?" — optional dependencies count — because a filtered vendor tree or
//! SBOM must never miss a package a build could need.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use guppy::PackageId;
use guppy::graph::{DependencyDirection, DependencyReq, PackageGraph, PackageLink, PackageSet};
use guppy::platform::{EnabledTernary, Platform, PlatformSpec, TargetFeatures};

/// Which dependency edges to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    /// `[dependencies]`.
    pub normal: bool,
    /// `[build-dependencies]`.
    pub build: bool,
    /// `[dev-dependencies]` — of workspace members only, as cargo never builds others'.
    pub dev: bool,
}

impl Kinds {
    /// Everything a build or a test of the workspace can compile.
    pub const ALL: Kinds = Kinds {
        normal: true,
        build: true,
        dev: true,
    };
    /// What a release build compiles (no dev-dependencies).
    pub const BUILD: Kinds = Kinds {
        normal: true,
        build: true,
        dev: false,
    };
}

/// A target platform from its triple; an unknown triple is a usage error.
pub fn platform(triple: &str) -> Result<Platform> {
    Platform::new(triple.to_string(), TargetFeatures::Unknown)
        .map_err(|e| anyhow!("unknown target triple `{triple}`: {e}"))
}

/// Packages reachable from the workspace members through edges of `kinds` that can be enabled
/// on at least one of `platforms` (any platform when the list is empty). Members are included.
pub fn reachable<'g>(
    graph: &'g PackageGraph,
    platforms: &[Platform],
    kinds: Kinds,
) -> PackageSet<'g> {
    let follow = EdgeFilter::new(platforms, kinds);
    graph
        .query_workspace()
        .resolve_with_fn(|_, link| follow.follows(link))
}

/// [`reachable`] for building on `platforms` from some host: adds everything that runs on the
/// host — build-dependencies, proc-macros, and their own dependencies on any platform (the host
/// is not known here), since a cross build needs them too.
pub fn reachable_with_host<'g>(
    graph: &'g PackageGraph,
    platforms: &[Platform],
    kinds: Kinds,
) -> Result<std::collections::BTreeSet<&'g PackageId>> {
    let target = reachable(graph, platforms, kinds);
    let mut out: std::collections::BTreeSet<&PackageId> =
        target.package_ids(DependencyDirection::Forward).collect();
    let mut host_roots = Vec::new();
    for p in target.packages(DependencyDirection::Forward) {
        if p.is_proc_macro() {
            host_roots.push(p.id());
        }
        for link in p.direct_links() {
            if link.build().is_present() {
                host_roots.push(link.to().id());
            }
        }
    }
    if !host_roots.is_empty() {
        let host = graph
            .query_forward(host_roots)?
            .resolve_with_fn(|_, link| link.normal().is_present() || link.build().is_present());
        out.extend(host.package_ids(DependencyDirection::Forward));
    }
    Ok(out)
}

/// Like [`reachable`], from the given packages instead of every workspace member.
pub fn reachable_from<'g>(
    graph: &'g PackageGraph,
    roots: &[&'g PackageId],
    platforms: &[Platform],
    kinds: Kinds,
) -> Result<PackageSet<'g>> {
    let follow = EdgeFilter::new(platforms, kinds);
    Ok(graph
        .query_forward(roots.iter().copied())?
        .resolve_with_fn(|_, link| follow.follows(link)))
}

/// The edge test shared by the reachability queries (and by SBOM's dependency lists, so the
/// edges it records are exactly the ones followed).
///
/// Build-dependencies run on the build machine, not on the target: their `cfg()` is evaluated
/// for the host, which is unknown here, so they are followed whenever some platform enables them.
pub struct EdgeFilter {
    spec: PlatformSpec,
    kinds: Kinds,
}

impl EdgeFilter {
    /// Follow edges of `kinds` that can be enabled on one of `platforms` (any when empty).
    pub fn new(platforms: &[Platform], kinds: Kinds) -> Self {
        let spec = if platforms.is_empty() {
            PlatformSpec::Any
        } else {
            PlatformSpec::Platforms(platforms.iter().map(|p| Arc::new(p.clone())).collect())
        };
        EdgeFilter { spec, kinds }
    }

    /// Whether the link is followed.
    pub fn follows(&self, link: PackageLink<'_>) -> bool {
        let possible = |req: DependencyReq<'_>| {
            req.status().enabled_on(&self.spec) != EnabledTernary::Disabled
        };
        (self.kinds.normal && possible(link.normal()))
            || (self.kinds.build
                && link.build().status().enabled_on(&PlatformSpec::Any) != EnabledTernary::Disabled)
            || (self.kinds.dev && link.from().in_workspace() && possible(link.dev()))
    }
}

/// Names and versions of a package set, sorted — handy for messages and tests.
pub fn names(set: &PackageSet<'_>) -> Vec<String> {
    let mut v: Vec<String> = set
        .packages(DependencyDirection::Forward)
        .map(|p| format!("{} {}", p.name(), p.version()))
        .collect();
    v.sort();
    v
}
