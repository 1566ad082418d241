//! Targets, as cargo normalises them (its `util/toml/targets.rs`): the library, binaries
//! found by convention, and what a vendored package keeps.

use super::*;

pub(super) fn normalize_lib(
    original: Option<&TomlTarget>,
    root: &Path,
    package_name: &str,
    edition: u16,
    autodiscover: Option<bool>,
) -> Result<Option<TomlTarget>> {
    let normalized_already = autodiscover == Some(false)
        && original.is_none_or(|t| t.name.is_some() && t.path.is_some());
    if normalized_already {
        return Ok(original.cloned().map(|mut lib| {
            if let Some(PathValue(p)) = &lib.path {
                lib.path = Some(PathValue(normalize_path(p)));
            }
            lib
        }));
    }
    let inferred = Path::new("src").join("lib.rs");
    let inferred = root.join(&inferred).exists().then_some(inferred);
    let lib = original.cloned().or_else(|| {
        inferred.as_ref().map(|p| TomlTarget {
            path: Some(PathValue(p.clone())),
            ..TomlTarget::new()
        })
    });
    let Some(mut lib) = lib else { return Ok(None) };
    let name = lib
        .name
        .get_or_insert_with(|| package_name.replace('-', "_"))
        .clone();
    if lib.path.is_none() {
        if let Some(p) = inferred {
            lib.path = Some(PathValue(p));
        } else {
            let legacy = Path::new("src").join(format!("{name}.rs"));
            if edition == 2015 && root.join(&legacy).exists() {
                lib.path = Some(PathValue(legacy));
            } else {
                bail!(
                    "can't find library `{name}`, rename file to `src/lib.rs` or specify lib.path"
                );
            }
        }
    }
    if let Some(PathValue(p)) = &lib.path {
        lib.path = Some(PathValue(normalize_path(p)));
    }
    Ok(Some(lib))
}

pub(super) fn inferred_bins(root: &Path, package_name: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let main = Path::new("src").join("main.rs");
    if root.join(&main).exists() {
        out.push((package_name.to_owned(), main));
    }
    out.extend(infer_from_directory(root, &Path::new("src").join("bin")));
    out
}

pub(super) fn legacy_bin_path(root: &Path, t: &TomlTarget, has_lib: bool) -> Option<PathBuf> {
    let name = t.name.as_deref()?;
    if !has_lib {
        let p = Path::new("src").join(format!("{name}.rs"));
        if root.join(&p).exists() {
            return Some(p);
        }
    }
    [
        Path::new("src").join("main.rs"),
        Path::new("src").join("bin").join("main.rs"),
    ]
    .into_iter()
    .find(|p| root.join(p).exists())
}

