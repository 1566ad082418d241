//! `artipacked`: `actions/checkout` leaves the token in `.git/config` unless
//! `persist-credentials: false` — where a later artifact upload of the workspace ships it.
//!
//! As zizmor: per job (or per composite action), a vulnerable checkout is reported once; when
//! the job uploads the workspace itself (`path: .`, `./`, `..`, `${{ github.workspace }}`) each
//! (checkout, later upload) pair is reported, and checkouts not followed by such an upload are not.
//! An explicit `persist-credentials: true` or an expression is a deliberate choice and not reported.

use super::codes::HardenCode;
use super::hit::Hit;
use super::input::Input;
use super::walk::{self, StepRef, split_uses};
use crate::report::Severity;

fn action_is(step: &StepRef<'_>, name: &str) -> Option<String> {
    let (n, r) = split_uses(step.str("uses")?)?;
    n.eq_ignore_ascii_case(name).then(|| r.to_string())
}

fn dangerous_upload(step: &StepRef<'_>) -> bool {
    if action_is(step, "actions/upload-artifact").is_none() {
        return false;
    }
    let Some(path) = step.with("path") else {
        return false;
    };
    path.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| {
            matches!(l, "." | "./" | ".." | "../")
                || (l.starts_with("${{") && l.ends_with("}}") && l.contains("github.workspace"))
        })
}

/// Major version of a `vN…` ref, if it is one.
fn major(r: &str) -> Option<u32> {
    r.trim_start_matches('v').split('.').next()?.parse().ok()
}

pub fn artipacked(input: &Input) -> Vec<Hit> {
    let steps = walk::steps(input);
    // Group steps per job (an action's steps form one group).
    let mut groups: Vec<Vec<&StepRef<'_>>> = Vec::new();
    let mut last_job: Option<Option<&str>> = None;
    for s in &steps {
        if last_job != Some(s.job) {
            groups.push(Vec::new());
            last_job = Some(s.job);
        }
        if let Some(g) = groups.last_mut() {
            g.push(s);
        }
    }
    let mut out = Vec::new();
    for group in groups {
        let uploads: Vec<usize> = group
            .iter()
            .enumerate()
            .filter(|(_, s)| dangerous_upload(s))
            .map(|(i, _)| i)
            .collect();
        for (i, s) in group.iter().enumerate() {
            let Some(reference) = action_is(s, "actions/checkout") else {
                continue;
            };
            if s.value.get("with").and_then(|w| w.as_str()).is_some() {
                continue;
            }
            match s.with("persist-credentials").as_deref() {
                Some(v) if v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("true") => {
                    continue;
                }
                Some(v) if v.starts_with("${{") && v.ends_with("}}") => continue,
                _ => {}
            }
            // checkout v6 moved the credential out of .git/config: still present, less exposed.
            let severity = if major(&reference).is_some_and(|m| m >= 6) {
                Severity::Note
            } else {
                Severity::Warning
            };
            let line = input.line(&s.route);
            let hit = |why: &str| {
                Hit::new(
                    HardenCode::Artipacked,
                    line,
                    format!("actions/checkout keeps the token in the repository's git config (no `persist-credentials: false`){why}"),
                    "add `with: persist-credentials: false` (and give a token explicitly to the one step that pushes, if any)",
                )
                .severity(severity)
            };
            if uploads.is_empty() {
                out.push(hit(""));
            } else {
                for _ in uploads.iter().filter(|&&u| u > i) {
                    out.push(
                        hit(", and a later step uploads the workspace as an artifact")
                            .severity(Severity::Error),
                    );
                }
            }
        }
    }
    out
}
