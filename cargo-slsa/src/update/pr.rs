//! `update --open-pr`: one pull request per group, through the GitHub REST API (octocrab).
//!
//! For each group the plan's edits are made in a scratch copy of the repository (the files git
//! knows, as in the work tree), and the changed files are committed on top of the base branch's
//! head through the git-data API — blobs, a tree, a commit, then the branch ref — so no clone
//! credential or push is needed. Branches are `cargo-slsa/<group>`: a rerun finds its pull
//! request and force-moves the branch and edits the title and body instead of opening another.
//! Open `cargo-slsa/*` pull requests whose group is no longer in the plan are closed with a
//! comment. At most `limit` update pull requests are open at once.
//!
//! Secrets: the token comes from `GITHUB_TOKEN`/`GH_TOKEN` only and is never printed or written
//! into a body.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use super::body::{body, lock_diff, new_build_code, title};
use super::{Update, UpdateConfig};
use crate::Ctx;
use crate::cli::UpdateArgs;
use crate::github::{GitHub, token_from_env};
use crate::report::{Change, Report};
use crate::workspace::{Cargo, Lockfile, Workspace};

/// Branch prefix of every update pull request.
pub const BRANCH_PREFIX: &str = "cargo-slsa/";

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('.')
        .to_string()
}

/// `cargo-slsa/<group>` for the workspace at the repository's top, `cargo-slsa/<dir>/<group>`
/// for one in directory `dir` — so each workspace's pull requests are its own.
/// Lockfile refreshes live on their own prefix, so the two kinds of run never close each
/// other's pull requests.
pub const LOCKFILE_PREFIX: &str = "cargo-slsa-lockfile/";

fn branch_of(prefix: &str, scope: &str, group: &str) -> String {
    if scope.is_empty() {
        format!("{prefix}{}", clean(group))
    } else {
        format!("{prefix}{}/{}", clean(scope), clean(group))
    }
}

/// Whether `branch` is one of this workspace's update branches.
fn in_scope(prefix: &str, scope: &str, branch: &str) -> bool {
    let Some(rest) = branch.strip_prefix(prefix) else {
        return false;
    };
    if scope.is_empty() {
        !rest.contains('/')
    } else {
        rest.strip_prefix(&format!("{}/", clean(scope)))
            .is_some_and(|g| !g.contains('/'))
    }
}

/// The review signal codes that hold an update back (`--deny-signal`, config `deny-signals`);
/// an unknown code is an error, not a check that never fires.
pub(super) fn deny_signals(args: &UpdateArgs, config: &UpdateConfig) -> Result<BTreeSet<String>> {
    let known: Vec<&str> = crate::review::codes::ReviewCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let mut out = BTreeSet::new();
    for code in args.deny_signal.iter().chain(&config.deny_signals) {
        if !known.contains(&code.as_str()) {
            return Err(crate::error::InputError::at(
                Path::new("Cargo.toml"),
                None,
                None,
                format!(
                    "deny-signal `{code}` is not a review signal (one of: {})",
                    known.join(", ")
                ),
            )
            .into());
        }
        out.insert(code.clone());
    }
    Ok(out)
}

