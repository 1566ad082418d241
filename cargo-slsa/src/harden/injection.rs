//! `template-injection`: `${{ … }}` expanded into a script before the shell sees it.
//!
//! Scripts examined: `run:`, and the script-like inputs of well-known actions that evaluate
//! them (`actions/github-script`'s `script`, ssh/azure/yq/jq runners…). Each expression is
//! parsed (GitHub's expression grammar: `||`, `&&`, comparisons, `!`, calls, contexts); only the
//! values that can flow into the text are considered (`a && b` yields `b`, `a || b` both,
//! `format`/`join`/`toJSON`/`fromJSON` their arguments, comparisons and predicates nothing).
//! Each such context is classified:
//! - attacker-controlled text (titles, bodies, branch and tag names, free-form `inputs.*`,
//!   `github.head_ref`, most `github.event.*` strings) → error;
//! - values that may carry such text (`env.*` set from expressions, `matrix.*` built from
//!   expressions, undeclared inputs) → warning;
//! - values produced elsewhere in the workflow (`steps.*.outputs`, `needs.*.outputs`, `vars.*`)
//!   → note;
//! - fixed values (numbers, SHAs, ids, booleans, `secrets.*`, runner facts) → nothing.
//!
//! One finding per context occurrence, located (as zizmor locates it) at the line where the
//! context's text is found in the raw scalar.

use yaml_serde::Value;

use super::codes::HardenCode;
use super::expr::*;
use super::hit::Hit;
use super::input::get;
use super::input::{Input, Kind, Seg};
use super::walk::{self, StepRef, split_uses};
use crate::report::Severity;
use crate::ypath;

/// Actions whose inputs are code: (owner/repo, inputs).
const SINKS: &[(&str, &[&str])] = &[
    ("actions/github-script", &["script"]),
    ("appleboy/ssh-action", &["script"]),
    ("azure/powershell", &["inlineScript"]),
    ("azure/cli", &["inlineScript"]),
    ("devorbitus/yq-action-output", &["cmd"]),
    ("sergeysova/jq-action", &["cmd"]),
    ("mikefarah/yq", &["cmd"]),
    ("amadevus/pwsh-script", &["script"]),
    ("jannekem/run-python-script-action", &["script"]),
    ("cardinalby/js-eval-action", &["expression"]),
    ("addnab/docker-run-action", &["options", "run"]),
    ("8398a7/action-slack", &["custom_payload"]),
];

// ------------------------------------------------------------------------------------------
// Classification

/// `github.*` values that are fixed by GitHub.
const GITHUB_FIXED: &[&str] = &[
    "github.action_path",
    "github.event_name",
    "github.job",
    "github.repository",
    "github.repository_id",
    "github.repository_owner",
    "github.repository_owner_id",
    "github.repositoryurl",
    "github.run_attempt",
    "github.run_id",
    "github.run_number",
    "github.server_url",
    "github.sha",
    "github.token",
    "github.triggering_actor",
    "github.workspace",
    "runner.arch",
    "runner.debug",
    "runner.os",
    "runner.temp",
    "runner.tool_cache",
];

/// Event payload fields whose values are numbers, booleans, ids, SHAs or timestamps.
fn event_field_fixed(pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    let mut last = parts.last().copied().unwrap_or("");
    if last == "*" && parts.len() > 1 {
        last = parts[parts.len() - 2];
    }
    const EXACT: &[&str] = &[
        "number",
        "id",
        "sha",
        "after",
        "before",
        "size",
        "draft",
        "merged",
        "locked",
        "private",
        "fork",
        "archived",
        "disabled",
        "forced",
        "created",
        "deleted",
        "site_admin",
        "default",
        "comments",
        "commits",
        "additions",
        "deletions",
        "changed_files",
        "review_comments",
        "maintainer_can_modify",
        "forks",
        "watchers",
        "open_issues",
        "prerelease",
        "distinct",
        "author_association",
        "state",
        "+1",
        "-1",
        "confused",
        "eyes",
        "heart",
        "hooray",
        "laugh",
        "rocket",
        "admin",
        "maintain",
        "pull",
        "push",
        "triage",
    ];
    EXACT.contains(&last)
        || ["_count", "_at", "_sha"].iter().any(|s| last.ends_with(s))
        || (last.ends_with("_id") && last != "node_id" && last != "gravatar_id")
        || ["is_", "has_", "allow_", "use_"]
            .iter()
            .any(|p| last.starts_with(p))
}

