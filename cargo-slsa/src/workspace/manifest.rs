//! `Cargo.toml` files: a spanned toml_edit document for reading (so findings have lines), the
//! dependency declarations found in every dependency table, and format-preserving edits.
//!
//! Edits happen on a fresh `DocumentMut` parsed from the same text, so comments, ordering and
//! whitespace of everything not edited are kept byte for byte.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::{line_col, line_text};
use crate::error::InputError;

/// Kind of a dependency table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DepKind {
    /// `[dependencies]`
    Normal,
    /// `[dev-dependencies]`
    Dev,
    /// `[build-dependencies]`
    Build,
}

/// Which table a dependency is declared in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepTable {
    /// `[dependencies]` and friends, optionally under `[target.<cfg>]`.
    Package {
        /// Normal, dev or build.
        kind: DepKind,
        /// The `cfg(...)` or triple of a `[target.X]` table.
        target: Option<String>,
    },
    /// `[workspace.dependencies]`.
    Workspace,
    /// `[patch.<source>]`.
    Patch {
        /// `crates-io` or a URL.
        source: String,
    },
}

impl DepTable {
    /// The table as written in a manifest, for messages.
    pub fn display(&self) -> String {
        match self {
            DepTable::Package { kind, target } => {
                let t = match kind {
                    DepKind::Normal => "dependencies",
                    DepKind::Dev => "dev-dependencies",
                    DepKind::Build => "build-dependencies",
                };
                match target {
                    Some(cfg) => format!("[target.'{cfg}'.{t}]"),
                    None => format!("[{t}]"),
                }
            }
            DepTable::Workspace => "[workspace.dependencies]".to_string(),
            DepTable::Patch { source } => format!("[patch.{source}]"),
        }
    }
}

/// One dependency declaration as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepDecl {
    /// The table it is in.
    pub table: DepTable,
    /// TOML path of the dependency's item (e.g. `["target", "cfg(unix)", "dependencies", "x"]`).
    pub path: Vec<String>,
    /// Its key (the rename, when `package =` is used).
    pub key: String,
    /// The package name (`package =`, else the key).
    pub package: String,
    /// `version` requirement (or the plain string form).
    pub version: Option<String>,
    /// `git` URL.
    pub git: Option<String>,
    /// `branch`.
    pub branch: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// `rev`.
    pub rev: Option<String>,
    /// `path`.
    pub path_dep: Option<String>,
    /// `registry` (named alternative registry).
    pub registry: Option<String>,
    /// `workspace = true`.
    pub workspace: bool,
    /// Line of the dependency's key.
    pub line: usize,
    /// Line of the version requirement (the key line for the string form).
    pub version_line: usize,
    /// Line of `branch`/`tag`/`rev` (else the key line).
    pub ref_line: usize,
}

impl DepDecl {
    /// A registry dependency: not git, not path, not inherited.
    pub fn is_registry(&self) -> bool {
        self.git.is_none() && self.path_dep.is_none() && !self.workspace
    }
}

/// A parsed manifest.
pub struct Manifest {
    /// Absolute path.
    pub path: PathBuf,
    /// Text as read.
    pub src: String,
    /// Spanned document.
    pub doc: toml_edit::Document<String>,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("path", &self.path)
            .finish()
    }
}

impl Manifest {
    /// Read and parse; a TOML error is an [`InputError`] at file:line:col.
    pub fn load(path: &Path) -> Result<Manifest> {
        let src =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Manifest::parse(path, src)
    }

    /// Parse manifest text.
    pub fn parse(path: &Path, src: String) -> Result<Manifest> {
        let doc = toml_edit::Document::parse(src.clone())
            .map_err(|e| InputError::toml(path, &src, &e))?;
        Ok(Manifest {
            path: path.to_path_buf(),
            src,
            doc,
        })
    }

    /// 1-based line of a byte span.
    pub fn line_of(&self, span: Option<std::ops::Range<usize>>) -> Option<usize> {
        span.map(|s| line_col(&self.src, s.start).0)
    }

