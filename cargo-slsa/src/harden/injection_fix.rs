//! `harden --fix` for `template-injection` in `run:` scripts: each `${{ … }}` that carries
//! untrusted text moves into the step's `env:` and the script reads the variable, so the shell
//! receives the text as data, never as code:
//!
//! ```yaml
//! - run: echo "${{ github.event.issue.title }}"
//! # becomes
//! - run: echo "${ISSUE_TITLE}"
//!   env:
//!     ISSUE_TITLE: ${{ github.event.issue.title }}
//! ```
//!
//! `${{ env.NAME }}` needs no new variable: it becomes `${NAME}`. Inside single quotes the
//! variable is spliced in (`'a '"${X}"' b'`) so the script prints what it printed before.
//! Scripts run by bash or sh (the default on Linux and macOS runners, or `shell: bash`/`sh`) read
//! `${NAME}`; PowerShell scripts (the default on Windows runners, or `shell: pwsh`/`powershell`)
//! read `${env:NAME}`, except inside a single-quoted string. cmd, python, a runner chosen by an
//! expression, here-documents and here-strings, quoted YAML scalars and flow-style steps are left
//! as they are, with a note saying why. Every rewrite is checked by re-parsing: the document must equal the original
//! except for the rewritten scripts and the added variables (see [`check`]).

use std::collections::BTreeSet;

use yaml_serde::Value;

use super::fix::Edit;
use super::input::{Input, Seg};
use super::walk::{self, StepRef};

/// One rewritten step, for [`check`]: the route of its script, the script as it must read
/// afterwards, and the variables added to its `env:`.
pub(super) struct Rewrite {
    run: Vec<Seg>,
    env: Vec<Seg>,
    script: String,
    added: Vec<(String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// The shells whose scripts `--fix` rewrites.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shell {
    /// bash or sh: `${NAME}`, backslash escapes.
    Posix,
    /// PowerShell (pwsh, powershell): `${env:NAME}`, backtick escapes.
    Pwsh,
}

impl Shell {
    fn escape(self) -> u8 {
        match self {
            Shell::Posix => b'\\',
            Shell::Pwsh => b'`',
        }
    }