const RUNNER_VARS: &[&str] = &[
    "GITHUB_ACTION",
    "GITHUB_ACTION_PATH",
    "GITHUB_ACTION_REPOSITORY",
    "GITHUB_ACTIONS",
    "GITHUB_ACTOR",
    "GITHUB_ACTOR_ID",
    "GITHUB_API_URL",
    "GITHUB_BASE_REF",
    "GITHUB_ENV",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_GRAPHQL_URL",
    "GITHUB_HEAD_REF",
    "GITHUB_JOB",
    "GITHUB_OUTPUT",
    "GITHUB_PATH",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_PROTECTED",
    "GITHUB_REF_TYPE",
    "GITHUB_REPOSITORY",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER",
    "GITHUB_REPOSITORY_OWNER_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITHUB_SERVER_URL",
    "GITHUB_SHA",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_WORKFLOW",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_WORKFLOW_SHA",
    "GITHUB_WORKSPACE",
    "RUNNER_ARCH",
    "RUNNER_DEBUG",
    "RUNNER_ENVIRONMENT",
    "RUNNER_NAME",
    "RUNNER_OS",
    "RUNNER_TEMP",
    "RUNNER_TOOL_CACHE",
];

struct Scope<'a> {
    input: &'a Input,
    step: &'a StepRef<'a>,
    job: Option<&'a Value>,
}

impl Scope<'_> {
    /// Severity of a finding for `pattern`, or `None` when the value is fixed.
    fn classify(&self, pattern: &str, raw: &str, call_led: bool) -> Option<Severity> {
        if call_led {
            return Some(Severity::Note);
        }
        let parts: Vec<&str> = pattern.split('.').collect();
        let head = parts.first().copied().unwrap_or("");
        match head {
            "secrets" => None,
            "needs" if parts.len() == 3 && parts[2] == "result" => None,
            "steps" if parts.len() == 3 && matches!(parts[2], "outcome" | "conclusion") => None,
            "github"
                if pattern.starts_with("github.event.")
                    && !pattern.starts_with("github.event.inputs") =>
            {
                (!event_field_fixed(pattern)).then_some(Severity::Error)
            }
            "github" | "runner" if GITHUB_FIXED.contains(&pattern) => None,
            "github" => Some(Severity::Error),
            "inputs" => self.input_kind(&parts),
            "env" => (!self.env_static(&parts, raw)).then_some(Severity::Warning),
            "matrix" => (!self.matrix_static(&parts)).then_some(Severity::Warning),
            _ => Some(Severity::Note),
        }
    }

    fn input_kind(&self, parts: &[&str]) -> Option<Severity> {
        if parts.len() != 2 {
            return Some(Severity::Warning);
        }
        let name = parts[1];
        if let Kind::Action(_) = self.input.kind {
            return Some(
                if self
                    .input
                    .value
                    .get("inputs")
                    .and_then(|i| i.get(name))
                    .is_some()
                {
                    Severity::Error
                } else {
                    Severity::Warning
                },
            );
        }
        let mut found = None;
        for event in ["workflow_call", "workflow_dispatch"] {
            let decl = self
                .input
                .value
                .get("on")
                .and_then(|o| o.get(event))
                .and_then(|e| e.get("inputs"))
                .and_then(|i| i.as_mapping())
                .and_then(|m| {
                    m.iter()
                        .find(|(k, _)| k.as_str() == Some(name))
                        .map(|(_, v)| v)
                });
            if let Some(d) = decl {
                let free = !matches!(
                    d.get("type").and_then(Value::as_str),
                    Some("boolean" | "number" | "choice" | "environment")
                );
                found = Some(found.unwrap_or(false) || free);
            }
        }
        match found {
            Some(true) => Some(Severity::Error),
            Some(false) => None,
            None => Some(Severity::Warning),
        }
    }

    fn env_static(&self, parts: &[&str], _raw: &str) -> bool {
        if parts.len() != 2 {
            return false;
        }
        let name = parts[1];
        if name.eq_ignore_ascii_case("CI") {
            return false;
        }
        if RUNNER_VARS.iter().any(|v| v.eq_ignore_ascii_case(name)) {
            return true;
        }
        let mut blocks = vec![self.step.value.get("env")];
        if let Kind::Workflow(_) = self.input.kind {
            blocks.push(self.job.and_then(|j| j.get("env")));
            blocks.push(self.input.value.get("env"));
        }
        for block in blocks.into_iter().flatten() {
            let Some(map) = block.as_mapping() else {
                return false; // `env: ${{ … }}`
            };
            // Case-insensitive lookup: the pattern is lowercased.
            if let Some((_, v)) = map
                .iter()
                .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
            {
                return !walk::scalar_text(v).unwrap_or_default().contains("${{");
            }
        }
        false
    }

    fn matrix_static(&self, parts: &[&str]) -> bool {
        let Some(matrix) = self
            .job
            .and_then(|j| j.get("strategy"))
            .and_then(|s| s.get("matrix"))
        else {
            return true;
        };
        let Some(map) = matrix.as_mapping() else {
            return false;
        };
        let mut exp: Vec<(Vec<String>, String)> = Vec::new();
        fn expand(prefix: Vec<String>, v: &Value, out: &mut Vec<(Vec<String>, String)>) {
            match v {
                Value::Sequence(items) => items.iter().for_each(|i| expand(prefix.clone(), i, out)),
                Value::Mapping(m) => {
                    for (k, v) in m {
                        if let Some(k) = k.as_str() {
                            let mut p = prefix.clone();
                            p.push(k.to_ascii_lowercase());
                            expand(p, v, out);
                        }
                    }
                }
                other => out.push((prefix, walk::scalar_text(other).unwrap_or_default())),
            }
        }
        for (k, v) in map {
            match k.as_str() {
                Some("exclude") => {}
                Some("include") => expand(vec!["matrix".into()], v, &mut exp),
                Some(k) => expand(vec!["matrix".into(), k.to_ascii_lowercase()], v, &mut exp),
                None => {}
            }
        }
        !exp.iter().any(|(path, value)| {
            path.len() == parts.len()
                && path.iter().zip(parts).all(|(a, b)| a == b)
                && value.contains("${{")
        })
    }
}

