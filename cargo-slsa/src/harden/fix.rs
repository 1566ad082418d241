//! `harden --fix`: pins `uses:` to the commit SHA its tag or branch points at (resolved through
//! the GitHub API, the tag kept as a trailing `# tag` comment) and adds a top-level
//! `permissions: contents: read` block to workflows that have none; the mechanical fixes
//! (`persist-credentials: false`, `--locked`) are planned in [`super::mechanical`], and the
//! move of untrusted expressions into `env:` in [`super::injection_fix`], as a second pass over
//! the first one's result. With `--dry-run` nothing is written: the diff is returned.
//!
//! Edits are byte-exact replacements and insertions in the original text: only the `uses:`
//! value changes on its line, and the permissions block is inserted before `jobs:`; every other
//! byte — comments, quoting, blank lines — stays. Every lookup happens before anything is
//! written, and each file is then replaced atomically.

use std::collections::HashMap;

use anyhow::Result;

use super::audits;
use super::codes::HardenCode;
use super::hit::Hit;
use super::input::{Input, Kind};
use super::walk::split_uses;
use crate::Ctx;
use crate::cli::HardenArgs;
use crate::fsx;
use crate::github::{self, GitHub};
use crate::report::Change;
use crate::ypath;

/// What `--fix` did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
    /// `uses:` pinned.
    pub pinned: usize,
    /// `uses:` that could not be resolved.
    pub unresolved: usize,
    /// With `--dry-run`: the unified diff of what would be written (nothing is).
    pub diff: String,
}

/// A byte edit: replace `start..end` with `text`.
pub(super) struct Edit {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) text: String,
}

/// Plan and apply every fix.
/// Whether a reviewer accepted the finding `code` at `line` of the file being fixed.
pub(super) type Accepted<'a> = dyn Fn(&str, usize) -> bool + 'a;

