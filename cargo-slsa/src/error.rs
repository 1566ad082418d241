//! Errors that carry a location, so every "bad input" message says which file and line.
//!
//! Callers mostly use `anyhow`; an [`InputError`] inside the chain is what makes the top-level
//! message start with `path:line:col`. Every `Err` leaving [`crate::run`] exits with code 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// Malformed or unacceptable input at a known place in a file.
#[derive(Debug, thiserror::Error)]
pub struct InputError {
    /// The offending file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong and, where possible, what to do about it.
    pub message: String,
}

impl InputError {
    /// An error at `file:line:column`.
    pub fn at(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        column: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            file: file.into(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML parse error, located by its byte span in `src`.
    pub fn toml(file: &Path, src: &str, err: &toml_edit::TomlError) -> Self {
        let (line, column) = match err.span() {
            Some(span) => {
                let (l, c) = crate::text::line_col(src, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        // toml_edit's Display repeats the position and a snippet; the message alone is enough here
        // because we print our own `file:line:col` prefix.
        InputError::at(file, line, column, err.message().trim().to_string())
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}
