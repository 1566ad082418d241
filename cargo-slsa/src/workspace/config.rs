//! `[workspace.metadata.slsa]` — or `[package.metadata.slsa]` in a single-package root — read
//! from the root manifest. Each subcommand owns its section (`[workspace.metadata.slsa.pin]`) and
//! deserializes it into its own `cfg.rs` type; unknown keys are errors at file:line, so a typo
//! never silently disables a policy.

use std::path::PathBuf;

use anyhow::Result;
use serde::de::{DeserializeOwned, IntoDeserializer};

use super::Manifest;
use crate::error::InputError;

/// The slsa configuration table of the root manifest.
#[derive(Debug, Clone, Default)]
pub struct Config {
    file: PathBuf,
    src: String,
    /// `workspace.metadata.slsa` or `package.metadata.slsa`.
    prefix: &'static str,
    table: Option<toml_edit::Item>,
}

impl Config {
    /// Read the configuration of the root manifest (absent is fine: every key has a default).
    pub fn from_root(root: &Manifest) -> Result<Config> {
        let doc = root.doc.as_table();
        let find = |outer: &str| {
            doc.get(outer)
                .and_then(|w| w.get("metadata"))
                .and_then(|m| m.get("slsa"))
                .cloned()
        };
        let (prefix, table) = match find("workspace") {
            Some(t) => ("workspace.metadata.slsa", Some(t)),
            None => ("package.metadata.slsa", find("package")),
        };
        if let Some(t) = &table
            && !t.is_table_like()
        {
            return Err(InputError::at(
                &root.path,
                root.line_of(t.span()),
                None,
                format!("`{prefix}` must be a table"),
            )
            .into());
        }
        Ok(Config {
            file: root.path.clone(),
            src: root.src.clone(),
            prefix,
            table,
        })
    }

    /// The manifest the configuration lives in.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// 1-based line of the `nth` (0-based) entry of `[<prefix>.<command>]` that holds the string
    /// `value` (in either quote style), searching from the section onwards and skipping comment
    /// lines — to point a finding at one entry of a deserialized section.
    pub fn entry_line(&self, command: &str, value: &str, nth: usize) -> Option<usize> {
        let header = format!("{}.{command}", self.prefix);
        let from = self.src.find(&header).unwrap_or(0);
        let quoted = [format!("\"{value}\""), format!("'{value}'")];
        let mut offset = from;
        let mut seen = 0;
        for line in self.src[from..].split_inclusive('\n') {
            let code = line.trim_start();
            if !code.starts_with('#') && quoted.iter().any(|q| line.contains(q.as_str())) {
                if seen == nth {
                    return Some(super::line_col(&self.src, offset).0);
                }
                seen += 1;
            }
            offset += line.len();
        }
        None
    }

    /// `<prefix>.<command>` as written, for messages.
    pub fn section_name(&self, command: &str) -> String {
        format!("{}.{command}", self.prefix)
    }

    /// The text of the manifest the configuration lives in.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// 1-based line of each element of the array `[<prefix>.<command>] key` (inline array or
    /// `[[…]]` array of tables), in order; empty when the key is absent.
    pub fn array_lines(&self, command: &str, key: &str) -> Vec<Option<usize>> {
        let Some(item) = self
            .table
            .as_ref()
            .and_then(|t| t.get(command))
            .and_then(|c| c.get(key))
        else {
            return Vec::new();
        };
        let line = |span: Option<std::ops::Range<usize>>| {
            span.map(|s| super::line_col(&self.src, s.start).0)
        };
        match item {
            toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
                a.iter().map(|v| line(v.span())).collect()
            }
            toml_edit::Item::ArrayOfTables(a) => a.iter().map(|t| line(t.span())).collect(),
            _ => Vec::new(),
        }
    }

    /// Deserialize the section of `command` (`[<prefix>.<command>]`); default when absent.
    pub fn section<T: DeserializeOwned + Default>(&self, command: &str) -> Result<T> {
        let Some(item) = self.table.as_ref().and_then(|t| t.get(command)) else {
            return Ok(T::default());
        };
        let section_line = item.span().map(|s| super::line_col(&self.src, s.start).0);
        let value = match item.clone().into_value() {
            Ok(v) => v,
            Err(_) => {
                return Err(InputError::at(
                    &self.file,
                    section_line,
                    None,
                    format!("`{}.{command}` must be a table", self.prefix),
                )
                .into());
            }
        };
        T::deserialize(value.into_deserializer()).map_err(|e| {
            // Point at the offending key when serde names it (`unknown field `x``), else at the
            // section itself.
            let named_key = e
                .message()
                .split('`')
                .nth(1)
                .and_then(|k| item.as_table_like()?.key(k)?.span());
            let line = named_key
                .map(|s| super::line_col(&self.src, s.start).0)
                .or(section_line);
            InputError::at(
                &self.file,
                line,
                None,
                format!("in `[{}.{command}]`: {}", self.prefix, e.message().trim()),
            )
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Pin {
        #[serde(default)]
        allowed_sources: Vec<String>,
        #[serde(default)]
        exact: bool,
    }

    fn config(src: &str) -> Config {
        let m = Manifest::parse(Path::new("/w/Cargo.toml"), src.to_string()).expect("parses");
        Config::from_root(&m).expect("config")
    }

    #[test]
    fn reads_workspace_section() -> Result<()> {
        let c = config(
            "[workspace]\n[workspace.metadata.slsa.pin]\nallowed-sources = [\"x\"]\nexact = true\n",
        );
        let p: Pin = c.section("pin")?;
        assert_eq!(
            p,
            Pin {
                allowed_sources: vec!["x".into()],
                exact: true
            }
        );
        let absent: Pin = c.section("audit")?;
        assert_eq!(absent, Pin::default());
        Ok(())
    }

    #[test]
    fn reads_package_section_for_single_packages() -> Result<()> {
        let c = config("[package]\nname = \"a\"\n[package.metadata.slsa.pin]\nexact = true\n");
        let p: Pin = c.section("pin")?;
        assert!(p.exact);
        Ok(())
    }

    #[test]
    fn unknown_keys_are_located() {
        let c = config(
            "[workspace]\n\n[workspace.metadata.slsa.pin]\nexact = true\nallowed-source = []\n",
        );
        let err = c.section::<Pin>("pin").expect_err("typo");
        let msg = err.to_string();
        assert!(msg.starts_with("/w/Cargo.toml:5: "), "{msg}");
        assert!(msg.contains("allowed-source"), "{msg}");
    }
}
