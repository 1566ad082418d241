//! Inputs of `harden`: workflow files and composite action definitions, each parsed twice — into
//! the typed models of `github-actions-models` (for meaning) and into a `yamlpath` document (a
//! tree-sitter tree with exact positions, for lines and format-preserving fixes).
//!
//! Why these crates: they are zizmor's own model and locator (MIT, well kept), so what we audit
//! and where we point agrees with the tool our codes cross-reference.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use github_actions_models::action::Action;
use github_actions_models::workflow::Workflow;
use yamlpath::{Component, Document, Route};

use crate::error::InputError;

/// What a file defines.
pub enum Kind {
    /// `.github/workflows/*.yml`.
    Workflow(Box<Workflow>),
    /// `action.yml` (composite, JavaScript or Docker action).
    Action(Box<Action>),
}

/// One parsed input.
pub struct Input {
    /// Path as found.
    pub path: PathBuf,
    /// Located YAML.
    pub doc: Document,
    /// The same document as a generic value (for keys the typed model does not keep).
    pub value: yaml_serde::Value,
    /// Typed model.
    pub kind: Kind,
}

/// One route component, owned (routes are built from job ids and step indices).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(s: &str) -> Self {
        Seg::Key(s.to_string())
    }
}
impl From<String> for Seg {
    fn from(s: String) -> Self {
        Seg::Key(s)
    }
}
impl From<&String> for Seg {
    fn from(s: &String) -> Self {
        Seg::Key(s.clone())
    }
}
impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// Build a route from segments: `path!["jobs", id, "steps", i, "uses"]`.
#[macro_export]
macro_rules! ypath {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::harden::input::Seg::from($seg)),*]
    };
}

fn route(segs: &[Seg]) -> Route<'_> {
    let comps: Vec<Component<'_>> = segs
        .iter()
        .map(|s| match s {
            Seg::Key(k) => Component::Key(k.as_str().into()),
            Seg::Index(i) => Component::Index(*i),
        })
        .collect();
    Route::from(comps)
}

/// `src` with every `uses: $/…` value written `uses: ./…` (quoted or not).
fn same_repo_uses_as_local(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains("$/") {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len());
    for line in src.split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = trimmed.strip_prefix("uses:") {
            let value = rest.trim_start().trim_start_matches(['"', '\'']);
            if let Some(path) = value.strip_prefix("$/") {
                let at = line.len() - value.len();
                out.push_str(&line[..at]);
                out.push_str("./");
                out.push_str(path);
                continue;
            }
        }
        out.push_str(line);
    }
    std::borrow::Cow::Owned(out)
}

impl Input {
    /// Read and parse `path`. YAML or schema errors are input errors at file:line.
    pub fn load(path: &Path) -> Result<Input> {
        let src =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(path, src)
    }

