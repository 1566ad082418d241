//! The model every subcommand works on: the workspace's manifests (format-preserving `toml_edit`
//! documents with positions), its `Cargo.lock`, its `[workspace.metadata.slsa]` configuration and,
//! when resolution succeeds, the guppy [`PackageGraph`] built from one `cargo metadata` run.
//!
//! Loading never writes. Subcommands decide what to change; writes go through [`crate::fsx`].
//!
//! Why these crates: `cargo_metadata` builds the `cargo metadata` invocation exactly as cargo
//! expects (honouring `$CARGO`), guppy turns its output into a graph with platform and
//! dependency-kind queries that later subcommands (vendor filtering, SBOM) rely on, and toml_edit
//! keeps comments and formatting when we edit manifests.

pub mod cargo;
pub mod config;
pub mod graph;
pub mod lock;
pub mod manifest;
pub mod toolchain;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use guppy::graph::PackageGraph;

use crate::Ctx;
use crate::error::InputError;
pub use crate::text::line_col;
pub use cargo::Cargo;
pub use config::Config;
pub use lock::{LockPackage, Lockfile, SourceKind};
pub use manifest::{DepDecl, DepTable, Manifest};

/// Byte offsets of line starts, for many offset → line lookups in one text.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index `src`.
    pub fn new(src: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset` (as [`line_col`] computes it).
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// The text of 1-based `line` in `src`.
pub fn line_text(src: &str, line: usize) -> Option<&str> {
    src.lines().nth(line.checked_sub(1)?)
}

/// State of `Cargo.lock` as found when loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Present, and `cargo metadata --locked` accepted it.
    Fresh,
    /// Present, but a `--locked` resolution would change it.
    Stale,
    /// Not there.
    Missing,
}

/// A loaded workspace.
pub struct Workspace {
    /// Directory of the workspace root manifest.
    pub root: PathBuf,
    /// The root `Cargo.toml`.
    pub root_manifest: Manifest,
    /// Member manifests other than the root one, sorted by path.
    pub members: Vec<Manifest>,
    /// `Cargo.lock`, when present.
    pub lock: Option<Lockfile>,
    /// What `cargo metadata --locked` said about the lock.
    pub lock_state: LockState,
    /// `[workspace.metadata.slsa]` (or `[package.metadata.slsa]`).
    pub config: Config,
    /// `cargo metadata --locked` output, when the lock is fresh; the graph is built from it on
    /// first use (pin never needs it, and building it costs as much as a tenth of the run).
    metadata_json: Option<String>,
    graph: OnceLock<PackageGraph>,
    /// Whether a journaled `Cargo.lock` write from a killed run was rolled back while loading.
    pub recovered_lock: bool,
}

impl Workspace {
    /// The resolved package graph (guppy), or `None` when the lock is stale or missing.
    pub fn graph(&self) -> Result<Option<&PackageGraph>> {
        if let Some(g) = self.graph.get() {
            return Ok(Some(g));
        }
        let Some(json) = &self.metadata_json else {
            return Ok(None);
        };
        let graph = PackageGraph::from_json(json)
            .context("cargo metadata printed output that guppy could not read")?;
        let _ = self.graph.set(graph);
        Ok(self.graph.get())
    }

    /// The lock, when `cargo metadata --locked` accepted it; otherwise an input error at
    /// Cargo.lock saying why `what` needs it ("the SBOM would not describe a locked build").
    pub fn fresh_lock(&self, why: &str) -> Result<&Lockfile> {
        match (self.lock_state, &self.lock) {
            (LockState::Fresh, Some(lock)) => Ok(lock),
            _ => Err(InputError::at(
                self.lock_path(),
                None,
                None,
                format!(
                    "Cargo.lock is missing or out of date, so {why}: run `cargo slsa pin` first"
                ),
            )
            .into()),
        }
    }

    /// Path of `Cargo.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    /// The root manifest followed by every member manifest.
    pub fn manifests(&self) -> impl Iterator<Item = &Manifest> {
        std::iter::once(&self.root_manifest).chain(self.members.iter())
    }

    /// Find the manifest cargo would use: `--manifest-path`, or `Cargo.toml` in the working
    /// directory or its nearest ancestor.
    pub fn locate(ctx: &Ctx) -> Result<PathBuf> {
        if let Some(p) = &ctx.manifest_path {
            let p = if p.is_absolute() {
                p.clone()
            } else {
                ctx.cwd.join(p)
            };
            if p.file_name().and_then(|n| n.to_str()) != Some("Cargo.toml") {
                return Err(InputError::at(
                    &p,
                    None,
                    None,
                    "--manifest-path must point to a Cargo.toml",
                )
                .into());
            }
            if !p.is_file() {
                return Err(InputError::at(&p, None, None, "no such manifest").into());
            }
            return Ok(p);
        }
        let mut dir = Some(ctx.cwd.as_path());
        while let Some(d) = dir {
            let candidate = d.join("Cargo.toml");
            if candidate.is_file() {
                return Ok(candidate);
            }
            dir = d.parent();
        }
        Err(InputError::at(
            &ctx.cwd,
            None,
            None,
            "could not find Cargo.toml here or in any parent directory (use --manifest-path)",
        )
        .into())
    }

    /// Load the workspace: parse the manifests, read the lock, and resolve with
    /// `cargo metadata --locked`. A stale or missing lock is recorded, not an error; any other
    /// cargo failure (a malformed member manifest, a path that is not in a workspace, cargo
    /// missing, the network) is.
    pub fn load(ctx: &Ctx, cargo: &Cargo) -> Result<Workspace> {
        Self::load_with(ctx, cargo, |_| ()).map(|(ws, _)| ws)
    }

    /// [`Workspace::load`], running `meanwhile` on another thread while cargo resolves, with
    /// the root cargo is expected to report (a guess: the caller checks it against the loaded
    /// workspace before trusting anything it did). `None` if that thread panicked: the work is
    /// an optimisation, never needed.
    pub fn load_with<T: Send>(
        ctx: &Ctx,
        cargo: &Cargo,
        meanwhile: impl FnOnce(&Path) -> T + Send,
    ) -> Result<(Workspace, Option<T>)> {
        let manifest_path = Self::locate(ctx)?;
        // Parse first: a malformed manifest is reported by us with file:line before cargo runs.
        let entry = Manifest::load(&manifest_path)?;
        let guessed_root = guess_root(&entry)?;
        let recovered_lock = crate::fsx::recover(&guessed_root.join("Cargo.lock"))?;

        let (resolved, extra) = std::thread::scope(|scope| {
            let side = scope.spawn(|| meanwhile(&guessed_root));
            let resolved = cargo.metadata_locked(&manifest_path);
            (resolved, side.join())
        });
        let extra = extra.ok();
        let (info, lock_state, metadata_json) = match resolved? {
            Ok(json) => (
                WorkspaceInfo::from_json(&json)?,
                LockState::Fresh,
                Some(json),
            ),
            Err(_stale) => {
                let info = WorkspaceInfo::from_json(&cargo.metadata_no_deps(&manifest_path)?)?;
                let state = if info.root.join("Cargo.lock").is_file() {
                    LockState::Stale
                } else {
                    LockState::Missing
                };
                (info, state, None)
            }
        };

        let root_manifest_path = info.root.join("Cargo.toml");
        let root_manifest = if root_manifest_path == manifest_path {
            entry
        } else {
            Manifest::load(&root_manifest_path)?
        };
        let mut members = Vec::new();
        for path in info.member_manifests {
            if path != root_manifest_path {
                members.push(Manifest::load(&path)?);
            }
        }
        members.sort_by(|a, b| a.path.cmp(&b.path));

        let lock_path = info.root.join("Cargo.lock");
        let lock = if lock_path.is_file() {
            Some(Lockfile::load(&lock_path)?)
        } else {
            None
        };
        let config = Config::from_root(&root_manifest)?;
        Ok((
            Workspace {
                root: info.root,
                root_manifest,
                members,
                lock,
                lock_state,
                config,
                metadata_json,
                graph: OnceLock::new(),
                recovered_lock,
            },
            extra,
        ))
    }
}

