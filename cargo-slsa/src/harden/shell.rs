//! Shell scripts as the audits read them: `run:` scripts split into simple commands with their
//! byte offsets, each command's program and words, and which cargo invocations resolve without
//! `--locked`.

use super::input::Input;
use super::walk;

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
