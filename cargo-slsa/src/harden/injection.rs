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

use super::audits::{Hit, get};
use super::codes::HardenCode;
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
// Expressions

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num,
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Star,
}

fn tokenize(s: &str) -> Option<Vec<(Tok, usize, usize)>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' => {
                i += 1;
                let mut v = String::new();
                loop {
                    match b.get(i) {
                        None => return None,
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let ch = s[i..].chars().next()?;
                            v.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::Str(v)
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'[' => {
                i += 1;
                Tok::LBracket
            }
            b']' => {
                i += 1;
                Tok::RBracket
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                Tok::Dot
            }
            b'*' => {
                i += 1;
                Tok::Star
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                i += 2;
                Tok::Op("||")
            }
            b'&' if b.get(i + 1) == Some(&b'&') => {
                i += 2;
                Tok::Op("&&")
            }
            b'=' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("==")
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("!=")
            }
            b'<' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("<=")
            }
            b'>' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(">=")
            }
            b'<' => {
                i += 1;
                Tok::Op("<")
            }
            b'>' => {
                i += 1;
                Tok::Op(">")
            }
            b'!' => {
                i += 1;
                Tok::Op("!")
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'.' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Tok::Num
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                {
                    i += 1;
                }
                Tok::Ident(s[start..i].to_string())
            }
            _ => return None,
        };
        out.push((tok, start, i));
    }
    Some(out)
}

/// A parsed expression, keeping what the dataflow needs.
#[derive(Debug, Clone)]
enum Expr {
    Other,
    /// A context: its normalised pattern (`github.event.issue.title`, indices as `*`), its
    /// byte range in the expression text, and whether it starts with a call (`fromJSON(x).y`).
    Context {
        pattern: String,
        start: usize,
        end: usize,
        call_led: bool,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    And(#[allow(dead_code)] Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

struct Parser<'a> {
    toks: &'a [(Tok, usize, usize)],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn next(&mut self) -> Option<(Tok, usize, usize)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Option<Expr> {
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Op("||")) {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Some(l)
    }
    fn and(&mut self) -> Option<Expr> {
        let mut l = self.cmp()?;
        while self.peek() == Some(&Tok::Op("&&")) {
            self.pos += 1;
            let r = self.cmp()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Some(l)
    }
    fn cmp(&mut self) -> Option<Expr> {
        let l = self.unary()?;
        let mut any = false;
        while matches!(
            self.peek(),
            Some(Tok::Op("==" | "!=" | "<" | "<=" | ">" | ">="))
        ) {
            self.pos += 1;
            self.unary()?;
            any = true;
        }
        Some(if any { Expr::Other } else { l })
    }
    fn unary(&mut self) -> Option<Expr> {
        if self.peek() == Some(&Tok::Op("!")) {
            self.pos += 1;
            self.unary()?;
            return Some(Expr::Other);
        }
        self.primary()
    }
    fn primary(&mut self) -> Option<Expr> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let (tok, start, end) = self.next()?;
        let e = match tok {
            Tok::Str(_) | Tok::Num => Expr::Other,
            Tok::LParen => {
                let inner = self.or()?;
                if self.next()?.0 != Tok::RParen {
                    return None;
                }
                inner
            }
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::RParen) {
                        loop {
                            args.push(self.or()?);
                            match self.next()?.0 {
                                Tok::Comma => continue,
                                Tok::RParen => break,
                                _ => return None,
                            }
                        }
                    } else {
                        self.pos += 1;
                    }
                    if matches!(self.peek(), Some(Tok::Dot | Tok::LBracket)) {
                        let (pattern, end) = self.path(String::new(), end)?;
                        Expr::Context {
                            pattern,
                            start,
                            end,
                            call_led: true,
                        }
                    } else {
                        Expr::Call {
                            name: name.to_ascii_lowercase(),
                            args,
                        }
                    }
                } else if matches!(name.as_str(), "true" | "false" | "null") {
                    Expr::Other
                } else {
                    let (pattern, end) = self.path(name.to_ascii_lowercase(), end)?;
                    Expr::Context {
                        pattern,
                        start,
                        end,
                        call_led: false,
                    }
                }
            }
            _ => return None,
        };
        self.depth -= 1;
        Some(e)
    }
    /// `.ident`, `.*`, `[expr]` suffixes.
    fn path(&mut self, mut pattern: String, mut end: usize) -> Option<(String, usize)> {
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    let (t, _, e) = self.next()?;
                    let part = match t {
                        Tok::Ident(p) => p.to_ascii_lowercase(),
                        Tok::Star => "*".into(),
                        _ => return None,
                    };
                    pattern.push('.');
                    pattern.push_str(&part);
                    end = e;
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let part = match self.peek() {
                        Some(Tok::Str(s))
                            if self.toks.get(self.pos + 1).map(|t| &t.0)
                                == Some(&Tok::RBracket) =>
                        {
                            let s = s.to_ascii_lowercase();
                            self.pos += 1;
                            s
                        }
                        Some(Tok::Star) => {
                            self.pos += 1;
                            "*".into()
                        }
                        _ => {
                            self.or()?;
                            "*".into()
                        }
                    };
                    let (t, _, e) = self.next()?;
                    if t != Tok::RBracket {
                        return None;
                    }
                    pattern.push('.');
                    pattern.push_str(&part);
                    end = e;
                }
                _ => return Some((pattern, end)),
            }
        }
    }
}

/// The contexts whose values can flow into the expansion.
fn dataflow(e: &Expr, out: &mut Vec<(String, usize, usize, bool)>) {
    match e {
        Expr::Context {
            pattern,
            start,
            end,
            call_led,
        } => out.push((pattern.clone(), *start, *end, *call_led)),
        Expr::And(_, r) => dataflow(r, out),
        Expr::Or(l, r) => {
            dataflow(l, out);
            dataflow(r, out);
        }
        Expr::Call { name, args } => match name.as_str() {
            "tojson" | "fromjson" | "format" | "join" => args.iter().for_each(|a| dataflow(a, out)),
            "case" => {
                for (i, a) in args.iter().enumerate() {
                    if i % 2 == 1 || i + 1 == args.len() {
                        dataflow(a, out);
                    }
                }
            }
            _ => {}
        },
        Expr::Other => {}
    }
}

fn parse(expr: &str) -> Option<Vec<(String, usize, usize, bool)>> {
    let toks = tokenize(expr)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != toks.len() {
        return None;
    }
    let mut out = Vec::new();
    dataflow(&e, &mut out);
    Some(out)
}

/// `${{ … }}` expressions of a decoded script: (offset of `${{`, body).
fn expressions(script: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = script[from..].find("${{") {
        let open = from + open;
        let body_start = open + 3;
        let b = script.as_bytes();
        let mut i = body_start;
        let mut in_str = false;
        let mut close = None;
        while i + 1 < b.len() {
            if b[i] == b'\'' {
                in_str = !in_str;
            } else if !in_str && b[i] == b'}' && b[i + 1] == b'}' {
                close = Some(i);
                break;
            }
            i += 1;
        }
        let Some(close) = close else { break };
        out.push((open, &script[body_start..close]));
        from = close + 2;
    }
    out
}

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