// ------------------------------------------------------------------------------------------
// Location

/// Where `fragment` is found in `raw` at or after `after`, as zizmor's subfeature search does
/// (whitespace runs in the fragment match any whitespace run).
fn find_from(raw: &str, fragment: &str, after: usize) -> Option<usize> {
    let after = after.min(raw.len());
    if !fragment.contains(char::is_whitespace) {
        return raw.get(after..)?.find(fragment).map(|p| p + after);
    }
    let words: Vec<&str> = fragment.split_whitespace().collect();
    let hay = raw.get(after..)?;
    let mut search = 0;
    while let Some(p) = hay[search..].find(words[0]) {
        let start = search + p;
        let mut i = start + words[0].len();
        let mut ok = true;
        for w in &words[1..] {
            let ws = hay[i..].len() - hay[i..].trim_start().len();
            if ws == 0 || !hay[i + ws..].starts_with(w) {
                ok = false;
                break;
            }
            i += ws + w.len();
        }
        if ok {
            return Some(after + start);
        }
        search = start + 1;
        while !hay.is_char_boundary(search) {
            search += 1;
        }
    }
    None
}

// ------------------------------------------------------------------------------------------

pub fn template_injection(input: &Input) -> Vec<Hit> {
    let mut out = Vec::new();
    let jobs: Vec<(String, &Value)> = walk::jobs(input)
        .into_iter()
        .map(|j| (j.id.to_string(), j.value))
        .collect();
    for s in walk::steps(input) {
        let mut scripts: Vec<Vec<Seg>> = Vec::new();
        if s.value.get("run").is_some() {
            scripts.push(s.at("run"));
        }
        if let Some((name, _)) = s.str("uses").and_then(split_uses)
            && let Some((_, keys)) = SINKS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
            && s.value.get("with").and_then(Value::as_mapping).is_some()
        {
            for k in *keys {
                if s.value
                    .get("with")
                    .and_then(|w| w.get(*k))
                    .and_then(Value::as_str)
                    .is_some()
                {
                    scripts.push([s.at("with"), ypath![*k]].concat());
                }
            }
        }
        let job = s
            .job
            .and_then(|id| jobs.iter().find(|(j, _)| j == id).map(|(_, v)| *v));
        let scope = Scope {
            input,
            step: &s,
            job,
        };
        for route in scripts {
            let Some(decoded) = get(&input.value, &route).and_then(walk::scalar_text) else {
                continue;
            };
            let Some((vstart, vend)) = input.span(&route) else {
                continue;
            };
            let Some(raw) = input.src().get(vstart..vend) else {
                continue;
            };
            let base_line = input.line_of_offset(vstart);
            for (open, body) in expressions(&decoded) {
                let Some(ctxs) = parse(body) else { continue };
                for (pattern, cs, ce, call_led) in ctxs {
                    let text = body.get(cs..ce).unwrap_or(&pattern).trim();
                    let Some(severity) = scope.classify(&pattern, text, call_led) else {
                        continue;
                    };
                    let after = open + cs;
                    let line = match find_from(raw, text, after) {
                        Some(p) => base_line + raw[..p].matches('\n').count(),
                        None => base_line,
                    };
                    let why = match severity {
                        Severity::Error => "carries text an outsider can choose",
                        Severity::Warning => "may carry text from an untrusted source",
                        _ => "is produced elsewhere in the workflow and may carry untrusted text",
                    };
                    out.push(
                        Hit::new(
                            HardenCode::TemplateInjection,
                            line,
                            format!("`{text}` is expanded into the script before the shell runs it and {why}"),
                            format!("pass it through the environment instead: `env: VALUE: ${{{{ {text} }}}}`, then use \"$VALUE\""),
                        )
                        .severity(severity),
                    );
                }
            }
        }
    }
    out
}