pub fn apply(
    ctx: &Ctx,
    args: &HardenArgs,
    inputs: &[Input],
    has_lock: bool,
    accepted_findings: &[crate::report::Finding],
) -> Result<Outcome> {
    let mut out = Outcome::default();
    let accepted_in = |path: &std::path::Path, code: &str, line: usize| {
        accepted_findings
            .iter()
            .any(|f| f.code == code && f.line == Some(line) && f.file.as_deref() == Some(path))
    };
    // 1. Which uses need resolving.
    let mut wanted: Vec<(usize, Hit)> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        for hit in audits::unpinned_uses(input) {
            if hit
                .uses
                .as_ref()
                .is_some_and(|(_, u)| !u.starts_with("docker://"))
                && !accepted_in(&input.path, hit.code.as_str(), hit.line)
            {
                wanted.push((i, hit));
            }
        }
    }
    // 2. Resolve them (each distinct repo@ref once).
    let mut resolved: HashMap<String, String> = HashMap::new();
    if !wanted.is_empty() {
        let client = if ctx.offline {
            out.notes.push(format!(
                "{} unpinned `uses:` left as they are: --offline forbids asking the GitHub API for their commits",
                wanted.len()
            ));
            None
        } else if let Some(token) = github::token_from_env() {
            Some(GitHub::new(&args.github_api_url, token)?)
        } else {
            out.notes.push(format!(
                "{} unpinned `uses:` left as they are: set GITHUB_TOKEN (or GH_TOKEN) so their tags can be resolved through the GitHub API",
                wanted.len()
            ));
            None
        };
        if let Some(gh) = client {
            let progress = ctx
                .progress()
                .spinner("resolving action refs through the GitHub API");
            for (_, hit) in &wanted {
                let Some((_, uses)) = &hit.uses else { continue };
                if resolved.contains_key(uses) {
                    continue;
                }
                let Some((name, reference)) = split_uses(uses) else {
                    continue;
                };
                if !valid_ref(reference) {
                    out.notes.push(format!(
                        "`{uses}`: `{reference}` is not a tag or branch name"
                    ));
                    continue;
                }
                let mut parts = name.split('/');
                let (Some(owner), Some(repo)) = (parts.next(), parts.next()) else {
                    out.notes
                        .push(format!("`{uses}`: not an owner/repo reference"));
                    continue;
                };
                match gh.resolve(owner, repo, reference) {
                    Ok(Some(r)) => {
                        resolved.insert(uses.clone(), r.sha);
                    }
                    Ok(None) => out.notes.push(format!(
                        "`{uses}`: {owner}/{repo} has no tag or branch `{reference}`"
                    )),
                    Err(e) => {
                        out.notes
                            .push(format!("`{uses}`: {e:#}; stopped resolving"));
                        break;
                    }
                }
            }
            drop(progress);
        }
    }

    // 3. Plan edits per file.
    for (i, input) in inputs.iter().enumerate() {
        let accepted = |code: &str, line: usize| accepted_in(&input.path, code, line);
        let mut edits = Vec::new();
        let mut descriptions = Vec::new();
        let mut expected: Vec<(Vec<super::input::Seg>, String)> = Vec::new();
        let mut spans = std::collections::BTreeSet::new();
        let mut pinned_here = 0;
        for (_, hit) in wanted.iter().filter(|(j, _)| *j == i) {
            let Some((route, uses)) = &hit.uses else {
                continue;
            };
            let Some(sha) = resolved.get(uses) else {
                out.unresolved += 1;
                continue;
            };
            let Some((name, reference)) = split_uses(uses) else {
                continue;
            };
            expected.push((route.clone(), format!("{name}@{sha}")));
            // YAML aliases make two routes share one node: edit it once.
            let Some(span) = input.span(route) else {
                continue;
            };
            if !spans.insert(span) {
                continue;
            }
            if let Some(e) = pin_edit(input, route, uses, reference, sha) {
                edits.extend(e);
                pinned_here += 1;
                descriptions.push(format!("pinned `{uses}` to {sha} (line {})", hit.line));
            }
        }
        // The mechanical fixes: the token off the disk, cargo on the lock.
        edits.extend(super::mechanical::persist_credentials(
            input,
            &accepted,
            &mut descriptions,
        ));
        if has_lock {
            edits.extend(super::mechanical::locked(
                input,
                &accepted,
                &mut descriptions,
            ));
        }
        let mut adds_permissions = false;
        if let Kind::Workflow(_) = input.kind
            && !input.exists(&ypath!["permissions"])
            && !accepted(HardenCode::ExcessivePermissions.as_str(), input.line(&[]))
            && let Some(e) = permissions_edit(input)
        {
            let hit_line = input.key_line(&ypath!["jobs"]);
            adds_permissions = true;
            edits.push(e);
            descriptions.push(format!(
                "added top-level `permissions: contents: read` (line {hit_line}); grant more per job where needed"
            ));
            for (job, needs) in jobs_needing_more(input) {
                out.notes.push(format!(
                    "{}: job `{job}` probably needs more than `contents: read` — it {needs}: \
                     add a `permissions:` block to that job",
                    input.path.display()
                ));
            }
        }
        let mut new = apply_edits(input.src(), edits);
        // Never write what does not read back as intended.
        if new != input.src()
            && let Err(why) = verify(&new, &expected, adds_permissions)
        {
            out.notes.push(format!(
                "{}: not changed, the fix could not be applied safely ({why})",
                input.path.display()
            ));
            continue;
        }
        // Second pass, on the result of the first: untrusted expressions out of `run:` into
        // `env:` (its own check compares the whole document).
        if let Ok(first) = Input::parse(&input.path, new.clone()) {
            let mut moved = Vec::new();
            // Lines shift by the first pass's insertions: accepted injections are found by
            // the text of their line, which the first pass does not change.
            let accepted_lines = accepted_lines(input, accepted_findings, "template-injection");
            let (edits, rewrites) = super::injection_fix::plan(
                &first,
                &|line: usize| {
                    first
                        .line_text(line)
                        .is_some_and(|t| accepted_lines.contains(&t))
                },
                &mut moved,
                &mut out.notes,
            );
            if !edits.is_empty() {
                let second = apply_edits(first.src(), edits);
                match super::injection_fix::check(&first.value, &second, &rewrites) {
                    Ok(()) => {
                        new = second;
                        descriptions.extend(moved);
                    }
                    Err(why) => out.notes.push(format!(
                        "{}: template injections left as they are ({why})",
                        input.path.display()
                    )),
                }
            }
        }
        if new == input.src() {
            continue;
        }
        out.pinned += pinned_here;
        let changes = descriptions.into_iter().map(|d| Change {
            file: input.path.clone(),
            description: d,
        });
        if args.dry_run {
            let shown = input.path.strip_prefix(&ctx.cwd).unwrap_or(&input.path);
            out.diff.push_str(&unified_diff(shown, input.src(), &new));
            out.changes.extend(changes);
        } else if fsx::write_if_changed(&input.path, new.as_bytes())? {
            out.changes.extend(changes);
        }
    }
    Ok(out)
}

