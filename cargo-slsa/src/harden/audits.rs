//! The audits. Each takes a parsed input and returns findings located at the offending node's
//! 1-based line. The six shared with zizmor follow its rules (same code, same node, same line)
//! so results can be cross-referenced; `cargo-unlocked` and `hardcoded-credentials` are ours.

use std::collections::BTreeSet;

use yaml_serde::Value;

use super::codes::HardenCode;
use super::hit::Hit;
use super::input::get;
use super::input::{Input, Kind, Seg};
use super::shell::{command_words, run_script, shell_commands, unlocked_cargo};
use super::walk::{self, is_sha, split_uses};
use crate::ypath;

/// Run every audit on one input.
pub fn all(input: &Input) -> Vec<Hit> {
    let mut out = Vec::new();
    out.extend(unpinned_uses(input));
    out.extend(super::perms::excessive_permissions(input));
    out.extend(dangerous_triggers(input));
    out.extend(super::injection::template_injection(input));
    out.extend(super::checkout::artipacked(input));
    out.extend(super::cache::cache_poisoning(input));
    out.extend(cargo_unlocked(input));
    out.extend(hardcoded_credentials(input));
    out.extend(super::deploy::deploy_unverified(input));
    out
}

// ---------------------------------------------------------------------------------------------
// unpinned-uses