    /// The text of a line, for snippets.
    pub fn line(&self, line: usize) -> Option<&str> {
        line_text(&self.src, line)
    }

    /// `package.name`, if this manifest has a package.
    pub fn package_name(&self) -> Option<&str> {
        self.doc.get("package")?.get("name")?.as_str()
    }

    /// A fresh editable document of the same text.
    pub fn to_mut(&self) -> Result<DocumentMut> {
        self.src
            .parse::<DocumentMut>()
            .map_err(|e| InputError::toml(&self.path, &self.src, &e).into())
    }

    /// Every dependency declaration: `[dependencies]`, dev, build (also their `_` spellings),
    /// `[target.*.…]`, `[workspace.dependencies]` and `[patch.*]`, in file order per table.
    pub fn deps(&self) -> Vec<DepDecl> {
        let mut out = Vec::new();
        let root = self.doc.as_table();
        const TABLES: [(&str, DepKind); 5] = [
            ("dependencies", DepKind::Normal),
            ("dev-dependencies", DepKind::Dev),
            ("dev_dependencies", DepKind::Dev),
            ("build-dependencies", DepKind::Build),
            ("build_dependencies", DepKind::Build),
        ];
        for (name, kind) in TABLES {
            if let Some(t) = root.get(name).and_then(Item::as_table_like) {
                let table = DepTable::Package { kind, target: None };
                self.collect(t, &[name.to_string()], &table, &mut out);
            }
        }
        if let Some(targets) = root.get("target").and_then(Item::as_table_like) {
            for (cfg, item) in targets.iter() {
                let Some(tt) = item.as_table_like() else {
                    continue;
                };
                for (name, kind) in TABLES {
                    if let Some(t) = tt.get(name).and_then(Item::as_table_like) {
                        let table = DepTable::Package {
                            kind,
                            target: Some(cfg.to_string()),
                        };
                        let path = ["target".to_string(), cfg.to_string(), name.to_string()];
                        self.collect(t, &path, &table, &mut out);
                    }
                }
            }
        }
        if let Some(t) = root
            .get("workspace")
            .and_then(|w| w.get("dependencies"))
            .and_then(Item::as_table_like)
        {
            let path = ["workspace".to_string(), "dependencies".to_string()];
            self.collect(t, &path, &DepTable::Workspace, &mut out);
        }
        if let Some(patches) = root.get("patch").and_then(Item::as_table_like) {
            for (source, item) in patches.iter() {
                if let Some(t) = item.as_table_like() {
                    let table = DepTable::Patch {
                        source: source.to_string(),
                    };
                    let path = ["patch".to_string(), source.to_string()];
                    self.collect(t, &path, &table, &mut out);
                }
            }
        }
        out
    }

    fn collect(
        &self,
        t: &dyn TableLike,
        prefix: &[String],
        table: &DepTable,
        out: &mut Vec<DepDecl>,
    ) {
        for (key, item) in t.iter() {
            let key_span = t.key(key).and_then(|k| k.span());
            let line = self.line_of(key_span.or_else(|| item.span())).unwrap_or(1);
            let mut path = prefix.to_vec();
            path.push(key.to_string());
            let mut d = DepDecl {
                table: table.clone(),
                path,
                key: key.to_string(),
                package: key.to_string(),
                version: None,
                git: None,
                branch: None,
                tag: None,
                rev: None,
                path_dep: None,
                registry: None,
                workspace: false,
                line,
                version_line: line,
                ref_line: line,
            };
            if let Some(s) = item.as_str() {
                d.version = Some(s.to_string());
                d.version_line = self.line_of(item.span()).unwrap_or(line);
            } else if let Some(spec) = item.as_table_like() {
                let s = |k: &str| spec.get(k).and_then(Item::as_str).map(str::to_string);
                let line_of_key = |k: &str| {
                    spec.key(k)
                        .and_then(|key| key.span())
                        .or_else(|| spec.get(k).and_then(Item::span))
                        .and_then(|sp| self.line_of(Some(sp)))
                };
                d.version = s("version");
                d.git = s("git");
                d.branch = s("branch");
                d.tag = s("tag");
                d.rev = s("rev");
                d.path_dep = s("path");
                d.registry = s("registry");
                d.workspace = spec
                    .get("workspace")
                    .and_then(Item::as_bool)
                    .unwrap_or(false);
                if let Some(p) = s("package") {
                    d.package = p;
                }
                d.version_line = line_of_key("version").unwrap_or(line);
                d.ref_line = ["branch", "tag", "rev"]
                    .iter()
                    .find_map(|k| line_of_key(k))
                    .unwrap_or(line);
            } else {
                continue;
            }
            out.push(d);
        }
    }
}

