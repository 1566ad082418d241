//! Git dependencies pinned by tag or by a tagged rev: the newest release tag each may move to,
//! found with `git ls-remote --tags`, under the same ignore rules as registry crates.

use super::*;

/// A git dependency: (name, URL, tag, rev).
pub(super) type GitKey = (String, String, Option<String>, Option<String>);

/// Git dependencies with newer release tags: their updates appended to `updates`. Whether every
/// git dependency could be asked (with gaps, no pull request may be closed).
#[allow(clippy::too_many_arguments)]
pub(super) fn git_updates(
    ctx: &Ctx,
    args: &UpdateArgs,
    config: &UpdateConfig,
    today: crate::timefmt::Date,
    git_targets: &BTreeMap<GitKey, Vec<(PathBuf, DepDecl)>>,
    updates: &mut Vec<Update>,
    report: &mut Report,
) -> bool {
    let mut git_complete = true;
    if ctx.offline {
        report.notes.push(format!(
            "{} git dependencies were not checked for newer tags (--offline)",
            git_targets.len()
        ));
        git_complete = false;
    } else {
        let mut tags_of: BTreeMap<String, Result<Vec<git::Tag>, String>> = BTreeMap::new();
        for ((name, url, tag, rev), decls) in git_targets {
            let tags = tags_of
                .entry(url.clone())
                .or_insert_with(|| git::remote_tags(url));
            let tags = match tags {
                Ok(t) => t,
                Err(e) => {
                    report.notes.push(format!("{name}: {e}"));
                    git_complete = false;
                    continue;
                }
            };
            let Some(mv) = git::choose(tag.as_deref(), rev.as_deref(), tags, args.breaking) else {
                continue;
            };
            let ignored_here = config.ignore.iter().any(|r| {
                glob(&r.name, name)
                    && r.until
                        .as_deref()
                        .and_then(crate::timefmt::Date::parse)
                        .is_none_or(|u| u >= today)
                    && r.update_types
                        .as_ref()
                        .is_none_or(|ts| ts.iter().any(|t| t == mv.kind.as_str()))
                    && r.versions.as_ref().is_none_or(|vs| {
                        vs.iter()
                            .filter_map(|s| VersionReq::parse(s).ok())
                            .any(|req| req.matches(&mv.to_version))
                    })
            });
            if ignored_here {
                continue;
            }
            updates.push(Update {
                name: name.clone(),
                from: mv.from_version.clone(),
                to: mv.to_version.clone(),
                kind: mv.kind,
                security: Vec::new(),
                published: None,
                decls: decls.clone(),
                checksum: String::new(),
                group: String::new(),
                git: Some(mv),
                registry_source: None,
            });
        }
        report
            .notes
            .push("git tags carry no publication time: the cooldown does not apply to them".into());
    }
    git_complete
}
