//! The audits. Each takes a parsed input and returns findings located at the offending node's
//! 1-based line. The six shared with zizmor follow its rules (same code, same node, same line)
//! so results can be cross-referenced; `cargo-unlocked` and `hardcoded-credentials` are ours.

use std::collections::BTreeSet;

use yaml_serde::Value;

use super::codes::HardenCode;
use super::input::{Input, Kind, Seg};
use super::walk::{self, is_sha, split_uses};
use crate::report::{Finding, Severity};
use crate::ypath;

/// A finding before it is turned into a report entry (the fix planner reads `uses`).
#[derive(Debug, Clone)]
pub struct Hit {
    pub code: HardenCode,
    pub severity: Severity,
    pub line: usize,
    pub message: String,
    pub fix: String,
    /// For `unpinned-uses`: the route of the `uses` value and its text, for `--fix`.
    pub uses: Option<(Vec<Seg>, String)>,
    /// For `hardcoded-credentials`: the literal, masked wherever the line is shown.
    pub secret: Option<String>,
}

impl Hit {
    pub(crate) fn new(
        code: HardenCode,
        line: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Hit {
        Hit {
            code,
            severity: code.rule().severity,
            line,
            message: message.into(),
            fix: fix.into(),
            uses: None,
            secret: None,
        }
    }

    pub(crate) fn severity(mut self, s: Severity) -> Hit {
        self.severity = s;
        self
    }

    /// As a report finding in `input`; every literal in `secrets` (all the credentials found
    /// in the file) is masked in the snippet, whichever finding shows the line.
    pub fn finding(&self, input: &Input, secrets: &[String]) -> Finding {
        let snippet = input.line_text(self.line).map(|t| {
            secrets
                .iter()
                .filter(|s| !s.is_empty())
                .fold(t.to_string(), |line, s| {
                    line.replace(s.as_str(), "********")
                })
        });
        let mut f = Finding::new(self.code.rule(), self.message.clone())
            .at(&input.path, Some(self.line), snippet.as_deref())
            .with_fix(self.fix.clone());
        f.severity = self.severity;
        f
    }
}

/// The literal credentials found in a file, to mask wherever its lines are shown.
pub fn secrets(hits: &[Hit]) -> Vec<String> {
    hits.iter().filter_map(|h| h.secret.clone()).collect()
}

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

const RESOLVING: &[&str] = &[
    "build", "b", "test", "t", "install", "publish", "run", "r", "bench", "check", "c", "clippy",
    "doc", "d", "zigbuild",
];

/// The words of a simple command without leading `VAR=value` assignments and launchers (`sudo`,
/// `env`, `time`, `exec`, `npx`, `command`): the first word is the program that runs.
pub(crate) fn command_words(command: &str) -> Vec<&str> {
    let mut w: Vec<&str> = command
        .split_whitespace()
        .map(|t| t.trim_matches(|c| c == '"' || c == '\''))
        .collect();
    let mut after_launcher = false;
    while let Some(first) = w.first() {
        let assignment = first.contains('=') && !first.starts_with('-');
        // A launcher's own flags (`sudo -E`, `env -i`) come before the program.
        let launcher_flag = after_launcher && first.starts_with('-');
        if assignment || launcher_flag {
            w.remove(0);
        } else if matches!(*first, "sudo" | "npx" | "exec" | "time" | "env" | "command") {
            w.remove(0);
            after_launcher = true;
        } else {
            break;
        }
    }
    w
}

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

/// A step's `run:` script as it stands in the file, with the byte offset it starts at, so the
/// offsets of [`shell_commands`] map to lines.
pub(crate) fn run_script<'a>(
    input: &'a Input,
    step: &walk::StepRef<'_>,
) -> Option<(usize, &'a str)> {
    step.str("run")?;
    let (start, end) = input.span(&step.at("run"))?;
    Some((start, input.src().get(start..end)?))
}

/// For a command `cargo-unlocked` reports: its subcommand and the byte offset, in `raw` (the
/// script text from the command's start), just after the subcommand's word — where ` --locked`
/// goes. `None` when the command is locked, not cargo, or its words cannot be found in one
/// line of `raw`.
pub(crate) fn unlocked_cargo_at(raw: &str, command: &str) -> Option<(String, usize)> {
    let sub = unlocked_cargo(command)?;
    let last = sub.rsplit(' ').next()?;
    let line = &raw[..raw.find('\n').unwrap_or(raw.len())];
    let cargo = line.find("cargo")?;
    let mut from = cargo + "cargo".len();
    if sub.contains(' ') {
        // `cargo lambda build`: past `lambda` first.
        from += line[from..].find("lambda")? + "lambda".len();
    }
    let bytes = line.as_bytes();
    let mut i = from;
    while let Some(rel) = line[i..].find(last) {
        let at = i + rel;
        let end = at + last.len();
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let after_ok = end == line.len() || bytes[end].is_ascii_whitespace() || bytes[end] == b';';
        if before_ok && after_ok {
            return Some((sub, end));
        }
        i = end;
    }
    None
}