/// The text of each line of `input` where a finding `code` was accepted.
fn accepted_lines<'a>(
    input: &'a Input,
    accepted: &[crate::report::Finding],
    code: &str,
) -> Vec<&'a str> {
    accepted
        .iter()
        .filter(|f| f.code == code && f.file.as_deref() == Some(input.path.as_path()))
        .filter_map(|f| input.line_text(f.line?))
        .collect()
}

/// A unified diff of one file, as `a/PATH` and `b/PATH` with PATH relative to the working
/// directory, so `git apply` run there reads it.
fn unified_diff(path: &std::path::Path, old: &str, new: &str) -> String {
    let shown = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// Replace the ref in the `uses:` value with `sha` and keep the ref as a comment: `# <ref>` after
/// the value, or — when the line already has a comment — `<ref>` prepended to it (`# v4 the
/// checkout`), so Dependabot and Renovate can still read which tag the pin stands for.
fn pin_edit(
    input: &Input,
    route: &[super::input::Seg],
    uses: &str,
    reference: &str,
    sha: &str,
) -> Option<Vec<Edit>> {
    let (start, end) = input.span(route)?;
    let text = input.src().get(start..end)?;
    let needle = format!("@{reference}");
    let at = text.rfind(&needle)?;
    let mut edits = vec![Edit {
        start: start + at + 1,
        end: start + at + needle.len(),
        text: sha.to_string(),
    }];
    let line_end = input.src()[end..]
        .find('\n')
        .map(|n| end + n)
        .unwrap_or(input.src().len());
    let rest = &input.src()[end..line_end];
    // A trailing comment only after a one-line plain or quoted value (inside a block scalar it
    // would become part of the value).
    let single_line = !text.contains('\n') && !text.starts_with(['|', '>']);
    if single_line && !uses.contains('#') {
        if rest.trim().is_empty() {
            edits.push(Edit {
                start: end,
                end,
                text: format!(" # {reference}"),
            });
        } else if let Some(hash) = rest.find('#') {
            // `# the checkout` → `# v4 the checkout` (unless it already names the ref first).
            let comment = rest[hash + 1..].trim_start();
            let already = comment
                .split_whitespace()
                .next()
                .is_some_and(|w| w == reference);
            if !already {
                let at = end + hash + 1 + (rest[hash + 1..].len() - comment.len());
                edits.push(Edit {
                    start: at,
                    end: at,
                    text: format!("{reference} "),
                });
            }
        }
    }
    Some(edits)
}

/// Jobs without their own `permissions:` whose steps write with the token (or sign keylessly),
/// with what they do: after a top-level `contents: read`, they need a grant of their own.
fn jobs_needing_more(input: &Input) -> Vec<(String, &'static str)> {
    const USES: &[(&str, &str)] = &[
        (
            "softprops/action-gh-release@",
            "publishes a release (contents: write)",
        ),
        (
            "actions/create-release@",
            "creates a release (contents: write)",
        ),
        (
            "peter-evans/create-pull-request@",
            "opens pull requests (contents, pull-requests: write)",
        ),
        (
            "github/codeql-action/upload-sarif@",
            "uploads code scanning results (security-events: write)",
        ),
        (
            "actions/deploy-pages@",
            "deploys Pages (pages, id-token: write)",
        ),
        (
            "actions/attest-build-provenance@",
            "attests builds (id-token, attestations: write)",
        ),
        (
            "aws-actions/configure-aws-credentials@",
            "assumes an AWS role through OIDC (id-token: write)",
        ),
    ];
    const RUNS: &[(&str, &str)] = &[
        ("gh release", "runs `gh release` (contents: write)"),
        ("git push", "runs `git push` (contents: write)"),
        ("gh pr create", "opens pull requests (pull-requests: write)"),
        ("--keyless", "signs keylessly (id-token: write)"),
    ];
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for job in super::walk::jobs(input) {
        if job.value.get("permissions").is_some() {
            continue;
        }
        let steps = job
            .value
            .get("steps")
            .and_then(|s| s.as_sequence())
            .cloned()
            .unwrap_or_default();
        let found = steps.iter().find_map(|step| {
            let uses = step.get("uses").and_then(|u| u.as_str()).unwrap_or("");
            let run = step.get("run").and_then(|r| r.as_str()).unwrap_or("");
            let args = step
                .get("with")
                .and_then(|w| w.get("args"))
                .and_then(|a| a.as_str())
                .unwrap_or("");
            USES.iter()
                .find(|(p, _)| uses.starts_with(p))
                .map(|(_, why)| *why)
                .or_else(|| {
                    RUNS.iter()
                        .find(|(p, _)| run.contains(p) || args.contains(p))
                        .map(|(_, why)| *why)
                })
        });
        if let Some(why) = found {
            out.push((job.id.to_string(), why));
        }
    }
    out
}

/// Insert `permissions: contents: read` before the top-level `jobs:` key, when the workflow is
/// a block mapping with `jobs:` at column 0 (a flow-style document is left alone).
fn permissions_edit(input: &Input) -> Option<Edit> {
    if !input.exists(&ypath!["jobs"]) {
        return None;
    }
    let line = input.key_line(&ypath!["jobs"]);
    if !input
        .line_text(line)
        .is_some_and(|t| t.starts_with("jobs:"))
    {
        return None;
    }
    let offset: usize = input
        .src()
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    // Keep the file's line endings.
    let nl = if input.src().contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    Some(Edit {
        start: offset,
        end: offset,
        text: format!("permissions:{nl}  contents: read{nl}{nl}"),
    })
}

fn apply_edits(src: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse((e.start, e.end)));
    let mut out = src.to_string();
    let mut last_start = usize::MAX;
    for e in edits {
        // Overlapping edits cannot happen by construction; skip defensively.
        if e.end > last_start || e.start > out.len() || e.end > out.len() {
            continue;
        }
        out.replace_range(e.start..e.end, &e.text);
        last_start = e.start;
    }
    out
}

/// Tag and branch names as `uses:` can name them (no spaces, fragments or `..`).
fn valid_ref(r: &str) -> bool {
    !r.is_empty()
        && !r.contains("..")
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'+'))
}

/// The edited text still parses, each pinned `uses:` reads back as `name@sha`, and a
/// permissions block, if added, is there.
fn verify(
    new: &str,
    expected: &[(Vec<super::input::Seg>, String)],
    adds_permissions: bool,
) -> std::result::Result<(), String> {
    let value: yaml_serde::Value = yaml_serde::from_str(new).map_err(|e| e.to_string())?;
    for (route, want) in expected {
        let got = super::input::get(&value, route).and_then(yaml_serde::Value::as_str);
        if got.map(str::trim) != Some(want.as_str()) {
            return Err(format!("`uses:` would read {got:?}, not `{want}`"));
        }
    }
    if adds_permissions
        && value
            .get("permissions")
            .and_then(|p| p.get("contents"))
            .and_then(yaml_serde::Value::as_str)
            != Some("read")
    {
        return Err("the permissions block would not read back".into());
    }
    Ok(())
}