    /// Parse `src` as the content of `path` (a fix's result, before it is written).
    pub fn parse(path: &Path, src: String) -> Result<Input> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let is_action = name == "action.yml" || name == "action.yaml";
        let located = |e: &yaml_serde::Error, what: &str| {
            let line = e.location().map(|l| l.line());
            InputError::at(path, line, None, format!("not a valid {what}: {e}"))
        };
        let value: yaml_serde::Value =
            yaml_serde::from_str(&src).map_err(|e| located(&e, "YAML document"))?;
        // The typed model does not know `uses: $/…` (a reusable workflow of the same
        // repository, as `./…`): it reads a copy where `$/` is spelled `./` — the same length,
        // so positions agree — while audits and fixes work on the original text.
        let typed_src = same_repo_uses_as_local(&src);
        let kind = if is_action {
            Kind::Action(Box::new(
                yaml_serde::from_str(&typed_src)
                    .map_err(|e| located(&e, "GitHub Actions action"))?,
            ))
        } else {
            Kind::Workflow(Box::new(
                yaml_serde::from_str(&typed_src)
                    .map_err(|e| located(&e, "GitHub Actions workflow"))?,
            ))
        };
        let doc = Document::new(src)
            .map_err(|e| InputError::at(path, None, None, format!("cannot parse YAML: {e}")))?;
        Ok(Input {
            path: path.to_path_buf(),
            doc,
            value,
            kind,
        })
    }

    /// Source text.
    pub fn src(&self) -> &str {
        self.doc.source()
    }

    /// 1-based line where the node at `segs` starts (its value; for a key's line see
    /// [`Input::key_line`]). Falls back to the nearest ancestor that exists, then line 1.
    pub fn line(&self, segs: &[Seg]) -> usize {
        let mut n = segs.len();
        loop {
            if let Ok(f) = self.doc.query_pretty(&route(&segs[..n])) {
                return f.location.point_span.0.0 + 1;
            }
            if n == 0 {
                return 1;
            }
            n -= 1;
        }
    }

    /// 1-based line of the key at `segs` (e.g. the `permissions:` line itself).
    pub fn key_line(&self, segs: &[Seg]) -> usize {
        match self.doc.query_key_only(&route(segs)) {
            Ok(f) => f.location.point_span.0.0 + 1,
            Err(_) => self.line(segs),
        }
    }

    /// Byte span of the node at `segs` (exact, without surrounding whitespace).
    pub fn span(&self, segs: &[Seg]) -> Option<(usize, usize)> {
        self.doc
            .query_exact(&route(segs))
            .ok()
            .flatten()
            .map(|f| f.location.byte_span)
    }

    /// Whether a node exists at `segs`.
    pub fn exists(&self, segs: &[Seg]) -> bool {
        self.doc.query_exists(&route(segs))
    }

    /// The text of 1-based `line`.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        crate::workspace::line_text(self.src(), line)
    }

    /// 1-based line of byte `offset`.
    pub fn line_of_offset(&self, offset: usize) -> usize {
        crate::workspace::line_col(self.src(), offset).0
    }
}

/// The inputs to audit: the given files and directories (recursively, `*.yml`/`*.yaml` under
/// a directory), or by default what GitHub itself runs: the workflows directly in
/// `.github/workflows/` (GitHub ignores subdirectories), `action.yml`/`action.yaml` at the root
/// and the actions under `.github/actions/`.
pub fn collect(root: &Path, given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if given.is_empty() {
        let wf = root.join(".github").join("workflows");
        if wf.is_dir() {
            walk(&wf, &mut out, false, 0)?;
        }
        // Actions anywhere in the repository (zizmor looks there too), not in build output,
        // dependencies or hidden directories other than .github.
        walk_actions(root, &mut out, 0)?;
    } else {
        for p in given {
            if p.is_dir() {
                let before = out.len();
                walk(p, &mut out, true, 0)?;
                if out.len() == before {
                    return Err(InputError::at(
                        p,
                        None,
                        None,
                        "no workflow or action files (.yml, .yaml) in this directory",
                    )
                    .into());
                }
            } else if p.is_file() {
                out.push(p.clone());
            } else {
                return Err(InputError::at(p, None, None, "no such file or directory").into());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn is_yaml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "yml" || e == "yaml")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, recurse: bool, depth: usize) -> Result<()> {
    if depth > 16 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            if recurse {
                walk(&path, out, recurse, depth + 1)?;
            }
        } else if is_yaml(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn walk_actions(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            // Build output, dependencies, test fixtures (often broken on purpose) and hidden
            // directories other than .github hold no action a workflow uses.
            let skip = matches!(
                name.as_ref(),
                "target" | "node_modules" | "vendor" | "tests" | "test" | "testdata" | "fixtures"
            ) || (name.starts_with('.') && name != ".github");
            if !skip && !entry.file_type().is_ok_and(|t| t.is_symlink()) {
                walk_actions(&path, out, depth + 1)?;
            }
        } else if name == "action.yml" || name == "action.yaml" {
            out.push(path);
        }
    }
    Ok(())
}

/// The value at `route` in `v`.
pub(crate) fn get<'v>(v: &'v yaml_serde::Value, route: &[Seg]) -> Option<&'v yaml_serde::Value> {
    let mut cur = v;
    for s in route {
        cur = match s {
            Seg::Key(k) => cur.get(k.as_str())?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}
