//! What an update pull request says: its title, and its body — the update table, links, the
//! advisories fixed, the supply-chain diff of Cargo.lock, new build-time code, and the review of
//! the lock change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::Update;
use crate::workspace::{Cargo, Lockfile};

/// `Bump NAME from A to B`, or a group title.
pub fn title(group: &str, updates: &[&Update]) -> String {
    if group == "lockfile" {
        return format!(
            "Refresh Cargo.lock: {} update{}",
            updates.len(),
            if updates.len() == 1 { "" } else { "s" }
        );
    }
    match updates {
        [u] => match &u.git {
            Some(g) => format!("Bump {} from {} to {}", u.name, g.from, g.to),
            None => format!("Bump {} from {} to {}", u.name, u.from, u.to),
        },
        _ => format!("Bump the {group} group with {} updates", updates.len()),
    }
}

/// What changed in the lock: crates added, removed, and each new `.crate` sha256.
pub struct LockDiff {
    /// (name, version, checksum, source)
    pub added: Vec<(String, String, Option<String>, Option<String>)>,
    /// (name, version, source)
    pub removed: Vec<(String, String, Option<String>)>,
}

pub fn lock_diff(before: &Lockfile, after: &Lockfile) -> LockDiff {
    // Keyed by source too: a git dependency moved to another commit keeps its version number.
    type Key = (String, String, Option<String>);
    let key = |l: &Lockfile| -> BTreeMap<Key, Option<String>> {
        l.packages
            .iter()
            .map(|p| {
                (
                    (p.name.clone(), p.version.clone(), p.source.clone()),
                    p.checksum.clone(),
                )
            })
            .collect()
    };
    let (b, a) = (key(before), key(after));
    LockDiff {
        added: a
            .iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|((n, v, s), c)| (n.clone(), v.clone(), c.clone(), s.clone()))
            .collect(),
        removed: b.keys().filter(|k| !a.contains_key(*k)).cloned().collect(),
    }
}

