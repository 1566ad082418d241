//! `source-not-allowed`: every locked package's registry or git host must be allow-listed.

use std::collections::BTreeMap;

use super::Planned;
use super::cfg::Policy;
use super::codes::PinCode;
use crate::report::Finding;
use crate::workspace::Lockfile;

/// One finding per disallowed source, located at its first `source =` line in Cargo.lock.
pub(super) fn check(lock: &Lockfile, policy: &Policy) -> Vec<Planned> {
    let mut by_source: BTreeMap<&str, Vec<&crate::workspace::LockPackage>> = BTreeMap::new();
    for p in &lock.packages {
        if let Some(src) = p.source.as_deref()
            && !policy.source_allowed(src)
        {
            by_source.entry(src_key(src)).or_default().push(p);
        }
    }
    by_source
        .into_iter()
        .map(|(source, pkgs)| {
            const SHOWN: usize = 5;
            let mut names: Vec<String> = pkgs
                .iter()
                .take(SHOWN)
                .map(|p| format!("{} {}", p.name, p.version))
                .collect();
            if pkgs.len() > SHOWN {
                names.push(format!("and {} more", pkgs.len() - SHOWN));
            }
            let first = pkgs[0];
            let line = first.source_line.unwrap_or(first.line);
            let finding = Finding::new(
                PinCode::SourceNotAllowed.rule(),
                format!(
                    "`{source}` is not an allowed source (used by {})",
                    names.join(", ")
                ),
            )
            .at(
                &lock.path,
                Some(line),
                crate::workspace::line_text(&lock.src, line),
            )
            .with_fix(format!(
                "if you trust it, add \"{}\" to allowed-sources in [workspace.metadata.slsa.pin]; otherwise depend on an allowed source",
                super::cfg::normalize_url(source)
            ));
            Planned {
                finding,
                edit: None,
            }
        })
        .collect()
}

/// Group git sources by repository (the commit and reference differ per package).
fn src_key(source: &str) -> &str {
    source.split(['?', '#']).next().unwrap_or(source)
}