/// Split a script into simple commands with the byte offset of each, joining `\` continuations
/// and splitting on `&&`, `||`, `;`, `|` and newlines.
pub(crate) fn shell_commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = None;
    let mut pos = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let continued = line.trim_end().ends_with('\\');
        let body = if continued {
            line.trim_end().trim_end_matches('\\')
        } else {
            line
        };
        // Split within the line on separators, tracking offsets.
        let mut seg_start = 0;
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let sep = match bytes[i] {
                b';' => 1,
                b'|' | b'&' if bytes.get(i + 1) == Some(&bytes[i]) => 2,
                b'|' => 1,
                b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => {
                    // A comment: the rest of the line is not a command.
                    push_part(
                        &mut current,
                        &mut start,
                        pos + seg_start,
                        &body[seg_start..i],
                    );
                    seg_start = bytes.len();
                    break;
                }
                _ => 0,
            };
            if sep > 0 {
                push_part(
                    &mut current,
                    &mut start,
                    pos + seg_start,
                    &body[seg_start..i],
                );
                flush(&mut out, &mut current, &mut start);
                i += sep;
                seg_start = i;
            } else {
                i += 1;
            }
        }
        if seg_start < body.len() {
            push_part(
                &mut current,
                &mut start,
                pos + seg_start,
                &body[seg_start..],
            );
        }
        if !continued {
            flush(&mut out, &mut current, &mut start);
        }
        pos += raw.len();
    }
    flush(&mut out, &mut current, &mut start);
    out
}

fn push_part(current: &mut String, start: &mut Option<usize>, offset: usize, part: &str) {
    if part.trim().is_empty() {
        return;
    }
    if start.is_none() {
        let lead = part.len() - part.trim_start().len();
        *start = Some(offset + lead);
    }
    current.push(' ');
    current.push_str(part);
}

fn flush(out: &mut Vec<(usize, String)>, current: &mut String, start: &mut Option<usize>) {
    if let Some(s) = start.take() {
        out.push((s, std::mem::take(current)));
    }
    current.clear();
}

/// The subcommand of an unlocked resolving cargo invocation in `command`, if any.
pub(crate) fn unlocked_cargo(command: &str) -> Option<String> {
    // Only a command that runs cargo: `echo "then cargo build"` does not.
    let tokens = command_words(command);
    let first = tokens.first()?;
    if *first != "cargo" && !first.ends_with("/cargo") {
        return None;
    }
    // Arguments after `--` belong to the program cargo runs, not to cargo.
    let rest = &tokens[1..];
    let rest = match rest.iter().position(|t| *t == "--") {
        Some(end) => &rest[..end],
        None => rest,
    };
    // The subcommand: the first word that is neither a `+toolchain`, a flag, nor the value of a
    // global option that takes one (`--color always`, `-C dir`, `-Z flag`, `--config k=v`).
    let mut sub = None;
    let mut i = 0;
    while let Some(t) = rest.get(i) {
        if matches!(*t, "--color" | "-C" | "-Z" | "--config") {
            i += 2;
            continue;
        }
        if !t.starts_with('+') && !t.starts_with('-') {
            sub = Some(*t);
            break;
        }
        i += 1;
    }
    let sub = sub?;
    // `cargo lambda build` (cargo-lambda) resolves like `cargo build`.
    let sub = if sub == "lambda" && rest.get(i + 1).is_some_and(|t| *t == "build") {
        "lambda build"
    } else if RESOLVING.contains(&sub) {
        sub
    } else {
        return None;
    };
    let locked = rest.iter().any(|t| {
        matches!(*t, "--locked" | "--frozen")
            || t.starts_with("--locked=")
            || t.starts_with("--frozen=")
    });
    // `cargo install --path …` of a local crate still resolves; `--locked` applies there too.
    (!locked).then(|| (*sub).to_string())
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

pub(crate) fn get<'v>(v: &'v Value, route: &[Seg]) -> Option<&'v Value> {
    let mut cur = v;
    for s in route {
        cur = match s {
            Seg::Key(k) => cur.get(k.as_str())?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
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
