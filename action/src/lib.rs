//! The GitHub Action's glue: reads the action inputs from the environment (`INPUT_*`, as the
//! composite `action.yml` passes them), runs the cargo-slsa library in-process, and speaks the
//! runner's file protocols:
//!
//! - `$GITHUB_OUTPUT`: `findings=N`, `sarif-file=PATH`, and `attestations` (the files `attest`
//!   wrote, one per line, relative to the workspace — ready for `upload-artifact`'s `path:`),
//!   appended in the runner's `key=value` and `key<<DELIMITER` forms;
//! - `$GITHUB_STEP_SUMMARY`: a markdown table of every finding (appended);
//! - stdout: `::error file=…,line=…::` annotations, capped at [`MAX_ANNOTATIONS`] (the runner
//!   shows only a few per step anyway) with a notice pointing at the SARIF file for the rest;
//! - the SARIF file (every finding), written atomically for `upload-sarif`.
//!
//! Exit code: 0, or 1 when the command failed by its own deny level (`--deny warnings`, or
//! `deny = "warnings"` in its configuration) or a finding is at or above `fail-on` (`error`,
//! `warning`; `never` never fails), or 2 when the inputs or the command are wrong (with an
//! `::error::` saying why). Paths are shown relative to `$GITHUB_WORKSPACE`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use cargo_slsa::report::{Format, Report, Severity};
use cargo_slsa::{Ctx, Produced, cli::Cli, fsx};
use clap::Parser;

/// At most this many annotations are printed; all findings are in the SARIF file.
pub const MAX_ANNOTATIONS: usize = 50;

/// The action's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub command: String,
    pub args: Vec<String>,
    pub working_directory: PathBuf,
    pub fail_on: Option<Severity>,
    pub sarif_file: Option<PathBuf>,
}

fn input<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(&format!("INPUT_{name}"))
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
}

impl Inputs {
    /// Read and check the inputs.
    pub fn from_env(env: &HashMap<String, String>, cwd: &Path) -> Result<Inputs> {
        let command = input(env, "COMMAND").unwrap_or("check").to_string();
        let args = split_args(input(env, "ARGS").unwrap_or(""))?;
        if args
            .iter()
            .any(|a| a == "--format" || a.starts_with("--format="))
        {
            bail!("`args` must not set --format: the action chooses the formats it needs");
        }
        let wd = input(env, "WORKING_DIRECTORY").unwrap_or(".");
        let working_directory: PathBuf = cwd
            .join(wd)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        if !working_directory.is_dir() {
            bail!("working-directory `{wd}` does not exist");
        }
        let fail_on = match input(env, "FAIL_ON").unwrap_or("error") {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "never" => None,
            other => bail!("fail-on must be error, warning or never (got `{other}`)"),
        };
        let sarif_file = match input(env, "SARIF_FILE") {
            Some("none") => None,
            Some(p) => Some(working_directory.join(p)),
            None => Some(working_directory.join("cargo-slsa.sarif")),
        };
        Ok(Inputs {
            command,
            args,
            working_directory,
            fail_on,
            sarif_file,
        })
    }
}

/// Split `args` like a shell would for plain words and single/double quotes (no expansion).
pub fn split_args(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                have = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    have = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if have || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        bail!("unterminated quote in `args`");
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Escape a workflow-command message.
fn escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("appending to {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Run the action; returns the process exit code.
pub fn run(env: &HashMap<String, String>, cwd: &Path, out: &mut dyn Write) -> i32 {
    match run_inner(env, cwd, out) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(
                out,
                "::error title=cargo slsa::{}",
                escape(&format!("{e:#}"))
            );
            2
        }
    }
}