fn item_at_mut<'a>(doc: &'a mut DocumentMut, path: &[String]) -> Option<&'a mut Item> {
    let (first, rest) = path.split_first()?;
    let mut item = doc.as_table_mut().get_mut(first)?;
    for k in rest {
        item = item.as_table_like_mut()?.get_mut(k)?;
    }
    Some(item)
}

/// Replace a value keeping its surrounding whitespace and comments.
fn replace_value(slot: &mut Value, new: &str) {
    let decor = slot.decor().clone();
    *slot = Value::from(new);
    *slot.decor_mut() = decor;
}

/// Set the version requirement of the dependency at `path` (string or table form).
/// Returns false when the path no longer names a dependency with a requirement.
pub fn set_requirement(doc: &mut DocumentMut, path: &[String], req: &str) -> bool {
    let Some(item) = item_at_mut(doc, path) else {
        return false;
    };
    if let Some(v) = item.as_value_mut()
        && v.is_str()
    {
        replace_value(v, req);
        return true;
    }
    let Some(spec) = item.as_table_like_mut() else {
        return false;
    };
    match spec.get_mut("version").and_then(Item::as_value_mut) {
        Some(v) => {
            replace_value(v, req);
            true
        }
        None => false,
    }
}

/// Pin the git dependency at `path` to `rev = sha`: `branch`/`tag`/`rev` are replaced in place
/// (cargo accepts only one of them); other keys, their order and comments are kept.
pub fn pin_git_rev(doc: &mut DocumentMut, path: &[String], sha: &str) -> bool {
    let Some(item) = item_at_mut(doc, path) else {
        return false;
    };
    // Remember where the reference was, so `rev` takes its place in the key order.
    let order: Vec<String> = match item.as_table_like() {
        Some(t) => t.iter().map(|(k, _)| k.to_string()).collect(),
        None => return false,
    };
    let slot = order
        .iter()
        .position(|k| k == "branch" || k == "tag" || k == "rev")
        .or_else(|| order.iter().position(|k| k == "git").map(|p| p + 1))
        .unwrap_or(order.len());
    let rank = |k: &str| -> (usize, usize) {
        if k == "rev" {
            return (slot, 0);
        }
        let i = order.iter().position(|o| o == k).unwrap_or(usize::MAX);
        (i, 1)
    };
    match item {
        Item::Value(Value::InlineTable(t)) => {
            // The last value carries the whitespace before `}`; keep it last after the edit.
            let last_before = order.last().cloned();
            let closing = last_before
                .as_deref()
                .and_then(|k| t.get(k))
                .and_then(|v| v.decor().suffix().cloned());
            match t.get_mut("rev") {
                Some(v) => replace_value(v, sha),
                None => {
                    t.insert("rev", Value::from(sha));
                }
            }
            t.remove("branch");
            t.remove("tag");
            t.sort_values_by(|a, _, b, _| rank(a.get()).cmp(&rank(b.get())));
            let last_after: Option<String> = t.iter().last().map(|(k, _)| k.to_string());
            if last_after != last_before {
                if let Some(v) = last_before.as_deref().and_then(|k| t.get_mut(k)) {
                    v.decor_mut().set_suffix("");
                }
                if let (Some(v), Some(c)) =
                    (last_after.as_deref().and_then(|k| t.get_mut(k)), closing)
                {
                    v.decor_mut().set_suffix(c);
                }
            }
            true
        }
        Item::Table(t) => {
            // A comment above `branch = …` (key decor) or after it (value decor) stays with `rev`.
            let replaced = ["branch", "tag"].into_iter().find(|k| t.contains_key(k));
            let key_decor = replaced
                .and_then(|k| t.key(k))
                .map(|k| k.leaf_decor().clone());
            let value_decor = replaced
                .and_then(|k| t.get(k))
                .and_then(Item::as_value)
                .map(|v| v.decor().clone());
            match t.get_mut("rev").and_then(Item::as_value_mut) {
                Some(v) => replace_value(v, sha),
                None => {
                    t.insert("rev", toml_edit::value(sha));
                }
            }
            t.remove("branch");
            t.remove("tag");
            if let (Some(d), Some(mut k)) = (key_decor, t.key_mut("rev")) {
                *k.leaf_decor_mut() = d;
            }
            if let (Some(d), Some(v)) = (value_decor, t.get_mut("rev").and_then(Item::as_value_mut))
            {
                *v.decor_mut() = d;
            }
            t.sort_values_by(|a, _, b, _| rank(a.get()).cmp(&rank(b.get())));
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"[package]
name = "app"
version = "0.1.0"

[dependencies]
serde = "1.0" # keep me
foo = { version = "*", features = ["x"] }
bar = { git = "https://example.com/bar", branch = "main", features = ["y"] } # bar
renamed = { package = "real", version = "2" }

[dependencies.tabled]
git = "https://example.com/tabled"
# which tag
tag = "v1"
default-features = false

[target.'cfg(unix)'.dev-dependencies]
nix = "0.29"

[workspace.dependencies]
shared = "=1.2.3"

[patch.crates-io]
pat = { git = "https://example.com/pat" }
"#;

    fn manifest() -> Manifest {
        Manifest::parse(Path::new("/w/Cargo.toml"), SRC.to_string()).expect("parses")
    }

    #[test]
    fn finds_every_dependency_with_lines() {
        let deps = manifest().deps();
        let names: Vec<_> = deps
            .iter()
            .map(|d| (d.key.as_str(), d.line, d.ref_line))
            .collect();
        assert_eq!(
            names,
            vec![
                ("serde", 6, 6),
                ("foo", 7, 7),
                ("bar", 8, 8),
                ("renamed", 9, 9),
                ("tabled", 11, 14),
                ("nix", 18, 18),
                ("shared", 21, 21),
                ("pat", 24, 24),
            ]
        );
        let renamed = &deps[3];
        assert_eq!(renamed.package, "real");
        let nix = &deps[5];
        assert_eq!(
            nix.table,
            DepTable::Package {
                kind: DepKind::Dev,
                target: Some("cfg(unix)".into())
            }
        );
        assert_eq!(nix.path, ["target", "cfg(unix)", "dev-dependencies", "nix"]);
        assert_eq!(deps[7].table.display(), "[patch.crates-io]");
    }

    #[test]
    fn edits_keep_formatting() -> Result<()> {
        let m = manifest();
        let mut doc = m.to_mut()?;
        let deps = m.deps();
        for d in &deps {
            match d.key.as_str() {
                "serde" => assert!(set_requirement(&mut doc, &d.path, "=1.0.200")),
                "foo" => assert!(set_requirement(&mut doc, &d.path, "=0.3.1")),
                "bar" | "tabled" | "pat" => assert!(pin_git_rev(&mut doc, &d.path, "abc")),
                _ => {}
            }
        }
        insta::assert_snapshot!(doc.to_string());
        Ok(())
    }

    #[test]
    fn malformed_manifest_is_located() {
        let err = Manifest::parse(
            Path::new("/w/Cargo.toml"),
            "[package]\nname = \"x\nversion = 1\n".into(),
        )
        .expect_err("malformed");
        assert!(err.to_string().starts_with("/w/Cargo.toml:2:"), "{err}");
    }
}