/// The pull request body: the update table, advisories, and the supply-chain diff.
pub fn body(
    updates: &[&Update],
    diff: &LockDiff,
    new_build_code: &[String],
    review: &str,
    repositories: &BTreeMap<String, String>,
    now: i64,
) -> String {
    let mut b = String::from(
        "Dependency updates proposed by `cargo slsa update`.\n\n\
         | crate | from | to | kind | published | release age |\n|---|---|---|---|---|---|\n",
    );
    for u in updates {
        let (published, age) = match u.published {
            Some(t) => (
                crate::timefmt::Date::from_unix(t).to_string(),
                format!("{} days", (now - t).max(0) / 86_400),
            ),
            None => ("unknown".into(), "unknown".into()),
        };
        let (name, from, to) = match &u.git {
            Some(g) => {
                let url = u
                    .decls
                    .first()
                    .and_then(|(_, d)| d.git.clone())
                    .unwrap_or_default();
                (
                    format!("{} (git: {url})", u.name),
                    format!("{} `{}`", g.key, g.from),
                    format!("{} `{}`", g.key, g.to),
                )
            }
            None => (
                format!("[{0}](https://crates.io/crates/{0})", u.name),
                u.from.to_string(),
                u.to.to_string(),
            ),
        };
        b.push_str(&format!(
            "| {name} | {from} | {to} | {} | {published} | {age} |\n",
            u.kind.as_str()
        ));
    }
    let links: Vec<String> = updates
        .iter()
        .filter(|u| u.git.is_none())
        .filter_map(|u| {
            let repo = repositories.get(&u.name)?;
            // The crate's author chose this string: only plain URLs go into markdown.
            if !repo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ":/._~-".contains(c))
            {
                return None;
            }
            let mut l = format!("- {}: [repository]({repo})", u.name);
            if repo.starts_with("https://github.com/") {
                l.push_str(&format!(
                    ", [releases]({repo}/releases), [compare v{0}...v{1}]({repo}/compare/v{0}...v{1})",
                    u.from, u.to
                ));
            }
            Some(l)
        })
        .collect();
    if !links.is_empty() {
        b.push_str("\n### Links\n\n");
        for l in links {
            b.push_str(&l);
            b.push('\n');
        }
    }
    let security: Vec<String> = updates
        .iter()
        .flat_map(|u| {
            u.security
                .iter()
                .map(move |id| format!("- {id} ({})", u.name))
        })
        .collect();
    if !security.is_empty() {
        b.push_str("\n### Security\n\nFixes:\n");
        for s in security {
            let id = s
                .trim_start_matches("- ")
                .split(' ')
                .next()
                .unwrap_or_default();
            b.push_str(&format!("{s}: https://rustsec.org/advisories/{id}.html\n"));
        }
    }
    b.push_str("\n### Supply-chain diff\n\n");
    if diff.added.is_empty() && diff.removed.is_empty() {
        b.push_str("Cargo.lock: no packages added or removed.\n");
    }
    if !diff.added.is_empty() {
        b.push_str("Added to Cargo.lock (with the `.crate` sha256 cargo will check):\n\n");
        for (n, v, c, src) in &diff.added {
            let what = match (c, src) {
                (Some(c), _) => format!("sha256 `{c}`"),
                (None, Some(s)) if s.starts_with("git+") => format!("from `{s}`"),
                _ => "(no checksum: not from a registry)".into(),
            };
            b.push_str(&format!("- `{n} {v}` {what}\n"));
        }
    }
    if !diff.removed.is_empty() {
        b.push_str("\nRemoved from Cargo.lock:\n\n");
        for (n, v, src) in &diff.removed {
            match src {
                Some(s) if s.starts_with("git+") => {
                    b.push_str(&format!("- `{n} {v}` from `{s}`\n"))
                }
                _ => b.push_str(&format!("- `{n} {v}`\n")),
            }
        }
    }
    if !new_build_code.is_empty() {
        b.push_str("\nNew code that runs at build time (build scripts, proc-macros):\n\n");
        for s in new_build_code {
            b.push_str(&format!("- {s}\n"));
        }
    }
    if !review.is_empty() {
        b.push('\n');
        b.push_str(review);
    }
    b.push_str(
        "\n---\nRerunning `cargo slsa update --open-pr` updates this pull request in place.\n",
    );
    b
}

/// Build scripts and proc-macros among the packages added to the lock, from `cargo metadata`
/// of the edited copy (which may download the new crates). Best effort: `None` when cargo
/// cannot tell.
pub(super) fn new_build_code(cargo: &Cargo, root: &Path, diff: &LockDiff) -> Option<Vec<String>> {
    if diff.added.is_empty() {
        return Some(Vec::new());
    }
    let json = cargo.metadata_locked(&root.join("Cargo.toml")).ok()?.ok()?;
    let meta: Value = serde_json::from_str(&json).ok()?;
    let added: BTreeSet<(&str, &str)> = diff
        .added
        .iter()
        .map(|(n, v, _, _)| (n.as_str(), v.as_str()))
        .collect();
    let mut out = Vec::new();
    for p in meta["packages"].as_array()? {
        let (Some(n), Some(v)) = (p["name"].as_str(), p["version"].as_str()) else {
            continue;
        };
        if !added.contains(&(n, v)) {
            continue;
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            let kinds: Vec<&str> = t["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if kinds.contains(&"custom-build") {
                out.push(format!("`{n} {v}`: build script"));
            }
            if kinds.contains(&"proc-macro") {
                out.push(format!("`{n} {v}`: proc-macro"));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_git_source_move_shows_in_the_diff_even_at_the_same_version() {
        let lock = |src: &str| {
            Lockfile::parse(
                std::path::Path::new("Cargo.lock"),
                format!(
                    "version = 4\n\n[[package]]\nname = \"g\"\nversion = \"0.1.0\"\nsource = \"{src}\"\n"
                ),
            )
            .expect("lock")
        };
        let d = lock_diff(
            &lock("git+https://example.com/g?tag=v0.1.0#aaaa"),
            &lock("git+https://example.com/g?tag=v0.1.1#bbbb"),
        );
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.removed.len(), 1);
    }
}
