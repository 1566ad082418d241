//! The toolchain a workspace builds with: its `rust-toolchain.toml` (or legacy `rust-toolchain`)
//! file and the active `rustc`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow};
use toml_edit::DocumentMut;

use super::line_col;
use crate::error::InputError;

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `[toolchain]` TOML.
    Toml,
    /// A legacy `rust-toolchain` holding just the channel name.
    Plain,
}

/// A toolchain file found at the workspace root.
#[derive(Debug, Clone)]
pub struct ToolchainFile {
    /// Its path.
    pub path: PathBuf,
    /// Its text.
    pub src: String,
    /// TOML or plain.
    pub format: FileFormat,
    /// `toolchain.channel` (or the plain content).
    pub channel: Option<String>,
    /// Line of the channel (1 for plain files, the `[toolchain]` header when channel is absent).
    pub line: usize,
}

impl ToolchainFile {
    /// Look for the file rustup would use in `root`: `rust-toolchain` wins over
    /// `rust-toolchain.toml` when both exist, as rustup does.
    pub fn find(root: &Path) -> Result<Option<ToolchainFile>> {
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            let path = root.join(name);
            if path.is_file() {
                let src = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                return ToolchainFile::parse(&path, src).map(Some);
            }
        }
        Ok(None)
    }

    /// Parse toolchain-file text.
    pub fn parse(path: &Path, src: String) -> Result<ToolchainFile> {
        let trimmed = src.trim();
        let looks_toml = path.extension().is_some_and(|e| e == "toml")
            || trimmed.contains('[')
            || trimmed.contains('=');
        if !looks_toml {
            let channel = (!trimmed.is_empty()).then(|| trimmed.to_string());
            return Ok(ToolchainFile {
                path: path.to_path_buf(),
                src,
                format: FileFormat::Plain,
                channel,
                line: 1,
            });
        }
        let doc = toml_edit::Document::parse(src.as_str())
            .map_err(|e| InputError::toml(path, &src, &e))?;
        let table = doc.get("toolchain");
        let channel_item = table.and_then(|t| t.get("channel"));
        let channel = match channel_item {
            Some(c) => Some(
                c.as_str()
                    .ok_or_else(|| {
                        InputError::at(
                            path,
                            c.span().map(|s| line_col(&src, s.start).0),
                            None,
                            "`toolchain.channel` must be a string",
                        )
                    })?
                    .to_string(),
            ),
            None => None,
        };
        let span = channel_item
            .and_then(|c| c.span())
            .or_else(|| table.and_then(|t| t.span()));
        let line = span.map(|s| line_col(&src, s.start).0).unwrap_or(1);
        Ok(ToolchainFile {
            path: path.to_path_buf(),
            src: src.clone(),
            format: FileFormat::Toml,
            channel,
            line,
        })
    }

    /// The file's text with the channel set to `channel`; every other key and comment is kept.
    pub fn with_channel(&self, channel: &str) -> Result<String> {
        match self.format {
            FileFormat::Plain => Ok(format!("{channel}\n")),
            FileFormat::Toml => {
                let mut doc: DocumentMut = self
                    .src
                    .parse()
                    .map_err(|e| InputError::toml(&self.path, &self.src, &e))?;
                let toolchain = doc
                    .entry("toolchain")
                    .or_insert_with(toml_edit::table)
                    .as_table_like_mut()
                    .ok_or_else(|| {
                        InputError::at(&self.path, None, None, "`toolchain` must be a table")
                    })?;
                match toolchain
                    .get_mut("channel")
                    .and_then(toml_edit::Item::as_value_mut)
                {
                    Some(v) => {
                        let decor = v.decor().clone();
                        *v = toml_edit::Value::from(channel);
                        *v.decor_mut() = decor;
                    }
                    None => {
                        toolchain.insert("channel", toml_edit::value(channel));
                    }
                }
                Ok(doc.to_string())
            }
        }
    }
}

/// Content of a new `rust-toolchain.toml` pinned to `channel`.
pub fn new_file(channel: &str) -> String {
    format!("[toolchain]\nchannel = \"{channel}\"\n")
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| all_digits(p))
}

fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| all_digits(p))
}

