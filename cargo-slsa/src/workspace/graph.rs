//! Queries on the resolved package graph that later subcommands share: which packages can be
//! built for given platforms, following which dependency kinds (vendor's `--platform` filter,
//! SBOM's `--target`, advisories' dependency paths).
//!
//! The question answered is "could this package be compiled for one of these platforms under
//! some feature selection?" — optional dependencies count — because a filtered vendor tree or
//! SBOM must never miss a package a build could need.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use guppy::graph::{DependencyDirection, DependencyReq, PackageGraph, PackageSet};
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
    let spec = if platforms.is_empty() {
        PlatformSpec::Any
    } else {
        PlatformSpec::Platforms(platforms.iter().map(|p| Arc::new(p.clone())).collect())
    };
    let possible =
        |req: DependencyReq<'_>| req.status().enabled_on(&spec) != EnabledTernary::Disabled;
    graph.query_workspace().resolve_with_fn(|_, link| {
        (kinds.normal && possible(link.normal()))
            || (kinds.build && possible(link.build()))
            || (kinds.dev && link.from().in_workspace() && possible(link.dev()))
    })
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
