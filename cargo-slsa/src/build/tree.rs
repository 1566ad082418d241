//! Clean copies of a source tree: what git knows of a work tree, or a commit exported.

use super::*;

/// Copy the source tree at `top` (the git top level, or the workspace root outside git) to
/// `dest`: with git, the files git knows about (tracked plus untracked-but-not-ignored) as they
/// are in the work tree; without git, everything but `target/` and `.git/`.
pub fn copy_clean_tree(top: &Path, dest: &Path, with_git: bool) -> Result<()> {
    let files: Vec<PathBuf> = if with_git {
        let out = Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(top)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| anyhow!("cannot run git ls-files: {e}"))?;
        if !out.status.success() {
            bail!(
                "git ls-files failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        out.stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .collect()
    } else {
        let mut v = Vec::new();
        walk(top, Path::new(""), &mut v)?;
        v
    };
    for rel in files {
        let from = top.join(&rel);
        let to = dest.join(&rel);
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            continue; // deleted in the work tree but still in the index
        };
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        if meta.file_type().is_symlink() {
            #[cfg(unix)]
            {
                let target = std::fs::read_link(&from)?;
                std::os::unix::fs::symlink(target, &to)
                    .with_context(|| format!("linking {}", to.display()))?;
            }
        } else if meta.is_file() {
            std::fs::copy(&from, &to)
                .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

pub(super) fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(root.join(rel))
        .with_context(|| format!("reading {}", root.join(rel).display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if rel.as_os_str().is_empty() && (name == "target" || name == ".git") {
            continue;
        }
        let path = rel.join(&name);
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether `rel` (relative to the git top level `top`) is tracked by git.
pub fn is_tracked(top: &Path, rel: &Path) -> bool {
    scrub(&mut Command::new("git"))
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(rel)
        .current_dir(top)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `s` is a full git object id (SHA-1 or SHA-256, lowercase hex).
pub fn is_commit_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Check out commit `commit` of the repository at `top` into `dest` (a fresh directory),
/// exactly as committed (no export-ignore or export-subst rewriting, unlike `git archive`),
/// using a throw-away index so the clone's own index and work tree are untouched.
pub fn export_commit(top: &Path, commit: &str, dest: &Path) -> Result<()> {
    if !is_commit_id(commit) {
        bail!("the recorded commit {commit:?} is not a full git commit id");
    }
    let index = dest.with_extension("index");
    let out = scrub(&mut Command::new("git"))
        .arg("--work-tree")
        .arg(dest)
        .args([
            "checkout",
            "--force",
            &format!("{commit}^{{commit}}"),
            "--",
            ".",
        ])
        .env("GIT_INDEX_FILE", &index)
        .current_dir(top)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run git checkout: {e}"))?;
    let _ = std::fs::remove_file(&index);
    if !out.status.success() {
        bail!(
            "cannot check out commit {commit} (is it in this clone? fetch it first): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