/// Whether a channel names one exact toolchain: `1.95.0`, `1.96.0-beta.2`,
/// `nightly-2026-01-01` (each optionally followed by a host triple).
pub fn is_exact(channel: &str) -> bool {
    let channel = channel.trim();
    let (head, rest) = match channel.split_once('-') {
        Some((h, r)) => (h, Some(r)),
        None => (channel, None),
    };
    if is_version(head) {
        return match rest {
            None => true,
            Some(r) => {
                // `-beta`, `-beta.N`, or a host triple (which has at least two dashes).
                r == "beta"
                    || r.strip_prefix("beta.").is_some_and(all_digits)
                    || r.split('-').count() >= 3
            }
        };
    }
    if matches!(head, "stable" | "beta" | "nightly")
        && let Some(r) = rest
    {
        return r.get(..10).is_some_and(is_date) && (r.len() == 10 || r.as_bytes()[10] == b'-');
    }
    false
}

/// The active `rustc` in `dir` (honouring `$RUSTC` like cargo): its `release` line and, for a
/// stable release, the exact channel that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rustc {
    /// e.g. `1.95.0` or `1.97.0-nightly`.
    pub release: String,
    /// The exact toolchain name for a stable release.
    pub exact_channel: Option<String>,
}

/// Ask the active rustc for its version.
pub fn active_rustc(dir: &Path) -> Result<Rustc> {
    let program = std::env::var_os("RUSTC")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "rustc".into());
    let out = Command::new(&program)
        .arg("-vV")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run `{} -vV`: {e}", program.to_string_lossy()))?;
    if !out.status.success() {
        return Err(anyhow!(
            "`{} -vV` failed: {}",
            program.to_string_lossy(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    parse_rustc_vv(&text).ok_or_else(|| anyhow!("`rustc -vV` printed no release line:\n{text}"))
}

fn parse_rustc_vv(text: &str) -> Option<Rustc> {
    let release = text
        .lines()
        .find_map(|l| l.strip_prefix("release: "))?
        .trim()
        .to_string();
    let exact_channel = is_version(&release).then(|| release.clone());
    Some(Rustc {
        release,
        exact_channel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_channels() {
        for ok in [
            "1.95.0",
            "1.96.0-beta",
            "1.96.0-beta.2",
            "nightly-2026-01-01",
            "stable-2026-01-01",
            "1.95.0-x86_64-unknown-linux-gnu",
            "nightly-2026-01-01-x86_64-unknown-linux-gnu",
        ] {
            assert!(is_exact(ok), "{ok}");
        }
        for not in [
            "stable",
            "beta",
            "nightly",
            "1.95",
            "1",
            "",
            "nightly-2026",
            "1.95.x",
            "my-toolchain",
        ] {
            assert!(!is_exact(not), "{not}");
        }
    }

    #[test]
    fn parses_rustc_versions() {
        let stable = parse_rustc_vv("rustc 1.95.0 (x)\nbinary: rustc\nrelease: 1.95.0\n");
        assert_eq!(
            stable,
            Some(Rustc {
                release: "1.95.0".into(),
                exact_channel: Some("1.95.0".into())
            })
        );
        let nightly = parse_rustc_vv("release: 1.97.0-nightly\n").expect("parses");
        assert_eq!(nightly.exact_channel, None);
    }

    #[test]
    fn channel_edits_keep_the_rest() -> Result<()> {
        let src = "# pinned for CI\n[toolchain]\nchannel = \"stable\" # moving\ncomponents = [\"clippy\"]\ntargets = [\"wasm32-unknown-unknown\"]\n";
        let f = ToolchainFile::parse(Path::new("/w/rust-toolchain.toml"), src.into())?;
        assert_eq!(f.channel.as_deref(), Some("stable"));
        assert_eq!(f.line, 3);
        assert_eq!(
            f.with_channel("1.95.0")?,
            src.replace("\"stable\"", "\"1.95.0\"")
        );
        let plain = ToolchainFile::parse(Path::new("/w/rust-toolchain"), "stable\n".into())?;
        assert_eq!(plain.format, FileFormat::Plain);
        assert_eq!(plain.with_channel("1.95.0")?, "1.95.0\n");
        let no_channel = ToolchainFile::parse(
            Path::new("/w/rust-toolchain.toml"),
            "[toolchain]\ncomponents = [\"rustfmt\"]\n".into(),
        )?;
        assert_eq!(no_channel.channel, None);
        assert_eq!(
            no_channel.with_channel("1.95.0")?,
            "[toolchain]\ncomponents = [\"rustfmt\"]\nchannel = \"1.95.0\"\n"
        );
        Ok(())
    }
}