/// Each step's `run:` script with the expressions in it that carry untrusted text (a context at
/// warning or error): (step, [(expression body as written, its first such context)]), distinct
/// bodies in order of appearance — what `--fix` moves into `env:` ([`super::injection_fix`]).
pub(super) fn flagged_in_runs(input: &Input) -> Vec<(StepRef<'_>, Vec<(String, String)>)> {
    let jobs: Vec<(String, &Value)> = walk::jobs(input)
        .into_iter()
        .map(|j| (j.id.to_string(), j.value))
        .collect();
    let mut out = Vec::new();
    for s in walk::steps(input) {
        let Some(decoded) = s.value.get("run").and_then(Value::as_str) else {
            continue;
        };
        let job = s
            .job
            .and_then(|id| jobs.iter().find(|(j, _)| j == id).map(|(_, v)| *v));
        let scope = Scope {
            input,
            step: &s,
            job,
        };
        let mut bodies: Vec<(String, String)> = Vec::new();
        for (_, body) in expressions(decoded) {
            let Some(ctxs) = parse(body) else { continue };
            let flagged = ctxs.iter().find(|(pattern, cs, ce, call_led)| {
                let text = body.get(*cs..*ce).unwrap_or(pattern).trim();
                scope
                    .classify(pattern, text, *call_led)
                    .is_some_and(|sev| sev >= Severity::Warning)
            });
            if let Some((pattern, ..)) = flagged
                && !bodies.iter().any(|(b, _)| b == body)
            {
                bodies.push((body.to_string(), pattern.clone()));
            }
        }
        if !bodies.is_empty() {
            out.push((s, bodies));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(e: &str) -> Vec<String> {
        parse(e)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.0)
            .collect()
    }

    #[test]
    fn dataflow_follows_values_not_predicates() {
        assert_eq!(flows(" github.head_ref "), ["github.head_ref"]);
        assert_eq!(
            flows("github.event_name == 'push' && github.ref_name"),
            ["github.ref_name"]
        );
        assert_eq!(flows("inputs.a || 'x'"), ["inputs.a"]);
        assert!(flows("contains(github.event.issue.title, 'x')").is_empty());
        assert!(flows("!github.event.issue.title").is_empty());
        assert_eq!(
            flows("format('{0}', github.event.issue.title)"),
            ["github.event.issue.title"]
        );
        assert_eq!(
            flows("github.event.commits[0].message"),
            ["github.event.commits.*.message"]
        );
        assert_eq!(flows("env['FOO']"), ["env.foo"]);
        assert_eq!(flows("fromJSON(steps.x.outputs.y).z").len(), 1);
        assert!(parse("github.").is_none());
    }

    #[test]
    fn expressions_skip_braces_in_strings() {
        let e = expressions("echo ${{ format('}}{0}', github.sha) }} and ${{ env.X }}");
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].1.trim(), "env.X");
    }

    #[test]
    fn whitespace_runs_match_across_lines() {
        assert_eq!(find_from("a  b\n  c", "b c", 0), Some(3));
        assert_eq!(find_from("xx yy", "yy", 4), None);
    }
}
