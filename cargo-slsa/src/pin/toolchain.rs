//! `toolchain-unpinned`: the workspace must name one exact toolchain in rust-toolchain.toml.

use std::path::Path;

use anyhow::Result;

use super::cfg::ToolchainWant;
use super::codes::PinCode;
use super::{Edit, Planned};
use crate::report::Finding;
use crate::workspace::toolchain::{self, ToolchainFile};

/// Check the toolchain file at `root`. `active` gives the active rustc's exact channel when it
/// is a stable release (asked only when a finding needs it: for the fix, or to compare with
/// `--toolchain` without a value).
pub(super) fn check(
    root: &Path,
    want: &ToolchainWant,
    active: &dyn Fn() -> Result<Option<String>>,
) -> Result<Option<Planned>> {
    let file = ToolchainFile::find(root)?;
    let needs_active = match (&file, want) {
        (_, ToolchainWant::Exact(_)) => false,
        (_, ToolchainWant::Active) => true,
        (None, ToolchainWant::AnyExact) => true,
        (Some(f), ToolchainWant::AnyExact) => {
            !f.channel.as_deref().is_some_and(toolchain::is_exact)
        }
    };
    let target: Option<String> = match want {
        ToolchainWant::Exact(v) => Some(v.clone()),
        _ if needs_active => active()?,
        _ => None,
    };
    let no_target_fix = "pass --toolchain VERSION (the active rustc is not a stable release)";
    let Some(file) = file else {
        let path = root.join("rust-toolchain.toml");
        let mut finding = Finding::new(
            PinCode::ToolchainUnpinned.rule(),
            "no rust-toolchain.toml: builds use whatever toolchain the machine has",
        )
        .at(&path, None, None);
        let edit = match &target {
            Some(v) => {
                finding =
                    finding.with_fix(format!("create rust-toolchain.toml with channel = \"{v}\""));
                Some(Edit::Toolchain {
                    file: path,
                    content: toolchain::new_file(v),
                    what: format!("created with channel = \"{v}\""),
                })
            }
            None => {
                finding = finding.with_fix(no_target_fix);
                None
            }
        };
        return Ok(Some(Planned { finding, edit }));
    };

    let channel = file.channel.as_deref();
    let message = match (channel, want) {
        (None, _) => "rust-toolchain file names no channel".to_string(),
        (Some(c), _) if !toolchain::is_exact(c) => {
            format!("toolchain channel `{c}` is not an exact version")
        }
        (Some(c), ToolchainWant::Exact(v)) if c != v => {
            format!("toolchain is pinned to `{c}`, but `{v}` is required")
        }
        (Some(c), ToolchainWant::Active) if Some(c) != target.as_deref() => match &target {
            Some(v) => format!("toolchain is pinned to `{c}`, but the active rustc is `{v}`"),
            None => format!(
                "toolchain is pinned to `{c}`, but the active rustc is not a stable release"
            ),
        },
        _ => return Ok(None),
    };
    let mut finding = Finding::new(PinCode::ToolchainUnpinned.rule(), message).at(
        &file.path,
        Some(file.line),
        crate::workspace::line_text(&file.src, file.line),
    );
    let edit = match &target {
        Some(v) => {
            finding = finding.with_fix(format!("channel = \"{v}\""));
            Some(Edit::Toolchain {
                file: file.path.clone(),
                content: file.with_channel(v)?,
                what: format!(
                    "pinned the toolchain to \"{v}\" (was {})",
                    channel
                        .map(|c| format!("\"{c}\""))
                        .unwrap_or_else(|| "unset".into())
                ),
            })
        }
        None => {
            finding = finding.with_fix(no_target_fix);
            None
        }
    };
    Ok(Some(Planned { finding, edit }))
}
