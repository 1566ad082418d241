//! Where the source came from ([`Source`]): repository, commit, ref and whether the tree was
//! dirty, from git.

use super::*;

/// Where the source came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `git+https://host/owner/repo` (or `git+file:///…` without a remote); `None` outside git.
    pub repo: Option<String>,
    /// The ref built (`refs/heads/main`, `refs/tags/v1.0.0`), when known.
    pub git_ref: Option<String>,
    /// The commit.
    pub commit: Option<String>,
    /// Commit time (Unix seconds).
    pub commit_time: Option<i64>,
    /// Tracked files differ from the commit.
    pub dirty: bool,
    /// What `git status` lists (`M src/main.rs`, `?? notes.txt`), for messages.
    pub changed: Vec<String>,
    /// Tracked files git was told not to look at (`update-index --assume-unchanged` or
    /// `--skip-worktree`): `git status` cannot vouch for them, so they count as changes.
    pub unwatched: Vec<String>,
    /// The git work tree's top directory.
    pub toplevel: Option<PathBuf>,
}

impl Source {
    /// `git+URL@REF` (or `git+URL` without a ref).
    pub fn uri(&self) -> Option<String> {
        let repo = self.repo.as_ref()?;
        Some(match &self.git_ref {
            Some(r) => format!("{repo}@{r}"),
            None => repo.clone(),
        })
    }
}

pub(super) fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = scrub(&mut Command::new("git"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Normalise a git remote URL to `https://host/path` without `.git` (scp-like `git@host:o/r`
/// and `ssh://` forms included; credentials dropped).
pub fn normalize_repo_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let url = url.strip_prefix("git+").unwrap_or(url);
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return format!("file://{rest}");
        }
        // Credentials and ports live in the authority only (before the first '/').
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or(authority);
        let (scheme, host) = match scheme {
            // ssh and git URLs name a host we reach over https; their port is not the web's.
            "ssh" | "git" => ("https", host.split(':').next().unwrap_or(host)),
            s => (s, host),
        };
        return format!("{scheme}://{host}/{path}")
            .trim_end_matches('/')
            .to_string();
    }
    // scp-like: user@host:path
    if let Some((host, path)) = url.split_once(':')
        && !host.contains('/')
    {
        let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
        return format!("https://{host}/{}", path.trim_start_matches('/'));
    }
    url.to_string()
}

impl Source {
    /// Describe the source of `dir`: in GitHub Actions from `GITHUB_SERVER_URL`,
    /// `GITHUB_REPOSITORY`, `GITHUB_REF` and `GITHUB_SHA` (checked against HEAD), else from git.
    pub fn detect(dir: &Path) -> Source {
        let toplevel = git(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
        let Some(top) = toplevel.clone() else {
            return Source {
                repo: None,
                git_ref: None,
                commit: None,
                commit_time: None,
                dirty: false,
                changed: Vec::new(),
                unwatched: Vec::new(),
                toplevel: None,
            };
        };
        // Independent queries, side by side.
        let (commit, commit_time, status, origin, symbolic, tag, flags) = std::thread::scope(|s| {
            let q = |args: &'static [&'static str]| {
                let top = &top;
                s.spawn(move || git(top, args))
            };
            let handles = [
                q(&["rev-parse", "--verify", "-q", "HEAD"]),
                q(&["log", "-1", "--format=%ct", "HEAD"]),
                // Untracked files count: an untracked .cargo/config.toml or an include_bytes!
                // target changes the build as much as an edit does. An fsmonitor hook or the
                // untracked cache would let git answer from a cache: both off.
                q(&[
                    "-c",
                    "core.fsmonitor=false",
                    "-c",
                    "core.untrackedCache=false",
                    "status",
                    "--porcelain",
                    "--untracked-files=normal",
                    "--ignore-submodules=none",
                ]),
                q(&["remote", "get-url", "origin"]),
                q(&["symbolic-ref", "-q", "HEAD"]),
                q(&["describe", "--tags", "--exact-match", "HEAD"]),
                // Per-file flags: lowercase tags are assume-unchanged, `S` skip-worktree.
                q(&["ls-files", "-v", "-z"]),
            ];
            let mut r = handles.map(|h| h.join().ok().flatten());
            (
                r[0].take(),
                r[1].take().and_then(|t| t.parse::<i64>().ok()),
                r[2].take(),
                r[3].take(),
                r[4].take(),
                r[5].take(),
                r[6].take(),
            )
        });
        // Without the per-file flags, git cannot vouch for the tree.
        let flags_known = flags.is_some();
        let unwatched: Vec<String> = flags
            .unwrap_or_default()
            .split('\0')
            .filter_map(|entry| {
                let (tag, path) = entry.split_once(' ')?;
                (tag == "S" || tag.chars().all(|c| c.is_ascii_lowercase()))
                    .then(|| path.to_string())
            })
            .collect();
        // A status git could not give is not a clean one.
        let dirty = status.as_ref().map(|s| !s.is_empty()).unwrap_or(true)
            || !unwatched.is_empty()
            || !flags_known;
        let changed: Vec<String> = status
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        // A repository without a commit has no source to name: recorded as unknown, so no
        // policy on the source can pass.
        if commit.is_none() {
            return Source {
                repo: None,
                git_ref: None,
                commit: None,
                commit_time: None,
                dirty: true,
                changed,
                unwatched,
                toplevel: Some(top),
            };
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let in_actions = env("GITHUB_ACTIONS").as_deref() == Some("true");
        let (repo, git_ref) = match (
            in_actions,
            env("GITHUB_SERVER_URL"),
            env("GITHUB_REPOSITORY"),
        ) {
            (true, Some(server), Some(repository))
                if env("GITHUB_SHA").is_none() || env("GITHUB_SHA") == commit =>
            {
                (
                    Some(format!(
                        "git+{}/{}",
                        server.trim_end_matches('/'),
                        repository
                    )),
                    env("GITHUB_REF"),
                )
            }
            _ => {
                let repo = origin
                    .map(|u| format!("git+{}", normalize_repo_url(&u)))
                    .unwrap_or_else(|| format!("git+file://{}", top.display()));
                let git_ref = symbolic.or_else(|| tag.map(|t| format!("refs/tags/{t}")));
                (Some(repo), git_ref)
            }
        };
        Source {
            repo,
            git_ref,
            commit,
            commit_time,
            dirty,
            changed,
            unwatched,
            toplevel,
        }
    }
}