fn run_inner(env: &HashMap<String, String>, cwd: &Path, out: &mut dyn Write) -> Result<i32> {
    let inputs = Inputs::from_env(env, cwd)?;
    // Paths in annotations and SARIF are relative to the repository root (where GitHub
    // resolves them), not to `working-directory`.
    let base = env
        .get("GITHUB_WORKSPACE")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cwd.to_path_buf());
    let mut argv = vec!["cargo-slsa".to_string(), inputs.command.clone()];
    argv.extend(inputs.args.iter().cloned());
    let cli = Cli::try_parse_from(&argv).map_err(|e| anyhow!("{}", e.to_string().trim()))?;
    let ctx = Ctx::in_dir(&cli, inputs.working_directory.clone());
    let report = match cargo_slsa::produce(&ctx, &cli.command)? {
        Produced::Report(r) => r,
        Produced::Document(bytes) => {
            // `sbom` without --output: the document is the result.
            out.write_all(&bytes)?;
            write_outputs(env, 0, None, &[])?;
            return Ok(0);
        }
    };

    // SARIF with every finding.
    let sarif = match &inputs.sarif_file {
        Some(path) => {
            let text = cargo_slsa::report::render_to_string(&report, Format::Sarif, &base)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            fsx::write_atomic(path, text.as_bytes())?;
            Some(path.clone())
        }
        None => None,
    };

    // Annotations, worst first, capped.
    let mut shown = report.clone();
    shown.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
    let hidden = shown.findings.len().saturating_sub(MAX_ANNOTATIONS);
    shown.findings.truncate(MAX_ANNOTATIONS);
    out.write_all(cargo_slsa::report::render_to_string(&shown, Format::Github, &base)?.as_bytes())?;
    if hidden > 0 {
        let where_ = sarif
            .as_ref()
            .map(|p| format!(" (all findings are in {})", p.display()))
            .unwrap_or_default();
        writeln!(
            out,
            "::notice::{}",
            escape(&format!("{hidden} more findings are not annotated{where_}"))
        )?;
    }

    if let Some(summary) = env.get("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        append(
            Path::new(summary),
            &cargo_slsa::report::summary_markdown(&report, &base),
        )?;
    }
    let attestations: Vec<String> = if report.command == "attest" {
        report
            .changes
            .iter()
            .map(|c| {
                c.file
                    .strip_prefix(&base)
                    .unwrap_or(&c.file)
                    .display()
                    .to_string()
            })
            .collect()
    } else {
        Vec::new()
    };
    write_outputs(env, report.findings.len(), sarif.as_deref(), &attestations)?;

    // One verdict for the step and the summary: the command's own (its deny level, from flags or
    // configuration) unless `fail-on` says never; `fail-on: warning` also fails on warnings.
    let failed = match inputs.fail_on {
        None => false,
        Some(level) => report.failed() || report.findings.iter().any(|f| f.severity >= level),
    };
    // Something that could not be checked fails the step like an input error (exit 2), unless
    // `fail-on: never`.
    if report.incomplete() && inputs.fail_on.is_some() {
        return Ok(2);
    }
    Ok(i32::from(failed))
}

fn write_outputs(
    env: &HashMap<String, String>,
    findings: usize,
    sarif: Option<&Path>,
    attestations: &[String],
) -> Result<()> {
    let Some(path) = env.get("GITHUB_OUTPUT").filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let sarif = sarif.map(|p| p.display().to_string()).unwrap_or_default();
    if sarif.contains('\n') || attestations.iter().any(|a| a.contains('\n')) {
        bail!("an output path contains a newline");
    }
    // A multi-line value uses the heredoc form with a delimiter that cannot occur in it.
    let mut delimiter = String::from("CARGO_SLSA_EOF");
    while attestations.iter().any(|a| a.contains(&delimiter)) {
        delimiter.push('_');
    }
    let mut text = format!("findings={findings}\nsarif-file={sarif}\nattestations<<{delimiter}\n");
    for a in attestations {
        text.push_str(a);
        text.push('\n');
    }
    text.push_str(&delimiter);
    text.push('\n');
    append(Path::new(path), &text)
}

/// The report type, re-exported for tests.
pub type ActionReport = Report;

#[cfg(test)]
mod tests;
