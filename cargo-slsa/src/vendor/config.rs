//! The source-replacement configuration cargo vendor prints, and its merge into
//! `.cargo/config.toml` (toml_edit: every other key, comment and the layout kept).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::error::InputError;
use crate::workspace::SourceKind;
use crate::workspace::lock::{CRATES_IO_REGISTRY, CRATES_IO_SPARSE};

/// The TOML cargo vendor prints.
pub(super) fn config_text(dir_shown: &str, sources: &BTreeSet<String>) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    for s in sources {
        if s == CRATES_IO_REGISTRY || s == CRATES_IO_SPARSE {
            tables.insert(
                "crates-io".into(),
                "replace-with = \"vendored-sources\"\n".into(),
            );
            continue;
        }
        match SourceKind::parse(s) {
            SourceKind::Registry(url) | SourceKind::Sparse(url) => {
                let registry = if s.starts_with("sparse+") {
                    s.clone()
                } else {
                    url.to_string()
                };
                tables.insert(
                    url.to_string(),
                    format!(
                        "registry = {}\nreplace-with = \"vendored-sources\"\n",
                        q(&registry)
                    ),
                );
            }
            SourceKind::Git { url, reference, .. } => {
                let mut body = format!("git = {}\n", q(url));
                if let Some((k, v)) = reference.split_once('=')
                    && matches!(k, "branch" | "tag" | "rev")
                {
                    body.push_str(&format!("{k} = {}\n", q(v)));
                }
                body.push_str("replace-with = \"vendored-sources\"\n");
                // cargo names the table after the source without the locked commit.
                let key = s.split('#').next().unwrap_or(s).to_string();
                tables.insert(key, body);
            }
            SourceKind::Other(_) => {}
        }
    }
    tables.insert(
        "vendored-sources".into(),
        format!("directory = {}\n", q(dir_shown)),
    );
    let key = |k: &str| {
        if k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            k.to_string()
        } else {
            q(k)
        }
    };
    tables
        .iter()
        .map(|(k, body)| format!("[source.{}]\n{body}", key(k)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cargo configuration at `path` (empty if missing) with the `[source.*]` tables of
/// `config` merged in, keeping every other key, comment and the layout. An existing file that
/// is not valid TOML, or whose `source` entries are not tables, is an input error.
pub(super) fn merge_config(path: &Path, config: &str) -> Result<String> {
    let current = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = current
        .parse()
        .map_err(|e: toml_edit::TomlError| crate::error::InputError::toml(path, &current, &e))?;
    let ours: toml_edit::DocumentMut = config
        .parse()
        .map_err(|e| anyhow!("internal: the generated configuration is not TOML: {e}"))?;
    let Some(src) = ours.get("source").and_then(|s| s.as_table()) else {
        return Ok(current);
    };
    if !doc.contains_key("source") {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        doc.insert("source", toml_edit::Item::Table(t));
    }
    let Some(dst) = doc.get_mut("source").and_then(|s| s.as_table_like_mut()) else {
        return Err(InputError::at(path, None, None, "`source` is not a table").into());
    };
    for (name, table) in src.iter() {
        let Some(table) = table.as_table() else {
            continue;
        };
        if dst.get(name).is_none() {
            dst.insert(name, toml_edit::Item::Table(toml_edit::Table::new()));
        }
        let Some(entry) = dst.get_mut(name).and_then(|e| e.as_table_like_mut()) else {
            return Err(InputError::at(
                path,
                None,
                None,
                format!("`source.{name}` is not a table"),
            )
            .into());
        };
        // The replacement decides where the source goes: drop keys of another kind.
        for stale in [
            "registry",
            "directory",
            "git",
            "branch",
            "tag",
            "rev",
            "replace-with",
            "local-registry",
        ] {
            if !table.contains_key(stale) {
                entry.remove(stale);
            }
        }
        for (k, v) in table.iter() {
            entry.insert(k, v.clone());
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok(doc.to_string())
}
