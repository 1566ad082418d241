//! Git crates: the files cargo packages from a checkout, copied (or only hashed), with the
//! manifest cargo vendor generates for them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use super::extract::FileEntry;
use super::{cargo_home, extract, normalize};

/// Copy a git package's files into `dest`, or with `dest` `None` only hash them. The files
/// are the ones cargo lists for a package in a checkout: everything but `.git`, nested
/// packages and cargo's own marker files, filtered by `package.include` / `package.exclude`
/// with cargo's gitignore rules. `Cargo.toml` is replaced by the normalised manifest cargo
/// vendor generates (see [`normalize`]). Links are followed as cargo follows them (a linked
/// file is copied as a file, a linked directory walked) when they stay inside the repository;
/// a link leading out of it is refused.
pub(super) fn copy_git_package(
    src: &Path,
    dest: Option<&Path>,
) -> Result<BTreeMap<String, FileEntry>> {
    type Keep<'a> = dyn Fn(&Path) -> bool + 'a;
    struct Walk<'a> {
        root: &'a Path,
        /// Links are followed only to what lies inside this (the canonical checkout).
        bound: &'a Path,
        keep: &'a Keep<'a>,
        skip_root_target: bool,
    }
    fn walk(
        w: &Walk,
        dir: &Path,
        out: &mut Vec<(String, PathBuf, bool)>,
        depth: usize,
    ) -> Result<()> {
        if depth > 64 {
            bail!("{}: directory nesting too deep", dir.display());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == ".git" {
                continue;
            }
            let rel = p.strip_prefix(w.root).unwrap_or(&p);
            let rel_s = rel
                .to_str()
                .ok_or_else(|| anyhow!("non-UTF-8 path {}", p.display()))?
                .replace('\\', "/");
            let lmeta = std::fs::symlink_metadata(&p)?;
            let meta = if lmeta.file_type().is_symlink() {
                // Followed like cargo does (a linked file is copied as a file, a linked
                // directory walked), but only to what the repository itself holds.
                let target = std::fs::canonicalize(&p)
                    .with_context(|| format!("{}: dangling link", p.display()))?;
                if !target.starts_with(w.bound) {
                    bail!(
                        "{}: a link to {}, outside the repository (vendoring copies only the repository's own files)",
                        p.display(),
                        target.display()
                    );
                }
                std::fs::metadata(&target)?
            } else {
                lmeta
            };
            if meta.is_dir() {
                if p.join("Cargo.toml").is_file()
                    || (w.skip_root_target && depth == 0 && name == "target")
                {
                    continue; // another package (or build output), not part of this one
                }
                walk(w, &p, out, depth + 1)?;
            } else if meta.is_file() && (w.keep)(rel) {
                out.push((rel_s, p, extract::is_executable(&meta)));
            }
        }
        Ok(())
    }
    let checkout = src
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(src);
    let bound = std::fs::canonicalize(checkout)
        .with_context(|| format!("resolving {}", checkout.display()))?;
    // cargo looks for the workspace root up to CARGO_HOME (checkouts live inside it).
    let search_bound = cargo_home()
        .ok()
        .filter(|h| src.starts_with(h))
        .unwrap_or_else(|| checkout.to_path_buf());
    let manifest = normalize::Normalized::load(src, &search_bound)?;
    let (include, exclude) = manifest.include_exclude();
    let rules = |lines: &[String]| -> Result<ignore::gitignore::Gitignore> {
        let mut b = ignore::gitignore::GitignoreBuilder::new(src);
        for line in lines {
            b.add_line(None, line)
                .with_context(|| format!("{}: bad include/exclude rule {line:?}", src.display()))?;
        }
        Ok(b.build()?)
    };
    let (include_rules, exclude_rules) = (rules(include)?, rules(exclude)?);
    let has_include = !include.is_empty();
    // As cargo lists a package's files: `include` and `exclude` are exclusive, and each file is
    // matched on its own path (so a `!` rule can keep a file inside an excluded directory).
    // Without `include`, cargo lists the repository's files, tracked ones in `target/` too.
    let keep = |rel: &Path| -> bool {
        if rel == Path::new("Cargo.toml") || rel == Path::new("Cargo.lock") {
            return true;
        }
        if has_include {
            include_rules
                .matched_path_or_any_parents(rel, false)
                .is_ignore()
        } else {
            !exclude_rules
                .matched_path_or_any_parents(rel, false)
                .is_ignore()
        }
    };
    let w = Walk {
        root: src,
        bound: &bound,
        keep: &keep,
        skip_root_target: has_include,
    };
    let mut listed = Vec::new();
    walk(&w, src, &mut listed, 0)?;
    let packaged: Vec<PathBuf> = listed
        .iter()
        .map(|(rel, _, _)| PathBuf::from(rel))
        .collect();
    let mut files = BTreeMap::new();
    if let Some(d) = dest {
        std::fs::create_dir_all(d)?;
    }
    for (rel, path, executable) in listed {
        if extract::skipped(&rel) {
            continue;
        }
        let (bytes, executable) = if rel == "Cargo.toml" {
            (manifest.vendored(&packaged)?.into_bytes(), false)
        } else {
            (std::fs::read(&path)?, executable)
        };
        if let Some(dest) = dest {
            let target = dest.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            extract::write_file(&target, &bytes, executable)?;
        }
        files.insert(
            rel,
            FileEntry::plain(hex::encode(Sha256::digest(&bytes)), executable),
        );
    }
    Ok(files)
}
