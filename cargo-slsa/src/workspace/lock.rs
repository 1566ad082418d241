//! `Cargo.lock`: packages with their sources, checksums and line numbers.
//!
//! Parsed with toml_edit (with spans) so findings can point at the exact `source =` line. Lock
//! versions 1–4 are read; v1's `[metadata]` checksums are folded into the packages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::InputError;

/// Where a locked package comes from, parsed from its `source` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind<'a> {
    /// `registry+URL` (git index protocol, and how crates.io is always recorded).
    Registry(&'a str),
    /// `sparse+URL`.
    Sparse(&'a str),
    /// `git+URL[?QUERY]#COMMIT`.
    Git {
        /// Repository URL.
        url: &'a str,
        /// `branch=…`, `tag=…`, `rev=…`, or empty for the default branch.
        reference: &'a str,
        /// The locked commit.
        commit: &'a str,
    },
    /// Anything else cargo may write (`path+…`, `directory+…`).
    Other(&'a str),
}

impl<'a> SourceKind<'a> {
    /// Parse a `source` string.
    pub fn parse(source: &'a str) -> SourceKind<'a> {
        if let Some(rest) = source.strip_prefix("registry+") {
            SourceKind::Registry(rest)
        } else if let Some(rest) = source.strip_prefix("sparse+") {
            SourceKind::Sparse(rest)
        } else if let Some(rest) = source.strip_prefix("git+") {
            let (before_frag, commit) = rest.split_once('#').unwrap_or((rest, ""));
            let (url, reference) = before_frag.split_once('?').unwrap_or((before_frag, ""));
            SourceKind::Git {
                url,
                reference,
                commit,
            }
        } else {
            SourceKind::Other(source)
        }
    }
}

/// The crates.io index as cargo records it in lockfiles.
pub const CRATES_IO_REGISTRY: &str = "registry+https://github.com/rust-lang/crates.io-index";
/// The crates.io sparse index.
pub const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// One `[[package]]` of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPackage {
    /// Package name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// `source`, absent for path and workspace packages.
    pub source: Option<String>,
    /// sha256 of the `.crate`, for registry packages.
    pub checksum: Option<String>,
    /// Entries of `dependencies`: `name`, `name version` or `name version (source)`.
    pub dependencies: Vec<String>,
    /// 1-based line of the `[[package]]` header.
    pub line: usize,
    /// 1-based line of `source =`.
    pub source_line: Option<usize>,
}

impl LockPackage {
    /// The parsed source, if any.
    pub fn source_kind(&self) -> Option<SourceKind<'_>> {
        self.source.as_deref().map(SourceKind::parse)
    }

    /// Whether this entry is the one a `dependencies` reference (`name[ version[ (source)]]`)
    /// points at.
    pub fn matches_reference(&self, reference: &str) -> bool {
        let mut parts = reference.splitn(3, ' ');
        let name = parts.next().unwrap_or_default();
        if name != self.name {
            return false;
        }
        if let Some(version) = parts.next()
            && version != self.version
        {
            return false;
        }
        if let Some(source) = parts.next() {
            let source = source.trim_start_matches('(').trim_end_matches(')');
            return self.source.as_deref() == Some(source);
        }
        true
    }
}

/// A parsed `Cargo.lock`.
#[derive(Debug, Clone)]
pub struct Lockfile {
    /// Path of the file.
    pub path: PathBuf,
    /// Its text.
    pub src: String,
    /// `version = N` at the top (absent for v1/v2 files).
    pub version: Option<i64>,
    /// `[[package]]` entries in file order.
    pub packages: Vec<LockPackage>,
    /// `[[patch.unused]]` entries.
    pub unused_patches: Vec<LockPackage>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Lockfile {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Lockfile> {
        let src =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Lockfile::parse(path, src)
    }

    /// Parse lock text; errors carry `path:line`.
    pub fn parse(path: &Path, src: String) -> Result<Lockfile> {
        let doc = toml_edit::Document::parse(src.as_str())
            .map_err(|e| InputError::toml(path, &src, &e))?;
        // Line numbers by binary search over the line starts: a lock has thousands of entries,
        // and scanning from the top for each would be quadratic.
        let lines = crate::workspace::LineIndex::new(&src);
        let at = |span: Option<std::ops::Range<usize>>| span.map(|s| lines.line(s.start));
        let version = doc.get("version").and_then(|v| v.as_integer());
        // A format this code does not know could mean anything: refuse it rather than guess.
        if let Some(v) = version
            && !(1..=4).contains(&v)
        {
            let line = at(doc.get("version").and_then(|i| i.span()));
            return Err(InputError::at(
                path,
                line,
                None,
                format!(
                    "Cargo.lock version {v} is not one cargo-slsa reads (1 to 4): update cargo-slsa, \
                     or regenerate the lock with a cargo that writes version 4"
                ),
            )
            .into());
        }

        let read_packages = |item: Option<&toml_edit::Item>| -> Result<Vec<LockPackage>> {
            let Some(item) = item else {
                return Ok(Vec::new());
            };
            let Some(arr) = item.as_array_of_tables() else {
                return Err(InputError::at(
                    path,
                    at(item.span()),
                    None,
                    "expected [[package]] tables",
                )
                .into());
            };
            let mut out = Vec::with_capacity(arr.len());
            for t in arr.iter() {
                let line = at(t.span()).unwrap_or(1);
                let field = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
                let (Some(name), Some(version)) = (field("name"), field("version")) else {
                    return Err(InputError::at(
                        path,
                        Some(line),
                        None,
                        "a [[package]] entry lacks `name` or `version`",
                    )
                    .into());
                };
                let dependencies = t
                    .get("dependencies")
                    .and_then(|d| d.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(LockPackage {
                    name,
                    version,
                    source: field("source"),
                    checksum: field("checksum"),
                    dependencies,
                    line,
                    source_line: t.get("source").and_then(|s| at(s.span())),
                });
            }
            Ok(out)
        };
        let mut packages = read_packages(doc.get("package"))?;
        let unused_patches = read_packages(doc.get("patch").and_then(|p| p.get("unused")))?;

        // v1 lockfiles keep checksums in [metadata] as "checksum NAME VERSION (SOURCE)" = "hex".
        if let Some(meta) = doc.get("metadata").and_then(|m| m.as_table_like()) {
            for (k, v) in meta.iter() {
                let (Some(rest), Some(sum)) = (k.strip_prefix("checksum "), v.as_str()) else {
                    continue;
                };
                if let Some(p) = packages
                    .iter_mut()
                    .find(|p| p.checksum.is_none() && p.matches_reference(rest))
                {
                    p.checksum = Some(sum.to_string());
                }
            }
        }

        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(p.name.clone()).or_default().push(i);
        }
        Ok(Lockfile {
            path: path.to_path_buf(),
            src,
            version,
            packages,
            unused_patches,
            by_name,
        })
    }

    /// Every locked package named `name`.
    pub fn by_name<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a LockPackage> + 'a {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.packages.get(i))
    }

    /// Every locked package and unused patch named `name`.
    pub fn by_name_with_patches<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a LockPackage> + 'a {
        self.by_name(name)
            .chain(self.unused_patches.iter().filter(move |p| p.name == name))
    }

    /// The locked workspace/path package `name` (no source).
    pub fn local_package(&self, name: &str) -> Option<&LockPackage> {
        self.by_name(name).find(|p| p.source.is_none())
    }

    /// Every package `from`'s `dependencies` list references under the package name `dep_name`
    /// (several when it depends on more than one version, through renames).
    pub fn dependencies_named<'a, 'n>(
        &'a self,
        from: &'a LockPackage,
        dep_name: &'n str,
    ) -> impl Iterator<Item = &'a LockPackage> + use<'a, 'n> {
        from.dependencies
            .iter()
            .filter(move |r| r.split(' ').next() == Some(dep_name))
            .filter_map(move |r| self.by_name(dep_name).find(|p| p.matches_reference(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "dep",
 "two 1.0.0",
]

[[package]]
name = "dep"
version = "0.1.0"
source = "git+https://example.com/dep?branch=main#0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "two"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "two"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bb"
"#;

    #[test]
    fn parses_packages_sources_and_lines() -> Result<()> {
        let lock = Lockfile::parse(Path::new("Cargo.lock"), LOCK.to_string())?;
        assert_eq!(lock.version, Some(4));
        assert_eq!(lock.packages.len(), 4);
        let dep = lock.by_name("dep").next().expect("dep is locked");
        assert_eq!(dep.line, 12);
        assert_eq!(dep.source_line, Some(15));
        assert_eq!(
            dep.source_kind(),
            Some(SourceKind::Git {
                url: "https://example.com/dep",
                reference: "branch=main",
                commit: "0123456789abcdef0123456789abcdef01234567"
            })
        );
        let app = lock.local_package("app").expect("app is local");
        let mut deps = lock.dependencies_named(app, "two");
        let two = deps.next().expect("two resolves");
        assert!(deps.next().is_none());
        assert_eq!(two.version, "1.0.0");
        assert_eq!(two.checksum.as_deref(), Some("aa"));
        Ok(())
    }

    #[test]
    fn v1_metadata_checksums_are_folded_in() -> Result<()> {
        let src = r#"[[package]]
name = "two"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum two 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)" = "cc"
"#;
        let lock = Lockfile::parse(Path::new("Cargo.lock"), src.to_string())?;
        assert_eq!(lock.packages[0].checksum.as_deref(), Some("cc"));
        Ok(())
    }

    #[test]
    fn malformed_lock_is_located() {
        let err = Lockfile::parse(Path::new("Cargo.lock"), "[[package]]\nname = \n".into())
            .expect_err("malformed");
        let msg = err.to_string();
        assert!(msg.starts_with("Cargo.lock:2:"), "{msg}");
    }
}
