//! Findings, changes and reports — and the one place that renders them.
//!
//! Subcommands return a [`Report`]: [`Finding`]s (problems, each with a stable kebab-case code),
//! [`Change`]s (what was written) and a command-specific summary. The renderers in this module turn
//! it into human text, JSON, SARIF 2.1.0 or GitHub annotations; nothing else in the crate prints.

pub mod config_ignore;
mod github;
mod human;
mod json;
mod sarif;
pub mod suppress;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Ctx;

/// How bad a finding is. Ordered: `Note < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Note,
    /// Should be looked at; fails only with `--deny warnings`.
    Warning,
    /// Fails the check.
    Error,
}

impl Severity {
    /// The lowercase name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Output format, chosen once by `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text with file:line and a snippet; colour on a terminal.
    Human,
    /// One JSON object: `{"version":1,"command",…}`.
    Json,
    /// SARIF 2.1.0, one rule per finding code.
    Sarif,
    /// GitHub Actions workflow commands, plus a job summary when `GITHUB_STEP_SUMMARY` is set.
    Github,
}

/// A finding code's static description: the SARIF rule and the `--help` text come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable kebab-case identifier (JSON `code`, SARIF `ruleId`).
    pub code: &'static str,
    /// Default severity of findings with this code.
    pub severity: Severity,
    /// One line saying what the code means.
    pub description: &'static str,
}

/// Declare a subcommand's finding codes: an enum whose variants map to a kebab-case code, a
/// default severity and a one-line description. Codes are stable API.
#[macro_export]
macro_rules! finding_codes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[doc = $doc:literal])* $variant:ident => ($code:literal, $sev:ident, $desc:literal) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl $name {
            /// Every code, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The static rule (code, severity, description) of this code.
            pub fn rule(self) -> $crate::report::Rule {
                match self {
                    $( $name::$variant => $crate::report::Rule {
                        code: $code,
                        severity: $crate::report::Severity::$sev,
                        description: $desc,
                    }, )*
                }
            }

            /// The kebab-case code.
            pub fn as_str(self) -> &'static str {
                self.rule().code
            }

            /// Rules for every code, for SARIF.
            pub fn rules() -> Vec<$crate::report::Rule> {
                Self::ALL.iter().map(|c| c.rule()).collect()
            }
        }
    };
}

/// The finding of input that could not be read or a part that could not run (exit 2); shared by
/// every command that goes on past one bad input.
pub const INPUT_ERROR: Rule = Rule {
    code: "input-error",
    severity: Severity::Error,
    description: "A file could not be read or parsed, or a part could not run; everything else was still checked, and the run exits 2.",
};

/// A finding a reviewer accepted, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    /// The finding as it would have been reported.
    pub finding: Finding,
    /// `None` for an ignore comment beside it; the configuration entry's reason otherwise.
    pub reason: Option<String>,
}

/// One problem found: what, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, e.g. `git-unpinned`.
    pub code: &'static str,
    /// Severity of this occurrence.
    pub severity: Severity,
    /// The file it is in (absolute; rendered relative to the working directory).
    pub file: Option<PathBuf>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it (or what `pin` without `--check` would do).
    pub fix: Option<String>,
    /// The text of `line`, shown by the human renderer.
    pub snippet: Option<String>,
}

impl Finding {
    /// A finding with the rule's default severity and no location yet.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Finding {
            code: rule.code,
            severity: rule.severity,
            file: None,
            line: None,
            message: message.into(),
            fix: None,
            snippet: None,
        }
    }

    /// Locate the finding at `file:line`, with the line's text as snippet.
    pub fn at(mut self, file: &Path, line: Option<usize>, snippet: Option<&str>) -> Self {
        self.file = Some(file.to_path_buf());
        self.line = line;
        self.snippet = snippet.map(|s| s.trim_end().to_string());
        self
    }

    /// Attach the fix text.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// One change written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The file written.
    pub file: PathBuf,
    /// What changed, in a sentence.
    pub description: String,
}

/// A command's result: findings, changes, and command-specific summary data.
#[derive(Debug, Clone)]
pub struct Report {
    /// The subcommand name (`pin`, …).
    pub command: &'static str,
    /// Every rule the command can report (SARIF lists them all).
    pub rules: Vec<Rule>,
    /// Problems, in a stable order.
    pub findings: Vec<Finding>,
    /// Files written.
    pub changes: Vec<Change>,
    /// Command-specific data, merged into JSON `summary`.
    pub summary: serde_json::Map<String, serde_json::Value>,
    /// Things the user should know that are not findings (a skipped check, a recovery).
    pub notes: Vec<String>,
    /// Findings at or above this severity fail the run.
    pub deny: Severity,
    /// Findings an ignore comment or configuration entry accepted ([`suppress`],
    /// [`config_ignore`]): not counted, not failing, listed with `-v`, in JSON and in SARIF
    /// (with their suppression).
    pub suppressed: Vec<Suppressed>,
    /// A dry run's unified diff of what it would write (empty otherwise): printed before the
    /// findings in human output, `summary.diff` in JSON.
    pub diff: String,
}

impl Report {
    /// An empty report for `command` with its rules.
    pub fn new(command: &'static str, rules: Vec<Rule>) -> Self {
        Report {
            command,
            rules,
            findings: Vec::new(),
            changes: Vec::new(),
            summary: serde_json::Map::new(),
            notes: Vec::new(),
            deny: Severity::Error,
            suppressed: Vec::new(),
            diff: String::new(),
        }
    }

    /// Add `rule` to the report's rules unless it is there.
    pub fn add_rule(&mut self, rule: Rule) {
        if !self.rules.iter().any(|r| r.code == rule.code) {
            self.rules.push(rule);
        }
    }