/// Targets inferred from `dir`: its `*.rs` files and its subdirectories with a `main.rs`, in
/// directory order (cargo sorts by name afterwards).
pub(super) fn infer_from_directory(root: &Path, dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|s| !s.starts_with('.')))
        .filter_map(|e| {
            let path = e.path();
            let rel = |p: PathBuf| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p);
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let main = path.join("main.rs");
                let name = path.file_name()?.to_str()?.to_owned();
                main.exists().then(|| (name, rel(main)))
            } else if path.extension().and_then(|x| x.to_str()) == Some("rs") {
                let stem = path.file_stem()?.to_str()?.to_owned();
                Some((stem, rel(path)))
            } else {
                None
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn normalize_targets(
    original: Option<&Vec<TomlTarget>>,
    root: &Path,
    edition: u16,
    autodiscover: Option<bool>,
    inferred: &dyn Fn() -> Vec<(String, PathBuf)>,
    legacy_path: &dyn Fn(&TomlTarget) -> Option<PathBuf>,
    kind: &str,
) -> Result<Vec<TomlTarget>> {
    let normalized_already = autodiscover == Some(false)
        && original.is_none_or(|ts| ts.iter().all(|t| t.name.is_some() && t.path.is_some()));
    if normalized_already {
        let mut ts = original.cloned().unwrap_or_default();
        for t in &mut ts {
            if let Some(PathValue(p)) = &t.path {
                t.path = Some(PathValue(normalize_path(p)));
            }
        }
        return Ok(ts);
    }
    let inferred = inferred();
    let inferred_targets = inferred.iter().map(|(name, path)| TomlTarget {
        name: Some(name.clone()),
        path: Some(PathValue(path.clone())),
        ..TomlTarget::new()
    });
    let mut targets: Vec<TomlTarget> = match original {
        None if autodiscover == Some(false) => vec![],
        None => inferred_targets.collect(),
        Some(explicit) => {
            let mut targets = explicit.clone();
            let path_of = |t: &TomlTarget| t.path.as_ref().map(|p| root.join(&p.0));
            let names: HashSet<_> = targets.iter().map(|t| t.name.clone()).collect();
            let paths: HashSet<_> = targets.iter().map(path_of).collect();
            let rest: Vec<_> = inferred_targets
                .filter(|t| !names.contains(&t.name) && !paths.contains(&path_of(t)))
                .collect();
            if autodiscover.unwrap_or(edition != 2015) {
                targets.extend(rest);
            }
            targets
        }
    };
    for t in &targets {
        if t.name.is_none() {
            bail!("{kind} target names must not be empty");
        }
    }
    targets.sort_unstable_by_key(|t| t.name.clone());
    let mut out = Vec::with_capacity(targets.len());
    for mut t in targets {
        let path = match &t.path {
            Some(p) => p.0.clone(),
            None => {
                let name = t.name.clone().unwrap_or_default();
                let mut matching = inferred.iter().filter(|(n, _)| *n == name);
                match (matching.next(), matching.next()) {
                    (Some((_, p)), None) => p.clone(),
                    _ => match (edition == 2015).then(|| legacy_path(&t)).flatten() {
                        Some(p) => p,
                        // cargo refuses such a binary, but only notes (and drops) such an
                        // example, test or benchmark of a dependency.
                        None if kind == "binary" => {
                            bail!("cannot infer the path of {kind} target `{name}`")
                        }
                        None => continue,
                    },
                }
            }
        };
        t.path = Some(PathValue(normalize_path(&path)));
        out.push(t);
    }
    Ok(out)
}

/// cargo's `prepare_toml_for_vendor`: drop build scripts and targets whose files are not among
/// the package's files, and write target paths with `/`.
pub(super) fn prepare_for_vendor(m: &mut TomlManifest, packaged: &[PathBuf]) {
    if let Some(p) = m.package.as_mut()
        && let Some(scripts) = p.build.as_ref().and_then(|b| match b {
            TomlPackageBuild::Auto(_) => None,
            TomlPackageBuild::SingleScript(s) => Some(vec![s.clone()]),
            TomlPackageBuild::MultipleScript(s) => Some(s.clone()),
        })
    {
        let kept: Vec<String> = scripts
            .iter()
            .map(|s| normalize_path(Path::new(s)))
            .filter(|p| packaged.contains(p))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        p.build = Some(match kept.len() {
            0 => TomlPackageBuild::Auto(false),
            1 => TomlPackageBuild::SingleScript(kept[0].clone()),
            _ => TomlPackageBuild::MultipleScript(kept),
        });
    }
    let keep = |t: &TomlTarget| -> Option<TomlTarget> {
        let p = &t.path.as_ref()?.0;
        if !packaged.contains(p) {
            return None;
        }
        let mut t = t.clone();
        t.path = Some(PathValue(PathBuf::from(
            p.to_string_lossy().replace('\\', "/"),
        )));
        Some(t)
    };
    let keep_all = |ts: Option<&Vec<TomlTarget>>| -> Option<Vec<TomlTarget>> {
        let kept: Vec<_> = ts?.iter().filter_map(keep).collect();
        (!kept.is_empty()).then_some(kept)
    };
    m.lib = m.lib.as_ref().and_then(keep);
    m.bin = keep_all(m.bin.as_ref());
    m.example = keep_all(m.example.as_ref());
    m.test = keep_all(m.test.as_ref());
    m.bench = keep_all(m.bench.as_ref());
}
