//! What a vendored crate directory holds: its `.cargo-checksum.json` (cargo's format, byte for
//! byte) and its entry in `.slsa-vendor.json`, our manifest of per-crate tree digests.
//!
//! `.slsa-vendor.json` (in the vendor directory, next to the crate directories; cargo ignores
//! files there):
//!
//! ```json
//! {"version": 1, "crates": {"<dir>": {"name": "…", "version": "…", "source": "…",
//!   "package": "<sha256 from Cargo.lock>" | null, "executables": ["path", …],
//!   "links": {"path": "target"}, /* only when the crate has symbolic links */
//!   "tree": "<sha256 over the sorted lines `path\t<sha256>\t<x|->[\t>target]`>",
//!   "stub": true /* only when filtered out by --platform */}}}
//! ```
//!
//! Unlike cargo's own checksum file — which cargo ignores for git sources and never checks for
//! added files — the manifest covers every crate and every file, so `--verify` can report files
//! added to, removed from or changed in any vendored crate.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::extract::FileEntry;

/// Manifest file name.
pub const MANIFEST: &str = ".slsa-vendor.json";
/// cargo's per-crate checksum file.
pub const CHECKSUM: &str = ".cargo-checksum.json";

/// `.cargo-checksum.json` exactly as cargo vendor writes it (compact, keys sorted).
pub fn cargo_checksum_json(files: &BTreeMap<String, FileEntry>, package: Option<&str>) -> String {
    let map: BTreeMap<&str, &str> = files
        .iter()
        .map(|(k, v)| (k.as_str(), v.sha256.as_str()))
        .collect();
    serde_json::json!({"files": map, "package": package}).to_string()
}

/// The tree digest of a crate's files (paths, contents and executable bits).
pub fn tree_digest(files: &BTreeMap<String, FileEntry>) -> String {
    let mut h = Sha256::new();
    for (path, f) in files {
        h.update(path.as_bytes());
        h.update(b"\t");
        h.update(f.sha256.as_bytes());
        h.update(if f.executable { b"\tx" } else { b"\t-" });
        // A link adds its target (so trees without links keep their digest).
        if let Some(target) = &f.link {
            h.update(b"\t>");
            h.update(target.as_bytes());
        }
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// One crate in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateRecord {
    pub name: String,
    pub version: String,
    pub source: String,
    pub package: Option<String>,
    pub executables: BTreeSet<String>,
    /// Symbolic links kept as links (as cargo vendor keeps them): path → target text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    pub tree: String,
    /// Filtered out by `--platform`: only a stub (Cargo.toml and an empty lib) is vendored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stub: bool,
}

/// `.slsa-vendor.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub crates: BTreeMap<String, CrateRecord>,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
