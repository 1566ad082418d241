//! What an audit returns ([`Hit`]) before it becomes a report finding, and the credentials to
//! mask wherever a file's lines are shown.

use super::codes::HardenCode;
use super::input::{Input, Seg};
use crate::report::{Finding, Severity};

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