/// Every `uses:` (steps, reusable-workflow jobs) must name a full commit SHA; local actions are
/// fine; docker images need a `@sha256:` digest.
pub fn unpinned_uses(input: &Input) -> Vec<Hit> {
    let mut sites: Vec<(Vec<Seg>, &str)> = Vec::new();
    for s in walk::steps(input) {
        if let Some(u) = s.str("uses") {
            sites.push((s.at("uses"), u));
        }
    }
    for j in walk::jobs(input) {
        if let Some(u) = j.value.get("uses").and_then(Value::as_str) {
            let mut r = j.route.clone();
            r.push(Seg::from("uses"));
            sites.push((r, u));
        }
    }
    let mut out = Vec::new();
    for (route, uses) in sites {
        let uses = uses.trim();
        // Local actions and same-repository reusable workflows (`./…`, `$/…`) come from the
        // same commit as the workflow itself.
        if uses.starts_with("./") || uses.starts_with(".\\") || uses.starts_with("$/") {
            continue;
        }
        let line = input.line(&route);
        if let Some(image) = uses.strip_prefix("docker://") {
            if !image.contains("@sha256:") {
                out.push(Hit::new(
                    HardenCode::UnpinnedUses,
                    line,
                    format!("`{uses}` is not pinned to an image digest"),
                    "pin the image by digest: `docker://IMAGE@sha256:<digest>`",
                ));
            }
            continue;
        }
        let pinned = split_uses(uses).is_some_and(|(_, r)| is_sha(r));
        if !pinned {
            let fix = match split_uses(uses) {
                Some((name, r)) => format!(
                    "pin to the commit `{r}` points at: `{name}@<40-hex sha> # {r}` (`cargo slsa harden --fix` resolves it)"
                ),
                None => "name a full commit SHA: `owner/repo@<40-hex sha>`".to_string(),
            };
            let mut hit = Hit::new(
                HardenCode::UnpinnedUses,
                line,
                format!(
                    "`{uses}` is not pinned to a commit SHA: whoever controls the tag or branch controls this step"
                ),
                fix,
            );
            hit.uses = Some((route, uses.to_string()));
            out.push(hit);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// dangerous-triggers

/// `pull_request_target`, `workflow_run` and `issue_comment`, located at the trigger (a
/// workflow whose only job is one `actions/labeler` step is the documented safe use of
/// `pull_request_target` and is exempt).
pub fn dangerous_triggers(input: &Input) -> Vec<Hit> {
    let Kind::Workflow(_) = input.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let triggers = walk::triggers(input);
    let checks_out_head = head_checkouts(input);
    for (i, t) in triggers.iter().enumerate() {
        let why = match t.as_str() {
            "pull_request_target" if labeler_only(input) => continue,
            "pull_request_target" => {
                "`pull_request_target` runs with the base repository's secrets and a write token on pull requests from forks"
            }
            "workflow_run" => {
                "`workflow_run` runs privileged after workflows that untrusted pull requests can trigger"
            }
            "issue_comment" => {
                "`issue_comment` runs with secrets on comments anyone can post, including on pull requests from forks"
            }
            _ => continue,
        };
        let line = trigger_line(input, t, i);
        let worse = if t == "pull_request_target" && !checks_out_head.is_empty() {
            " — and this workflow checks out the pull request's code, which then runs with those privileges"
        } else {
            ""
        };
        out.push(Hit::new(
            HardenCode::DangerousTriggers,
            line,
            format!("{why}{worse}"),
            "use `pull_request` (no secrets) where possible; otherwise never check out or run the PR's code, and keep permissions minimal",
        ));
    }
    if triggers.iter().any(|t| t == "pull_request_target") && !labeler_only(input) {
        for (line, runs_code) in checks_out_head {
            let message = if runs_code {
                "this checkout fetches the pull request's head in a `pull_request_target` \
                 workflow, and a later step runs code from it: untrusted code runs with secrets"
            } else {
                "this checkout fetches the pull request's head in a `pull_request_target` \
                 workflow: no later step of the job runs it (only git reads it), but the files \
                 are on disk with secrets at hand — one build step added later runs them"
            };
            out.push(Hit::new(
                HardenCode::DangerousTriggers,
                line,
                message,
                "check out the base ref, or move the build of PR code to a `pull_request` workflow",
            ));
        }
    }
    out
}

/// One job with one step, `actions/labeler`.
fn labeler_only(input: &Input) -> bool {
    let jobs = walk::jobs(input);
    let steps = walk::steps(input);
    jobs.len() == 1
        && steps.len() == 1
        && steps[0]
            .str("uses")
            .and_then(split_uses)
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case("actions/labeler"))
}

fn trigger_line(input: &Input, trigger: &str, index: usize) -> usize {
    match input.value.get("on") {
        Some(Value::Mapping(_)) => input.key_line(&ypath!["on", trigger]),
        Some(Value::Sequence(_)) => input.line(&ypath!["on", index]),
        _ => input.line(&ypath!["on"]),
    }
}

/// Lines of checkout steps whose `ref` names the pull request's head.
/// Checkouts of the pull request's head, with whether a later step of the same job runs
/// anything but `git` on it (a script, a local action, a build).
fn head_checkouts(input: &Input) -> Vec<(usize, bool)> {
    let steps = walk::steps(input);
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if !s
            .str("uses")
            .is_some_and(|u| u.starts_with("actions/checkout@"))
        {
            continue;
        }
        let Some(r) = s.with("ref") else {
            continue;
        };
        if !["pull_request.head", "github.head_ref"]
            .iter()
            .any(|p| r.contains(p))
        {
            continue;
        }
        let runs_code = steps[i + 1..]
            .iter()
            .filter(|later| later.job == s.job)
            .any(|later| {
                later
                    .str("uses")
                    .is_some_and(|u| u.trim().starts_with("./"))
                    || later.str("run").is_some_and(|script| {
                        shell_commands(script).iter().any(|(_, c)| {
                            command_words(c)
                                .first()
                                .is_some_and(|w| *w != "git" && *w != "echo")
                        })
                    })
            });
        out.push((input.line(&walk::with_key(&s.at("with"), "ref")), runs_code));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// cargo-unlocked

/// `cargo build|test|install|publish|run|bench` in a `run:` script without `--locked` or
/// `--frozen`, one finding per command, at its line.
pub fn cargo_unlocked(input: &Input) -> Vec<Hit> {
    let mut out = Vec::new();
    for s in walk::steps(input) {
        let Some((start, text)) = run_script(input, &s) else {
            continue;
        };
        for (offset, command) in shell_commands(text) {
            if let Some(sub) = unlocked_cargo(&command) {
                let line = input.line_of_offset(start + offset);
                out.push(Hit::new(
                    HardenCode::CargoUnlocked,
                    line,
                    format!("`cargo {sub}` runs without --locked: it may resolve other versions than Cargo.lock"),
                    format!("add --locked: `cargo {sub} --locked …`"),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// hardcoded-credentials

/// Literal secrets in `env:` (workflow, job, step) and `with:`, and container credentials.
pub fn hardcoded_credentials(input: &Input) -> Vec<Hit> {
    let mut maps: Vec<Vec<Seg>> = vec![ypath!["env"]];
    for j in walk::jobs(input) {
        maps.push(walk::with_key(&j.route, "env"));
        maps.push([j.route.clone(), ypath!["container", "credentials"]].concat());
        if let Some(services) = j.value.get("services").and_then(Value::as_mapping) {
            for k in services.keys().filter_map(Value::as_str) {
                maps.push([j.route.clone(), ypath!["services", k, "credentials"]].concat());
            }
        }
    }
    for s in walk::steps(input) {
        maps.push(s.at("env"));
        maps.push(s.at("with"));
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for route in maps {
        let Some(map) = get(&input.value, &route).and_then(Value::as_mapping) else {
            continue;
        };
        for (k, v) in map {
            let (Some(key), Some(value)) = (k.as_str(), walk::scalar_text(v)) else {
                continue;
            };
            let Some(what) = credential_kind(key, &value) else {
                continue;
            };
            let line = input.key_line(&walk::with_key(&route, key));
            if seen.insert((line, key.to_string())) {
                let mut hit = Hit::new(
                    HardenCode::HardcodedCredentials,
                    line,
                    format!("`{key}` holds a literal that looks like {what}"),
                    format!(
                        "revoke it, store it as a repository secret and write `{key}: ${{{{ secrets.{} }}}}`",
                        key.to_ascii_uppercase().replace('-', "_")
                    ),
                );
                hit.secret = Some(value.trim().to_string());
                out.push(hit);
            }
        }
    }
    out
}

/// What kind of credential `value` looks like (never the value itself), if any.
pub fn credential_kind(key: &str, value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() || v.contains("${{") {
        return None;
    }
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let prefixed = |p: &str, len: usize| {
        v.strip_prefix(p)
            .and_then(|rest| rest.get(..len))
            .is_some_and(alnum)
    };
    if (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.len() == 20
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some("an AWS access key id");
    }
    for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        if prefixed(p, 36) {
            return Some("a GitHub token");
        }
    }
    if v.starts_with("github_pat_") && v.len() >= 40 {
        return Some("a GitHub fine-grained token");
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"]
        .iter()
        .any(|p| v.starts_with(p))
    {
        return Some("a Slack token");
    }
    if prefixed("npm_", 36) {
        return Some("an npm token");
    }
    if prefixed("cio", 32) && v.len() == 35 {
        return Some("a crates.io token");
    }
    if v.starts_with("AIza") && v.len() == 39 {
        return Some("a Google API key");
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    let k = key.to_ascii_lowercase();
    let secretish = [
        "token",
        "secret",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "api-key",
        "private_key",
        "access_key",
    ]
    .iter()
    .any(|w| k.contains(w));
    // A secret-named key with a long, random-looking literal (not a path, URL, flag or name).
    let random = v.len() >= 16
        && !v.contains(char::is_whitespace)
        && !v.contains('/')
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic());
    (secretish && random).then_some("a secret")
}
