//! `harden --fix`'s mechanical fixes, beside pinning: `persist-credentials: false` on every
//! `actions/checkout` that keeps the token on disk (`artipacked`), and `--locked` after every
//! cargo command that resolves without it (`cargo-unlocked`, only where a Cargo.lock is
//! committed). Each is a byte insertion into the original text — indentation copied from the
//! neighbouring keys, nothing else touched — and the result is re-parsed before it is written
//! (see `fix::verify`). Block-style YAML only: a flow-style step is left as it is.

use super::codes::HardenCode;
use super::fix::{Accepted, Edit};
use super::input::Input;
use super::shell::{run_script, shell_commands, unlocked_cargo_at};
use super::walk::{self, split_uses};

/// `persist-credentials: false` for each checkout without it; the routes of the steps changed.
pub(super) fn persist_credentials(
    input: &Input,
    accepted: &Accepted<'_>,
    descriptions: &mut Vec<String>,
) -> Vec<Edit> {
    let mut out = Vec::new();
    let steps = walk::steps(input);
    for (i, s) in steps.iter().enumerate() {
        let is_checkout = s
            .str("uses")
            .and_then(split_uses)
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case("actions/checkout"));
        if !is_checkout
            || s.with("persist-credentials").is_some()
            || accepted(HardenCode::Artipacked.as_str(), input.line(&s.route))
        {
            continue;
        }
        // A job that pushes with the persisted token would break: left for a person to decide
        // (the artipacked finding stays).
        let pushes_later = steps[i + 1..]
            .iter()
            .filter(|later| later.job == s.job)
            .any(|later| later.str("run").is_some_and(|r| r.contains("git push")));
        if pushes_later {
            continue;
        }
        let src = input.src();
        match s.value.get("with") {
            Some(w) if w.is_mapping() => {
                // Before the first key of the `with:` block, at its indentation.
                let Some((start, _)) = input.span(&s.at("with")) else {
                    continue;
                };
                if src[start..].starts_with('{') {
                    continue;
                }
                let line_start = src[..start].rfind('\n').map_or(0, |n| n + 1);
                if !src[line_start..start].chars().all(|c| c == ' ') {
                    continue;
                }
                out.push(Edit {
                    start,
                    end: start,
                    text: format!("persist-credentials: false\n{}", &src[line_start..start]),
                });
            }
            Some(_) => continue,
            None => {
                // A new `with:` block after the `uses:` line, at the step's key indentation.
                let Some((start, _)) = input.span(&s.at("uses")) else {
                    continue;
                };
                let line_start = src[..start].rfind('\n').map_or(0, |n| n + 1);
                let line = &src[line_start..];
                let Some(key_col) = line.find("uses:") else {
                    continue;
                };
                let prefix = &line[..key_col];
                if !prefix.chars().all(|c| c == ' ' || c == '-') || prefix.contains('{') {
                    continue;
                }
                let Some(nl) = src[start..].find('\n') else {
                    continue;
                };
                let indent = " ".repeat(key_col);
                out.push(Edit {
                    start: start + nl + 1,
                    end: start + nl + 1,
                    text: format!("{indent}with:\n{indent}  persist-credentials: false\n"),
                });
            }
        }
        descriptions.push(format!(
            "added `persist-credentials: false` to the checkout at line {}",
            input.line(&s.at("uses"))
        ));
    }
    out
}

/// ` --locked` after the subcommand of every cargo command that resolves without it.
pub(super) fn locked(
    input: &Input,
    accepted: &Accepted<'_>,
    descriptions: &mut Vec<String>,
) -> Vec<Edit> {
    let mut out = Vec::new();
    for s in walk::steps(input) {
        let Some((start, text)) = run_script(input, &s) else {
            continue;
        };
        for (offset, command) in shell_commands(text) {
            let Some((sub, at)) = unlocked_cargo_at(&text[offset..], &command) else {
                continue;
            };
            let pos = start + offset + at;
            if accepted(
                HardenCode::CargoUnlocked.as_str(),
                input.line_of_offset(pos),
            ) {
                continue;
            }
            out.push(Edit {
                start: pos,
                end: pos,
                text: " --locked".into(),
            });
            descriptions.push(format!(
                "added --locked to `cargo {sub}` at line {}",
                input.line_of_offset(pos)
            ));
        }
    }
    out
}
