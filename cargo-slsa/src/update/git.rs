//! Git dependencies: a newer release tag for `tag = "…"`, and for `rev = "…"` the newest
//! release tag's commit when the pinned commit is itself a release tag's (the tag it came from
//! is then known; a rev that no tag names is left alone).
//!
//! Tags come from `git ls-remote --tags` (no clone); annotated tags are peeled to their commit.
//! A tag is a release when it parses as semver after an optional `v` (`v1.2.0`, `1.2.0`). Git
//! has no publication times, so the cooldown cannot apply here — said in the plan.

use std::process::{Command, Stdio};

use semver::Version;

use super::plan::{Kind, compatible, kind};

/// A tag and the commit it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag's name (`v1.2.0`).
    pub name: String,
    /// Its version.
    pub version: Version,
    /// The commit (peeled).
    pub commit: String,
}

/// The version a tag name stands for.
pub fn tag_version(name: &str) -> Option<Version> {
    let v = name
        .strip_prefix('v')
        .or_else(|| name.strip_prefix('V'))
        .unwrap_or(name);
    Version::parse(v).ok()
}

/// The release tags of the repository at `url`, with their commits.
pub fn remote_tags(url: &str) -> Result<Vec<Tag>, String> {
    let out = Command::new("git")
        .args(["ls-remote", "--tags", "--", url])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run git ls-remote: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-remote {url} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut tags: Vec<Tag> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((sha, r)) = line.split_once('\t') else {
            continue;
        };
        let Some(name) = r.strip_prefix("refs/tags/") else {
            continue;
        };
        // `name^{}` is the peeled commit of an annotated tag: it wins.
        let (name, peeled) = match name.strip_suffix("^{}") {
            Some(n) => (n, true),
            None => (name, false),
        };
        let Some(version) = tag_version(name) else {
            continue;
        };
        match tags.iter_mut().find(|t| t.name == name) {
            Some(t) if peeled => t.commit = sha.to_string(),
            Some(_) => {}
            None => tags.push(Tag {
                name: name.to_string(),
                version,
                commit: sha.to_string(),
            }),
        }
    }
    Ok(tags)
}

/// What to move a git dependency to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitMove {
    /// `tag` or `rev`: the key that changes.
    pub key: &'static str,
    /// Its value now.
    pub from: String,
    /// Its new value.
    pub to: String,
    /// The tags' versions.
    pub from_version: Version,
    pub to_version: Version,
    /// patch / minor / major.
    pub kind: Kind,
}

/// The move for a dependency pinned by `tag` or `rev`, given the remote's tags.
pub fn choose(
    tag: Option<&str>,
    rev: Option<&str>,
    tags: &[Tag],
    breaking: bool,
) -> Option<GitMove> {
    let (key, from, current) = match (tag, rev) {
        (Some(t), _) => ("tag", t.to_string(), tag_version(t)?),
        (None, Some(r)) => {
            // The tag this commit came from (the newest, when several name it).
            let origin = tags
                .iter()
                .filter(|t| t.commit.starts_with(r) || r.starts_with(&t.commit))
                .max_by(|a, b| a.version.cmp(&b.version))?;
            ("rev", r.to_string(), origin.version.clone())
        }
        (None, None) => return None,
    };
    let best = tags
        .iter()
        .filter(|t| t.version > current)
        .filter(|t| t.version.pre.is_empty() || !current.pre.is_empty())
        .filter(|t| breaking || compatible(&current, &t.version))
        .max_by(|a, b| a.version.cmp(&b.version))?;
    Some(GitMove {
        key,
        from,
        to: if key == "tag" {
            best.name.clone()
        } else {
            best.commit.clone()
        },
        kind: kind(&current, &best.version),
        from_version: current,
        to_version: best.version.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, commit: &str) -> Tag {
        Tag {
            name: name.into(),
            version: tag_version(name).expect("version"),
            commit: commit.into(),
        }
    }

    #[test]
    fn tags_and_revs_move_to_the_newest_release() {
        let tags = [
            t("v0.1.0", "a1"),
            t("v0.1.3", "b2"),
            t("v0.2.0", "c3"),
            t("v0.1.4-rc.1", "d4"),
        ];
        let m = choose(Some("v0.1.0"), None, &tags, false).expect("move");
        assert_eq!(
            (m.key, m.to.as_str(), m.kind),
            ("tag", "v0.1.3", Kind::Patch)
        );
        let m = choose(Some("v0.1.0"), None, &tags, true).expect("move");
        assert_eq!(m.to, "v0.2.0");
        let m = choose(None, Some("a1"), &tags, false).expect("move");
        assert_eq!((m.key, m.to.as_str()), ("rev", "b2"));
        assert!(
            choose(None, Some("ffff"), &tags, false).is_none(),
            "no tag names it"
        );
        assert!(choose(Some("main-build"), None, &tags, false).is_none());
        assert_eq!(tag_version("1.2.3"), Version::parse("1.2.3").ok());
    }
}