/// Open, update or close the update pull requests. `complete` says whether every crate could
/// be checked (index and advisory data): only then are pull requests the plan no longer
/// contains closed.
#[allow(clippy::too_many_arguments)]
pub fn open(
    ctx: &Ctx,
    args: &UpdateArgs,
    config: &UpdateConfig,
    ws: &Workspace,
    updates: &[Update],
    complete: bool,
    index: &str,
    report: &mut Report,
) -> Result<()> {
    let repo = args.repo.as_deref().unwrap_or_default();
    let Some((owner, name)) = repo
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
    else {
        bail!("--repo must be OWNER/NAME, not {repo:?}");
    };
    let token = token_from_env().ok_or_else(|| {
        anyhow!(
            "--open-pr needs a token in GITHUB_TOKEN or GH_TOKEN (never on the command line). \
             Pull requests opened with the workflow's own GITHUB_TOKEN start no CI runs: use a \
             GitHub App installation token or a fine-grained PAT with contents and \
             pull-requests write"
        )
    })?;
    let gh = GitHub::new(&args.github_api_url, token)?;
    let limit = args.limit.or(config.open_pull_requests_limit).unwrap_or(5);
    // --base, else the repository's default branch.
    let default_base;
    let base = match args.base.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => b,
        None => {
            let repo_json = gh
                .get_json(&format!("/repos/{owner}/{name}"), &[])?
                .ok_or_else(|| anyhow!("the repository {owner}/{name} was not found"))?;
            default_base = repo_json["default_branch"]
                .as_str()
                .filter(|b| !b.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    anyhow!("GitHub named no default branch for {owner}/{name}: pass --base")
                })?;
            default_base.as_str()
        }
    };

    let base_ref = gh
        .get_json(&format!("/repos/{owner}/{name}/git/ref/heads/{base}"), &[])?
        .ok_or_else(|| anyhow!("the base branch {base} does not exist in {owner}/{name}"))?;
    let base_sha = base_ref["object"]["sha"]
        .as_str()
        .ok_or_else(|| anyhow!("GitHub returned no commit for {base}"))?
        .to_string();
    let base_commit = gh
        .get_json(
            &format!("/repos/{owner}/{name}/git/commits/{base_sha}"),
            &[],
        )?
        .ok_or_else(|| anyhow!("commit {base_sha} not found"))?;
    let base_tree = base_commit["tree"]["sha"]
        .as_str()
        .ok_or_else(|| anyhow!("commit {base_sha} has no tree"))?
        .to_string();

    // The pull requests are made from this checkout's files: it must be the base branch's head.
    let here = crate::build::Source::detect(&ws.root);
    if here.commit.as_deref() != Some(base_sha.as_str()) {
        bail!(
            "this checkout is at {}, but {base} of {owner}/{name} is at {base_sha}: check out \
             {base} (its latest commit) before opening update pull requests",
            here.commit.as_deref().unwrap_or("no commit")
        );
    }
    if here.dirty {
        bail!(
            "the work tree has uncommitted changes or untracked files; update pull requests are \
             made from the committed {base}"
        );
    }

    let top = here.toplevel.clone().unwrap_or_else(|| ws.root.clone());
    let top_c = top.canonicalize().unwrap_or_else(|_| top.clone());
    let root_c = ws.root.canonicalize().unwrap_or_else(|_| ws.root.clone());
    let ws_rel = root_c
        .strip_prefix(&top_c)
        .map_err(|_| anyhow!("the workspace is not inside its git work tree"))?
        .to_path_buf();
    let scope = ws_rel.to_string_lossy().replace(['/', '\\'], "-");
    let prefix = if args.lockfile {
        LOCKFILE_PREFIX
    } else {
        BRANCH_PREFIX
    };

    // Our open pull requests (from this repository, not forks, of this workspace), by branch.
    let full_name = format!("{owner}/{name}");
    let open_prs: BTreeMap<String, Value> = gh
        .get_all(
            &format!("/repos/{owner}/{name}/pulls"),
            &[("state", "open".into()), ("base", base.to_string())],
        )?
        .into_iter()
        .filter_map(|p| {
            let b = p["head"]["ref"].as_str()?.to_string();
            let ours = p["head"]["repo"]["full_name"]
                .as_str()
                .is_some_and(|f| f.eq_ignore_ascii_case(&full_name));
            (ours && in_scope(prefix, &scope, &b)).then_some((b, p))
        })
        .collect();

    let mut groups: BTreeMap<String, Vec<&Update>> = BTreeMap::new();
    for u in updates {
        groups.entry(u.group.clone()).or_default().push(u);
    }
    let wanted: BTreeSet<String> = groups
        .keys()
        .map(|g| branch_of(prefix, &scope, g))
        .collect();

    // Superseded pull requests are closed first, so they do not count against the limit — but
    // only when the plan is complete: a crate the index or the advisory database could not
    // answer for proves nothing about its pull request.
    let mut results = Vec::new();
    let mut closed = 0;
    if complete {
        for (branch, pr) in &open_prs {
            if wanted.contains(branch) {
                continue;
            }
            let n = pr["number"].as_u64().unwrap_or_default();
            gh.patch_json(
                &format!("/repos/{owner}/{name}/pulls/{n}"),
                &json!({"state": "closed"}),
            )?;
            gh.post_json(
                &format!("/repos/{owner}/{name}/issues/{n}/comments"),
                &json!({"body": "Superseded: `cargo slsa update` no longer proposes this update (it is up to date, covered by another pull request, or ignored). Closed."}),
            )?;
            report.changes.push(Change {
                file: PathBuf::from(format!("{repo}#{n}")),
                description: "closed superseded pull request".into(),
            });
            results.push(json!({"branch": branch, "number": n, "action": "closed"}));
            closed += 1;
        }
    } else if open_prs.keys().any(|b| !wanted.contains(b)) {
        report.notes.push(
            "some crates could not be checked, so no update pull request was closed this run"
                .into(),
        );
    }

    // Security updates first, then by name; existing pull requests are always kept up to date.
    let mut order: Vec<(&String, &Vec<&Update>)> = groups.iter().collect();
    order.sort_by_key(|(g, us)| (us.iter().all(|u| u.security.is_empty()), (*g).clone()));

    let cargo = Cargo::new(ctx.offline, ctx.progress());
    let before_lock = ws.lock.clone().ok_or_else(|| anyhow!("no Cargo.lock"))?;
    let review_opts = crate::review::Options {
        all_code: false,
        min_age_days: 30,
        offline: ctx.offline,
        now: crate::timefmt::now_unix(),
    };
    let deny = deny_signals(args, config)?;
    let now = crate::timefmt::now_unix();
    let mut open_count = open_prs.len() - closed;
    for (group, us) in order {
        let branch = branch_of(prefix, &scope, group);
        let existing = open_prs.get(&branch);
        if existing.is_none() && open_count >= limit {
            report.notes.push(format!(
                "{group}: not opened, {open_count} update pull requests are open (limit {limit})"
            ));
            continue;
        }
        // The edits, in a scratch copy.
        let tmp = tempfile::Builder::new()
            .prefix("cargo-slsa-update-")
            .tempdir()
            .context("creating a scratch copy")?;
        let copy_top = tmp.path().join("repo");
        crate::build::copy_clean_tree(&top, &copy_top, here.toplevel.is_some())?;
        let copy_root = copy_top.join(&ws_rel);
        let edited = super::apply::edit(&cargo, &ws.root, &copy_root, us)?;
        for (crate_name, why) in &edited.failed {
            report
                .notes
                .push(format!("{group}: {crate_name} left out: {why}"));
        }
        let us: Vec<&Update> = us
            .iter()
            .copied()
            .filter(|u| !edited.failed.iter().any(|(n, _)| *n == u.name))
            .collect();
        if us.is_empty() || edited.changed.is_empty() {
            continue;
        }
        let after_lock = Lockfile::load(&copy_root.join("Cargo.lock"))?;
        let diff = lock_diff(&before_lock, &after_lock);
        let build_code = new_build_code(&cargo, &copy_root, &diff).unwrap_or_default();
        // What the update brings into each crate (`cargo slsa review` of this lock change).
        let review =
            crate::review::review_locks(ctx, &ws.root, &before_lock, &after_lock, &review_opts);
        let review_md = match &review {
            Ok(r) => crate::review::markdown(r),
            Err(e) => {
                report
                    .notes
                    .push(format!("{group}: the crates could not be reviewed: {e:#}"));
                format!(
                    "### What the update changes in the crates\n\nNot reviewed: {}\n",
                    crate::review::markdown_escape(&format!("{e:#}"))
                )
            }
        };
        if let Ok(r) = &review {
            let denied: Vec<String> = r
                .signals()
                .filter(|(_, s)| deny.contains(s.code.as_str()))
                .map(|(c, s)| {
                    format!(
                        "{} {}: `{}` at {}:{}",
                        c.name,
                        c.to.as_deref().unwrap_or_default(),
                        s.code.as_str(),
                        s.file,
                        s.line
                    )
                })
                .collect();
            if !denied.is_empty() {
                report.notes.push(format!(
                    "{group}: held back by deny-signals: {}",
                    denied.join("; ")
                ));
                results.push(json!({"branch": branch, "action": "held-back", "why": denied}));
                continue;
            }
        }

        // Blobs, tree, commit.
        let mut entries = Vec::new();
        for (path, _) in &edited.changed {
            let rel = path
                .strip_prefix(&copy_top)
                .map_err(|_| anyhow!("{} is outside the repository", path.display()))?;
            let content = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let blob = gh.post_json(
                &format!("/repos/{owner}/{name}/git/blobs"),
                &json!({"content": content, "encoding": "utf-8"}),
            )?;
            entries.push(json!({
                "path": rel.to_string_lossy().replace('\\', "/"),
                "mode": "100644",
                "type": "blob",
                "sha": blob["sha"],
            }));
        }
        let tree = gh.post_json(
            &format!("/repos/{owner}/{name}/git/trees"),
            &json!({"base_tree": base_tree, "tree": entries}),
        )?;
        let title = title(group, &us);
        let commit = gh.post_json(
            &format!("/repos/{owner}/{name}/git/commits"),
            &json!({"message": format!("{title}\n\nProposed by cargo slsa update."), "tree": tree["sha"], "parents": [base_sha]}),
        )?;
        let commit_sha = commit["sha"]
            .as_str()
            .ok_or_else(|| anyhow!("GitHub returned no commit sha"))?;
        let ref_route = format!("/repos/{owner}/{name}/git/refs/heads/{branch}");
        match gh.get_json(
            &format!("/repos/{owner}/{name}/git/ref/heads/{branch}"),
            &[],
        )? {
            Some(head) => {
                // The same tree on the same base: leave the branch (and its CI runs) alone.
                let head_sha = head["object"]["sha"].as_str().unwrap_or_default();
                let unchanged = gh
                    .get_json(
                        &format!("/repos/{owner}/{name}/git/commits/{head_sha}"),
                        &[],
                    )?
                    .is_some_and(|c| {
                        c["tree"]["sha"] == tree["sha"]
                            && c["parents"][0]["sha"].as_str() == Some(base_sha.as_str())
                    });
                if !unchanged {
                    gh.patch_json(&ref_route, &json!({"sha": commit_sha, "force": true}))?;
                }
            }
            None => {
                gh.post_json(
                    &format!("/repos/{owner}/{name}/git/refs"),
                    &json!({"ref": format!("refs/heads/{branch}"), "sha": commit_sha}),
                )?;
            }
        }
        let names: Vec<String> = us
            .iter()
            .filter(|u| u.git.is_none())
            .filter(|u| u.registry_source.is_none())
            .map(|u| u.name.clone())
            .collect();
        let repositories = crate::registry::repositories(index, &names);
        let body = body(&us, &diff, &build_code, &review_md, &repositories, now);
        let (number, url, action) = match existing {
            Some(pr) => {
                let n = pr["number"].as_u64().unwrap_or_default();
                gh.patch_json(
                    &format!("/repos/{owner}/{name}/pulls/{n}"),
                    &json!({"title": title, "body": body}),
                )?;
                (
                    n,
                    pr["html_url"].as_str().unwrap_or_default().to_string(),
                    "updated",
                )
            }
            None => {
                let pr = gh.post_json(
                    &format!("/repos/{owner}/{name}/pulls"),
                    &json!({"title": title, "head": branch, "base": base, "body": body}),
                )?;
                open_count += 1;
                (
                    pr["number"].as_u64().unwrap_or_default(),
                    pr["html_url"].as_str().unwrap_or_default().to_string(),
                    "opened",
                )
            }
        };
        let mut labels = vec!["dependencies", "rust"];
        if us.iter().any(|u| !u.security.is_empty()) {
            labels.push("security");
        }
        gh.post_json(
            &format!("/repos/{owner}/{name}/issues/{number}/labels"),
            &json!({"labels": labels}),
        )?;
        report.changes.push(Change {
            file: PathBuf::from(format!("{repo}#{number}")),
            description: format!("{action} pull request: {title}"),
        });
        results.push(
            json!({"group": group, "branch": branch, "number": number, "url": url, "action": action}),
        );
    }
    report.summary.insert("pullRequests".into(), json!(results));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_are_scoped_by_kind_of_run_and_workspace() {
        assert_eq!(branch_of(BRANCH_PREFIX, "", "serde"), "cargo-slsa/serde");
        assert_eq!(
            branch_of(BRANCH_PREFIX, "tools", "all"),
            "cargo-slsa/tools/all"
        );
        assert_eq!(
            branch_of(LOCKFILE_PREFIX, "", "lockfile"),
            "cargo-slsa-lockfile/lockfile"
        );
        assert!(in_scope(BRANCH_PREFIX, "", "cargo-slsa/serde"));
        assert!(!in_scope(BRANCH_PREFIX, "", "cargo-slsa/tools/all"));
        assert!(in_scope(BRANCH_PREFIX, "tools", "cargo-slsa/tools/all"));
        assert!(!in_scope(BRANCH_PREFIX, "", "cargo-slsa-lockfile/lockfile"));
        assert!(!in_scope(LOCKFILE_PREFIX, "", "cargo-slsa/serde"));
    }
}