    /// Record that something could not be read or run (a broken file among good ones, a part of
    /// `check` without its data): an `input-error` finding at `file:line`, reported with the
    /// rest, and the run exits 2 ([`Report::incomplete`]) — what could not be looked at never
    /// passes.
    pub fn input_error(
        &mut self,
        file: Option<&Path>,
        line: Option<usize>,
        message: impl Into<String>,
    ) {
        self.add_rule(INPUT_ERROR);
        let mut f = Finding::new(INPUT_ERROR, message);
        if let Some(file) = file {
            f = f.at(file, line, None);
        }
        self.findings.push(f);
    }

    /// An `anyhow` error as [`Report::input_error`], located when it carries an
    /// [`crate::error::InputError`].
    pub fn input_error_from(&mut self, context: &str, e: &anyhow::Error) {
        match e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::error::InputError>())
        {
            Some(ie) => {
                self.input_error(Some(&ie.file), ie.line, format!("{context}{}", ie.message))
            }
            None => self.input_error(None, None, format!("{context}{e:#}")),
        }
    }

    /// Whether something could not be checked (an `input-error` finding): exit 2.
    pub fn incomplete(&self) -> bool {
        self.findings.iter().any(|f| f.code == INPUT_ERROR.code)
    }

    /// Whether a finding at or above the deny level remains.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.severity >= self.deny)
    }

    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Sort findings by file, line, code — stable output for diffs and snapshots.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.line, a.code, &a.message).cmp(&(&b.file, b.line, b.code, &b.message))
        });
    }
}

/// Render `report` in the context's format to `out` (and the GitHub job summary, when asked).
pub fn render(report: &Report, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
    let paths = PathStyle { cwd: &ctx.cwd };
    match ctx.format {
        Format::Human => human::render(
            report,
            &paths,
            ctx.color_enabled,
            ctx.quiet,
            ctx.verbose > 0,
            out,
        )?,
        Format::Json => json::render(report, &paths, out)?,
        Format::Sarif => sarif::render(report, &paths, out)?,
        Format::Github => github::render(report, &paths, out)?,
    }
    out.flush()?;
    Ok(())
}

/// Render `report` in `format` to a string, paths shown relative to `cwd`, without side effects
/// (GitHub format: the annotations only). For embedders such as the GitHub Action.
pub fn render_to_string(report: &Report, format: Format, cwd: &Path) -> anyhow::Result<String> {
    let paths = PathStyle { cwd };
    let mut out = Vec::new();
    match format {
        Format::Human => human::render(report, &paths, false, false, false, &mut out)?,
        Format::Json => json::render(report, &paths, &mut out)?,
        Format::Sarif => sarif::render(report, &paths, &mut out)?,
        Format::Github => out.extend_from_slice(github::annotations(report, &paths).as_bytes()),
    }
    Ok(String::from_utf8(out)?)
}

/// The GitHub job-summary markdown of `report`, paths relative to `cwd`.
pub fn summary_markdown(report: &Report, cwd: &Path) -> String {
    github::summary_markdown(report, &PathStyle { cwd })
}

/// How file paths are shown: relative to the working directory when below it, else absolute;
/// always with `/` so SARIF and GitHub get portable paths.
pub(crate) struct PathStyle<'a> {
    cwd: &'a Path,
}

impl PathStyle<'_> {
    pub(crate) fn show(&self, path: &Path) -> String {
        let shown = path.strip_prefix(self.cwd).unwrap_or(path);
        let s = shown.to_string_lossy().replace('\\', "/");
        if s.is_empty() { ".".to_string() } else { s }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    crate::finding_codes! {
        /// Codes used by the renderer tests.
        pub enum TestCode {
            /// A problem.
            Bad => ("bad-thing", Error, "Something is bad."),
            /// A smell.
            Smell => ("smelly-thing", Warning, "Something smells."),
        }
    }

    pub(crate) fn sample(cwd: &Path) -> Report {
        let mut r = Report::new("pin", TestCode::rules());
        r.findings.push(
            Finding::new(TestCode::Bad.rule(), "dependency `foo` follows a branch")
                .at(
                    &cwd.join("Cargo.toml"),
                    Some(7),
                    Some("foo = { git = \"u\", branch = \"main\" }"),
                )
                .with_fix("rev = \"0123\""),
        );
        r.findings.push(
            Finding::new(
                TestCode::Smell.rule(),
                "a message with %, a comma, and\na newline",
            )
            .at(&cwd.join("sub dir/Cargo.lock"), None, None),
        );
        r.changes.push(Change {
            file: cwd.join("rust-toolchain.toml"),
            description: "pinned the toolchain to 1.95.0".into(),
        });
        r.summary.insert("fixed".into(), serde_json::json!(1));
        r.notes.push("a skipped check".into());
        r
    }

    #[test]
    fn codes_macro_maps_variants() {
        assert_eq!(TestCode::Bad.as_str(), "bad-thing");
        assert_eq!(TestCode::Smell.rule().severity, Severity::Warning);
        assert_eq!(TestCode::rules().len(), TestCode::ALL.len());
    }

    #[test]
    fn failed_respects_deny_level() {
        let cwd = Path::new("/w");
        let mut r = sample(cwd);
        assert!(r.failed());
        r.findings.retain(|f| f.severity < Severity::Error);
        assert!(!r.failed());
        r.deny = Severity::Warning;
        assert!(r.failed());
    }

    #[test]
    fn paths_are_relative_to_cwd_with_forward_slashes() {
        let p = PathStyle {
            cwd: Path::new("/w"),
        };
        assert_eq!(p.show(Path::new("/w/a/Cargo.toml")), "a/Cargo.toml");
        assert_eq!(p.show(Path::new("/elsewhere/x")), "/elsewhere/x");
    }
}