    /// How the script reads variable `name` at a position in quoting state `q`; `None` inside
    /// a PowerShell single-quoted string (which cannot be spliced without changing meaning).
    fn read(self, name: &str, q: Quote) -> Option<String> {
        match (self, q) {
            (Shell::Posix, Quote::Single) => Some(format!("'\"${{{name}}}\"'")),
            (Shell::Posix, _) => Some(format!("${{{name}}}")),
            (Shell::Pwsh, Quote::Single) => None,
            (Shell::Pwsh, _) => Some(format!("${{env:{name}}}")),
        }
    }
}

/// The shell's quoting state at byte `at` of a script (enough to know whether an expansion
/// would happen there): single quotes, double quotes, escapes.
fn quote_state_at(script: &str, at: usize, shell: Shell) -> Quote {
    let b = script.as_bytes();
    let esc = shell.escape();
    let mut q = Quote::None;
    let mut i = 0;
    while i < at.min(b.len()) {
        match (q, b[i]) {
            (Quote::None | Quote::Double, c) if c == esc => i += 1,
            (Quote::None, b'\'') => q = Quote::Single,
            (Quote::Single, b'\'') => q = Quote::None,
            (Quote::None, b'"') => q = Quote::Double,
            (Quote::Double, b'"') => q = Quote::None,
            _ => {}
        }
        i += 1;
    }
    q
}

/// The shell a step's `run:` uses, as GitHub picks it; `Err(why)` when it is not bash/sh or
/// cannot be known without running the workflow.
fn shell(input: &Input, step: &StepRef<'_>, job: Option<&Value>) -> Result<Shell, String> {
    let explicit = step
        .str("shell")
        .or_else(|| {
            job.and_then(|j| j.get("defaults"))
                .and_then(|d| d.get("run"))
                .and_then(|r| r.get("shell"))
                .and_then(Value::as_str)
        })
        .or_else(|| {
            input
                .value
                .get("defaults")
                .and_then(|d| d.get("run"))
                .and_then(|r| r.get("shell"))
                .and_then(Value::as_str)
        });
    if let Some(sh) = explicit {
        return match sh.split_whitespace().next().unwrap_or("") {
            "bash" | "sh" => Ok(Shell::Posix),
            "pwsh" | "powershell" => Ok(Shell::Pwsh),
            _ => Err(format!("its shell is `{sh}`")),
        };
    }
    let Some(job) = job else {
        return Err("a composite action's step without `shell:`".into());
    };
    let labels: Vec<&str> = match job.get("runs-on") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Sequence(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::Mapping(m)) => match m.get("labels") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Sequence(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if labels.is_empty() || labels.iter().any(|l| l.contains("${{")) {
        return Err("its runner (and so its default shell) is chosen by an expression".into());
    }
    let windows = labels
        .iter()
        .filter(|l| l.to_ascii_lowercase().contains("windows"))
        .count();
    match windows {
        0 => Ok(Shell::Posix),
        n if n == labels.len() => Ok(Shell::Pwsh),
        _ => Err("its runner labels name Windows and another system".into()),
    }
}

/// An environment variable name for `pattern` (`github.event.issue.title` → `ISSUE_TITLE`),
/// not used by the step's script or any `env:` in scope, and not one GitHub reserves.
fn var_name(pattern: &str, taken: &BTreeSet<String>, script: &str) -> String {
    let trimmed = pattern
        .strip_prefix("github.event.")
        .or_else(|| pattern.strip_prefix("github."))
        .unwrap_or(pattern);
    let mut base: String = trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    while base.contains("__") {
        base = base.replace("__", "_");
    }
    let mut base = base.trim_matches('_').to_string();
    if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        base = format!("VALUE_{base}");
    }
    if base.starts_with("GITHUB_") || base.starts_with("RUNNER_") {
        base = format!("UNTRUSTED_{base}");
    }
    let used = |n: &str| {
        taken.iter().any(|t| t.eq_ignore_ascii_case(n))
            || script.match_indices(n).any(|(i, _)| {
                !script[i + n.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
    };
    if !used(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|n| !used(n))
        .unwrap_or(base)
}

/// The names of the `env:` maps in scope of a step (step, job, workflow).
fn env_names(input: &Input, step: &StepRef<'_>, job: Option<&Value>) -> BTreeSet<String> {
    [
        step.value.get("env"),
        job.and_then(|j| j.get("env")),
        input.value.get("env"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_mapping)
    .flat_map(|m| m.keys().filter_map(Value::as_str).map(str::to_string))
    .collect()
}

/// `env.NAME` with a plain identifier: the variable is already in the environment.
fn env_reference(body: &str) -> Option<&str> {
    let name = body.trim().strip_prefix("env.")?;
    (!name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with(|c: char| c.is_ascii_digit()))
    .then_some(name)
}

/// `${{ … }}` as a YAML value: plain when that reads back the same, double-quoted otherwise.
fn yaml_value(v: &str) -> String {
    if v.contains(": ") || v.contains(" #") || v.contains(['\n', '\t', '"', '\\']) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// Plan the edits that move untrusted expressions of `input`'s `run:` scripts into `env:`.
pub(super) fn plan(
    input: &Input,
    accepted_at: &dyn Fn(usize) -> bool,
    descriptions: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> (Vec<Edit>, Vec<Rewrite>) {
    let src = input.src();
    let jobs: Vec<(String, &Value)> = walk::jobs(input)
        .into_iter()
        .map(|j| (j.id.to_string(), j.value))
        .collect();
    let mut edits = Vec::new();
    let mut rewrites = Vec::new();
    for (step, bodies) in super::injection::flagged_in_runs(input) {
        let run_route = step.at("run");
        let line = input.line(&run_route);
        let left = |why: &str, notes: &mut Vec<String>| {
            notes.push(format!(
                "{}:{line}: template injection left as it is: {why}; move the expression into `env:` by hand",
                input.path.display()
            ));
        };
        let job = step
            .job
            .and_then(|id| jobs.iter().find(|(j, _)| j == id).map(|(_, v)| *v));
        let sh = match shell(input, &step, job) {
            Ok(sh) => sh,
            Err(why) => {
                left(&why, notes);
                continue;
            }
        };
        let (Some((vstart, vend)), Some(script)) = (
            input.span(&run_route),
            step.value.get("run").and_then(Value::as_str),
        ) else {
            continue;
        };
        let raw = &src[vstart..vend];
        // A reviewer accepted an injection in this script: leave the script to them.
        let last_line = line + raw.matches('\n').count();
        if (line..=last_line).any(accepted_at) {
            continue;
        }
        if raw.starts_with(['"', '\'']) {
            left("the script is a quoted YAML string", notes);
            continue;
        }
        if script.contains("<<") || script.contains("@'") || script.contains("@\"") {
            left(
                "the script has a here-document, where quoting works differently",
                notes,
            );
            continue;
        }
        // The step's `env:`: a block mapping to extend, or none yet.
        let env_route = step.at("env");
        let existing_env = match step.value.get("env") {
            None => None,
            Some(Value::Mapping(m)) => {
                let Some((start, _)) = input.span(&env_route) else {
                    continue;
                };
                if src[start..].starts_with('{') || m.is_empty() {
                    left("the step's `env:` is written in flow style", notes);
                    continue;
                }
                Some(start)
            }
            Some(_) => {
                left("the step's `env:` is an expression", notes);
                continue;
            }
        };
        let mut taken = env_names(input, &step, job);
        let mut added: Vec<(String, String)> = Vec::new();
        let mut replaced: Vec<(usize, usize, String)> = Vec::new();
        let mut ok = true;
        for (body, pattern) in &bodies {
            let needle = format!("${{{{{body}}}}}");
            let (name, new_var) = match env_reference(body) {
                Some(n) => (n.to_string(), false),
                None => {
                    // The same expression already in the step's env: reuse its variable.
                    let value = format!("${{{{ {} }}}}", body.trim());
                    let reuse = step
                        .value
                        .get("env")
                        .and_then(Value::as_mapping)
                        .and_then(|m| {
                            m.iter()
                                .find(|(_, v)| v.as_str().map(str::trim) == Some(&value))
                        })
                        .and_then(|(k, _)| k.as_str().map(str::to_string));
                    match reuse {
                        Some(n) => (n, false),
                        None => (var_name(pattern, &taken, script), true),
                    }
                }
            };
            let found: Vec<usize> = raw.match_indices(&needle).map(|(i, _)| i).collect();
            if found.len() != script.matches(&needle).count() || found.is_empty() {
                ok = false;
                break;
            }
            for at in found {
                let Some(text) = sh.read(&name, quote_state_at(raw, at, sh)) else {
                    ok = false;
                    break;
                };
                replaced.push((at, at + needle.len(), text));
            }
            if !ok {
                break;
            }
            if new_var {
                taken.insert(name.clone());
                added.push((name, format!("${{{{ {} }}}}", body.trim())));
            }
        }
        if !ok {
            left(
                "an expression is inside a PowerShell single-quoted string, or not written the same way in the file as the script reads (a folded scalar)",
                notes,
            );
            continue;
        }
        // The script as it must read afterwards: the same replacements, in order.
        replaced.sort_by_key(|r| r.0);
        let mut expected = String::new();
        let mut rest = script;
        let mut order: Vec<(String, String)> = Vec::new();
        for (start, end, text) in &replaced {
            order.push((raw[*start..*end].to_string(), text.clone()));
        }
        for (needle, text) in &order {
            let Some(i) = rest.find(needle.as_str()) else {
                ok = false;
                break;
            };
            expected.push_str(&rest[..i]);
            expected.push_str(text);
            rest = &rest[i + needle.len()..];
        }
        if !ok {
            left("the script could not be rewritten safely", notes);
            continue;
        }
        expected.push_str(rest);
        for (start, end, text) in replaced {
            edits.push(Edit {
                start: vstart + start,
                end: vstart + end,
                text,
            });
        }
        if !added.is_empty() {
            let Some(edit) = env_edit(input, &step, existing_env, vend, &added) else {
                left(
                    "the step is not a block mapping that a key can be added to",
                    notes,
                );
                // Undo this step's replacements: its variables would not exist.
                edits.truncate(edits.len() - order.len());
                continue;
            };
            edits.push(edit);
        }
        for (name, value) in &added {
            descriptions.push(format!(
                "moved `{value}` out of the script at line {line} into `env: {name}`"
            ));
        }
        if added.is_empty() {
            descriptions.push(format!(
                "the script at line {line} reads its environment instead of expanding `${{{{ env.… }}}}`"
            ));
        }
        rewrites.push(Rewrite {
            run: run_route,
            env: env_route,
            script: expected,
            added,
        });
    }
    (edits, rewrites)
}

/// The insertion of `added` into the step's `env:` — before its first key when it has one,
/// else a new `env:` block: before the `run:` key, or after the script when `run:` opens the
/// step (`- run: …`).
fn env_edit(
    input: &Input,
    step: &StepRef<'_>,
    existing: Option<usize>,
    run_end: usize,
    added: &[(String, String)],
) -> Option<Edit> {
    let src = input.src();
    let entries = |indent: &str| -> String {
        added
            .iter()
            .map(|(n, v)| format!("{indent}{n}: {}\n", yaml_value(v)))
            .collect()
    };
    if let Some(start) = existing {
        let line_start = src[..start].rfind('\n').map_or(0, |n| n + 1);
        let indent = &src[line_start..start];
        if !indent.chars().all(|c| c == ' ') {
            return None;
        }
        let text = entries(indent);
        // Before the first key, which keeps its indentation: `NAME: v\n<indent>` + first key.
        let text = format!("{}{indent}", text.strip_prefix(indent).unwrap_or(&text));
        return Some(Edit {
            start,
            end: start,
            text,
        });
    }
    let run_key_line = input.key_line(&step.at("run"));
    let line_text = input.line_text(run_key_line)?;
    let col = line_text.find("run:")?;
    let prefix = &line_text[..col];
    let line_start: usize = src
        .split_inclusive('\n')
        .take(run_key_line - 1)
        .map(str::len)
        .sum();
    if prefix.chars().all(|c| c == ' ') {
        return Some(Edit {
            start: line_start,
            end: line_start,
            text: format!("{prefix}env:\n{}", entries(&format!("{prefix}  "))),
        });
    }
    if prefix.trim() != "-" || !prefix.ends_with(' ') {
        return None;
    }
    let indent = " ".repeat(col);
    // After the script's last line.
    let at = if src[..run_end].ends_with('\n') {
        run_end
    } else {
        match src[run_end..].find('\n') {
            Some(n) => run_end + n + 1,
            None => src.len(),
        }
    };
    let lead = if at == src.len() && !src.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    Some(Edit {
        start: at,
        end: at,
        text: format!("{lead}{indent}env:\n{}", entries(&format!("{indent}  "))),
    })
}

/// The rewritten document must equal `before` except for the rewritten scripts and the added
/// variables — nothing else moved, nothing else changed.
pub(super) fn check(before: &Value, after: &str, rewrites: &[Rewrite]) -> Result<(), String> {
    let after: Value = yaml_serde::from_str(after).map_err(|e| e.to_string())?;
    let mut expected = before.clone();
    for r in rewrites {
        let run = get_mut(&mut expected, &r.run).ok_or("a script moved")?;
        *run = Value::String(r.script.clone());
        if r.added.is_empty() {
            continue;
        }
        let (step_route, key) = r.env.split_at(r.env.len() - 1);
        let step = get_mut(&mut expected, step_route)
            .and_then(Value::as_mapping_mut)
            .ok_or("a step moved")?;
        let Seg::Key(key) = &key[0] else {
            return Err("bad route".into());
        };
        let env = step
            .entry(Value::String(key.clone()))
            .or_insert_with(|| Value::Mapping(Default::default()));
        let env = env.as_mapping_mut().ok_or("env is not a mapping")?;
        for (name, value) in &r.added {
            env.insert(Value::String(name.clone()), Value::String(value.clone()));
        }
    }
    if after == expected {
        Ok(())
    } else {
        Err("moving expressions into `env:` would change more than the scripts".into())
    }
}

fn get_mut<'v>(v: &'v mut Value, route: &[Seg]) -> Option<&'v mut Value> {
    let mut cur = v;
    for s in route {
        cur = match s {
            Seg::Key(k) => cur.get_mut(k.as_str())?,
            Seg::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_state_follows_the_shell() {
        let s = r#"echo 'a ${{ x }}' "b ${{ y }}" \' ${{ z }}"#;
        let at = |e: &str| s.find(e).unwrap_or(0);
        assert!(quote_state_at(s, at("${{ x"), Shell::Posix) == Quote::Single);
        assert!(quote_state_at(s, at("${{ y"), Shell::Posix) == Quote::Double);
        assert!(quote_state_at(s, at("${{ z"), Shell::Posix) == Quote::None);
        // PowerShell escapes with a backtick: the backslash does not hide the quote.
        let p = r#"echo "a`" ${{ x }}" 'it''s ${{ y }}' \' ${{ z }}"#;
        let at = |e: &str| p.find(e).unwrap_or(0);
        assert!(quote_state_at(p, at("${{ x"), Shell::Pwsh) == Quote::Double);
        assert!(quote_state_at(p, at("${{ y"), Shell::Pwsh) == Quote::Single);
        assert!(quote_state_at(p, at("${{ z"), Shell::Pwsh) == Quote::Single);
    }

    #[test]
    fn names_avoid_what_is_taken() {
        let taken: BTreeSet<String> = ["ISSUE_TITLE".to_string()].into();
        assert_eq!(
            var_name("github.event.issue.title", &taken, ""),
            "ISSUE_TITLE_2"
        );
        assert_eq!(
            var_name("github.head_ref", &BTreeSet::new(), "echo $HEAD_REF"),
            "HEAD_REF_2"
        );
        assert_eq!(
            var_name("github.head_ref", &BTreeSet::new(), "echo $HEAD_REFS"),
            "HEAD_REF"
        );
        assert_eq!(
            var_name("inputs.version", &BTreeSet::new(), ""),
            "INPUTS_VERSION"
        );
        assert_eq!(
            var_name("github.event.commits.*.message", &BTreeSet::new(), ""),
            "COMMITS_MESSAGE"
        );
    }

    #[test]
    fn values_that_plain_yaml_would_misread_are_quoted() {
        assert_eq!(yaml_value("${{ inputs.a }}"), "${{ inputs.a }}");
        assert_eq!(
            yaml_value("${{ inputs.a || 'x: y' }}"),
            "\"${{ inputs.a || 'x: y' }}\""
        );
    }
}
