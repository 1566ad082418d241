//! `[workspace.metadata.slsa.pin]`: the pin policy, merged with the command-line flags.

use anyhow::Result;
use serde::Deserialize;

use crate::cli::PinArgs;
use crate::error::InputError;
use crate::workspace::lock::{CRATES_IO_REGISTRY, CRATES_IO_SPARSE};
use crate::workspace::{Config, toolchain};

/// The configuration section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PinConfig {
    /// Allowed package sources: `crates.io`, or URL prefixes of registries and git hosts.
    pub allowed_sources: Option<Vec<String>>,
    /// Require `=x.y.z` requirements (like `--exact`).
    pub exact: Option<bool>,
    /// The exact toolchain the workspace must pin (like `--toolchain VER`).
    pub toolchain: Option<String>,
    /// Finding ignores, read by [`crate::report::config_ignore`].
    #[serde(default)]
    pub ignore: serde::de::IgnoredAny,
}

/// Which toolchain the workspace must pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolchainWant {
    /// Any exact version; the fix uses the active rustc.
    AnyExact,
    /// Exactly the active rustc's version (`--toolchain` without a value).
    Active,
    /// Exactly this one.
    Exact(String),
}

/// The effective policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `--check`: report only.
    pub check: bool,
    /// `--exact` or `exact = true`.
    pub exact: bool,
    /// Toolchain requirement.
    pub toolchain: ToolchainWant,
    /// Normalized allowed source prefixes (crates.io expanded).
    pub allowed_sources: Vec<String>,
}

/// Normalize a URL for prefix comparison: no kind prefix, query, fragment, `.git` or trailing `/`.
pub fn normalize_url(url: &str) -> String {
    let url = url
        .strip_prefix("registry+")
        .or_else(|| url.strip_prefix("sparse+"))
        .or_else(|| url.strip_prefix("git+"))
        .unwrap_or(url);
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    url.to_ascii_lowercase()
}

impl Policy {
    /// Merge flags over configuration; invalid values are input errors at the config's line.
    pub fn new(args: &PinArgs, config: &Config) -> Result<Policy> {
        let cfg: PinConfig = config.section("pin")?;
        let bad = |msg: String| -> anyhow::Error {
            InputError::at(config.file(), None, None, msg).into()
        };
        let toolchain = match (&args.toolchain, &cfg.toolchain) {
            (Some(Some(v)), _) => {
                if !toolchain::is_exact(v) {
                    return Err(anyhow::anyhow!(
                        "--toolchain {v}: not an exact toolchain (use e.g. 1.95.0 or nightly-2026-01-01)"
                    ));
                }
                ToolchainWant::Exact(v.clone())
            }
            (Some(None), _) => ToolchainWant::Active,
            (None, Some(v)) => {
                if !toolchain::is_exact(v) {
                    return Err(bad(format!(
                        "in `[workspace.metadata.slsa.pin]`: toolchain = \"{v}\" is not an exact toolchain"
                    )));
                }
                ToolchainWant::Exact(v.clone())
            }
            (None, None) => ToolchainWant::AnyExact,
        };
        let entries = cfg
            .allowed_sources
            .unwrap_or_else(|| vec!["crates.io".to_string()]);
        let mut allowed_sources = Vec::new();
        for e in entries {
            if e == "crates.io" || e == "crates-io" {
                allowed_sources.push(normalize_url(CRATES_IO_REGISTRY));
                allowed_sources.push(normalize_url(CRATES_IO_SPARSE));
            } else if e.contains("://") {
                allowed_sources.push(normalize_url(&e));
            } else {
                return Err(bad(format!(
                    "in `[workspace.metadata.slsa.pin]`: allowed-sources entry \"{e}\" must be \"crates.io\" or a URL prefix such as \"https://github.com/my-org/\""
                )));
            }
        }
        Ok(Policy {
            check: args.check,
            exact: args.exact || cfg.exact.unwrap_or(false),
            toolchain,
            allowed_sources,
        })
    }

    /// Whether a lockfile `source` is allowed: its URL equals an entry or lies below it.
    pub fn source_allowed(&self, source: &str) -> bool {
        let url = normalize_url(source);
        self.allowed_sources.iter().any(|a| {
            url == *a
                || url
                    .strip_prefix(a.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(sources: &[&str]) -> Policy {
        Policy {
            check: true,
            exact: false,
            toolchain: ToolchainWant::AnyExact,
            allowed_sources: sources.iter().map(|s| normalize_url(s)).collect(),
        }
    }

    #[test]
    fn sources_match_on_path_boundaries() {
        let p = policy(&[
            CRATES_IO_REGISTRY,
            CRATES_IO_SPARSE,
            "https://github.com/my-org/",
        ]);
        assert!(p.source_allowed(CRATES_IO_REGISTRY));
        assert!(p.source_allowed("sparse+https://index.crates.io/"));
        assert!(p.source_allowed("git+https://github.com/my-org/repo.git?branch=main#abc"));
        assert!(p.source_allowed("git+https://GitHub.com/my-org/repo#abc"));
        assert!(!p.source_allowed("git+https://github.com/my-org-evil/repo#abc"));
        assert!(!p.source_allowed("registry+https://my.registry/index"));
    }
}