/// Where cargo will look for the workspace root: the entry manifest if it has `[workspace]`, else
/// `package.workspace`, else the nearest ancestor whose manifest has `[workspace]`. Used only to
/// find a journaled lock before cargo runs; cargo's answer is authoritative afterwards.
/// The workspace root and its `[workspace.metadata.slsa]` configuration, from the manifest cargo
/// would use ([`Workspace::locate`]) — without running cargo.
pub fn root_config(ctx: &Ctx) -> Result<(PathBuf, Config)> {
    let manifest_path = Workspace::locate(ctx)?;
    let entry = Manifest::load(&manifest_path)?;
    let root = guess_root(&entry)?;
    let root_manifest_path = root.join("Cargo.toml");
    let root_manifest = if root_manifest_path == manifest_path {
        entry
    } else {
        Manifest::load(&root_manifest_path)?
    };
    Ok((root, Config::from_root(&root_manifest)?))
}

pub(crate) fn guess_root(entry: &Manifest) -> Result<PathBuf> {
    let dir = entry
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if entry.doc.as_table().contains_key("workspace") {
        return Ok(dir);
    }
    if let Some(ws) = entry
        .doc
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(|w| w.as_str())
    {
        return Ok(dir.join(ws));
    }
    let mut cur = dir.parent();
    while let Some(d) = cur {
        let candidate = d.join("Cargo.toml");
        if let Ok(src) = std::fs::read_to_string(&candidate)
            && let Ok(doc) = src.parse::<toml_edit::DocumentMut>()
            && doc.as_table().contains_key("workspace")
        {
            return Ok(d.to_path_buf());
        }
        cur = d.parent();
    }
    Ok(dir)
}

/// The parts of `cargo metadata` the model needs up front, from either a full or a `--no-deps`
/// run. Deserializing only these fields skips the rest of a multi-megabyte document cheaply.
#[derive(serde::Deserialize)]
struct WorkspaceJson {
    workspace_root: PathBuf,
    workspace_members: Vec<String>,
    packages: Vec<PackageJson>,
}

#[derive(serde::Deserialize)]
struct PackageJson {
    id: String,
    manifest_path: PathBuf,
}

struct WorkspaceInfo {
    root: PathBuf,
    member_manifests: Vec<PathBuf>,
}

impl WorkspaceInfo {
    fn from_json(json: &str) -> Result<Self> {
        let md: WorkspaceJson =
            serde_json::from_str(json).context("reading `cargo metadata` output")?;
        let members: std::collections::HashSet<&str> =
            md.workspace_members.iter().map(String::as_str).collect();
        Ok(WorkspaceInfo {
            root: md.workspace_root,
            member_manifests: md
                .packages
                .into_iter()
                .filter(|p| members.contains(p.id.as_str()))
                .map(|p| p.manifest_path)
                .collect(),
        })
    }
}

#[cfg(test)]
mod line_index_tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_line_col() {
        let src = "a\nbb\n\nccc\n";
        let idx = LineIndex::new(src);
        for off in 0..=src.len() {
            assert_eq!(idx.line(off), line_col(src, off).0, "offset {off}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 9), (2, 3));
        assert_eq!(line_col(src, 999), (3, 1));
        assert_eq!(line_text(src, 2), Some("bé = 2"));
        assert_eq!(line_text(src, 0), None);
    }
}
