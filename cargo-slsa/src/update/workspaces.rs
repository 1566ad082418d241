//! `--all-workspaces`: every workspace root of the repository.

use super::*;

/// Every workspace root under the git work tree: tracked `Cargo.toml` files with a
/// `[workspace]` table, and packages that no such workspace contains.
pub(super) fn discover_workspaces(ctx: &Ctx) -> Result<Vec<PathBuf>> {
    let top = crate::build::Source::detect(&ctx.cwd)
        .toplevel
        .ok_or_else(|| anyhow::anyhow!("--all-workspaces needs a git work tree"))?;
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z", "--", "Cargo.toml", "*/Cargo.toml"])
        .current_dir(&top)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run git ls-files: {e}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let mut roots = Vec::new();
    let mut packages = Vec::new();
    for rel in out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = top.join(String::from_utf8_lossy(rel).as_ref());
        // A malformed manifest is an input error at its line.
        let m = crate::workspace::Manifest::load(&path)?;
        if m.doc.get("workspace").is_some() {
            roots.push(path);
        } else if m.doc.get("package").is_some() {
            packages.push(path);
        }
    }
    // A package is its own workspace unless a workspace root above it exists (cargo's own
    // search, approximated by the directory tree: a package a root's `exclude` lists is not
    // found on its own — name it with --manifest-path).
    for p in packages {
        let inside = roots.iter().any(|r| {
            r.parent()
                .is_some_and(|d| p.parent().is_some_and(|pd| pd.starts_with(d)))
        });
        if !inside {
            roots.push(p);
        }
    }
    roots.sort();
    if roots.is_empty() {
        anyhow::bail!("no Cargo.toml is tracked in {}", top.display());
    }
    Ok(roots)
}
