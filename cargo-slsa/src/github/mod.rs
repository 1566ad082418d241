//! The GitHub API, through octocrab: a client for a base URL (github.com, GitHub Enterprise, or
//! a test server on loopback) with the token from the environment, and the few calls the
//! subcommands need. Calls are bounded by connect/read timeouts; octocrab retries transient
//! failures.
//!
//! Why octocrab: the maintained GitHub client for Rust (typed models, pagination, GHES base
//! URLs, retries); we use its generic `get` for the git-refs endpoints so annotated tags can be
//! dereferenced explicitly.
//!
//! Secrets: the token is read from `GITHUB_TOKEN` or `GH_TOKEN`, never from argv, and never
//! appears in messages (octocrab keeps it as a `SecretString`).

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// The token from the environment, if any.
pub fn token_from_env() -> Option<String> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .filter_map(|k| crate::secrets::get(k))
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty())
}

/// A blocking facade over octocrab (which is async) with its own small runtime.
pub struct GitHub {
    client: octocrab::Octocrab,
    runtime: tokio::runtime::Runtime,
}

/// What a ref resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The commit SHA.
    pub sha: String,
    /// `tag` or `branch`.
    pub kind: &'static str,
}

impl GitHub {
    /// A client for `api_url` authenticated with `token`.
    pub fn new(api_url: &str, token: String) -> Result<GitHub> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime for the GitHub client")?;
        let client = {
            let _guard = runtime.enter();
            octocrab::Octocrab::builder()
                .base_uri(api_url)
                .map_err(|e| anyhow!("invalid --github-api-url {api_url}: {e}"))?
                .personal_token(token)
                .set_connect_timeout(Some(Duration::from_secs(10)))
                .set_read_timeout(Some(Duration::from_secs(30)))
                // 403/429 wait for Retry-After or the rate-limit reset; 5xx and transport
                // errors are retried; at most three times each request.
                .add_retry_config(
                    octocrab::service::middleware::retry::RetryConfig::HandleRateLimits {
                        metrics: std::sync::Arc::new(
                            octocrab::service::middleware::retry::NoOpRateLimitMetrics,
                        ),
                        max_retries: 3,
                        min_wait_seconds: 1,
                        retry_on_forbidden: false,
                    },
                )
                .build()
                .map_err(|e| anyhow!("building the GitHub client: {e}"))?
        };
        Ok(GitHub { client, runtime })
    }

    fn get(&self, route: &str) -> Result<Option<Value>> {
        let res: std::result::Result<Value, octocrab::Error> =
            self.runtime.block_on(self.client.get(route, None::<&()>));
        match res {
            Ok(v) => Ok(Some(v)),
            Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 404 => {
                Ok(None)
            }
            Err(e) => Err(describe(e)).with_context(|| format!("GET {route}")),
        }
    }

    /// Run `call`; when GitHub keeps answering 5xx after octocrab's own immediate retries, try
    /// again after 1, 2 and 4 seconds (bounded backoff).
    fn with_backoff(
        &self,
        call: impl Fn() -> std::result::Result<Value, octocrab::Error>,
    ) -> std::result::Result<Value, octocrab::Error> {
        let mut wait = Duration::from_secs(1);
        let mut result = call();
        for _ in 0..3 {
            match &result {
                Err(octocrab::Error::GitHub { source, .. })
                    if source.status_code.is_server_error() =>
                {
                    std::thread::sleep(wait);
                    wait *= 2;
                    result = call();
                }
                _ => break,
            }
        }
        result
    }

    /// `GET route` with query `params`; `None` on 404.
    pub fn get_json(&self, route: &str, params: &[(&str, String)]) -> Result<Option<Value>> {
        let query: std::collections::BTreeMap<&str, &str> =
            params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = self.with_backoff(|| self.runtime.block_on(self.client.get(route, Some(&query))));
        match res {
            Ok(v) => Ok(Some(v)),
            Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 404 => {
                Ok(None)
            }
            Err(e) => Err(describe(e)).with_context(|| format!("GET {route}")),
        }
    }

    /// Every item of a paginated list (`per_page=100`, at most 50 pages).
    pub fn get_all(&self, route: &str, params: &[(&str, String)]) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for page in 1..=50 {
            let mut p = params.to_vec();
            p.push(("per_page", "100".to_string()));
            p.push(("page", page.to_string()));
            let Some(Value::Array(items)) = self.get_json(route, &p)? else {
                break;
            };
            let n = items.len();
            out.extend(items);
            if n < 100 {
                break;
            }
        }
        Ok(out)
    }

    /// `POST route` with a JSON body.
    pub fn post_json(&self, route: &str, body: &Value) -> Result<Value> {
        // No backoff for POST: a 5xx can come after GitHub created the object, and a repeat
        // would then fail or duplicate it (octocrab's immediate retries still apply).
        let res: std::result::Result<Value, octocrab::Error> =
            self.runtime.block_on(self.client.post(route, Some(body)));
        res.map_err(describe)
            .with_context(|| format!("POST {route}"))
    }

    /// `PATCH route` with a JSON body.
    pub fn patch_json(&self, route: &str, body: &Value) -> Result<Value> {
        let res = self.with_backoff(|| self.runtime.block_on(self.client.patch(route, Some(body))));
        res.map_err(describe)
            .with_context(|| format!("PATCH {route}"))
    }

    /// The commit a tag or branch of `owner/repo` points at. Tags win over branches (as `uses:`
    /// resolves them); annotated tags are dereferenced to their commit.
    pub fn resolve(&self, owner: &str, repo: &str, reference: &str) -> Result<Option<Resolved>> {
        for (kind, prefix) in [("tag", "tags"), ("branch", "heads")] {
            let route = format!("/repos/{owner}/{repo}/git/ref/{prefix}/{reference}");
            let Some(v) = self.get(&route)? else {
                continue;
            };
            let mut object = v
                .get("object")
                .cloned()
                .ok_or_else(|| anyhow!("GET {route}: no `object` in the answer"))?;
            // Annotated tags point at a tag object; follow (a bounded number of) them.
            for _ in 0..4 {
                match object.get("type").and_then(Value::as_str) {
                    Some("commit") => {
                        let sha = object
                            .get("sha")
                            .and_then(Value::as_str)
                            .ok_or_else(|| anyhow!("GET {route}: commit without sha"))?;
                        if !crate::refs::is_sha(sha) {
                            bail!("GET {route}: `{sha}` is not a commit SHA");
                        }
                        return Ok(Some(Resolved {
                            sha: sha.to_string(),
                            kind,
                        }));
                    }
                    Some("tag") => {
                        let sha = object
                            .get("sha")
                            .and_then(Value::as_str)
                            .ok_or_else(|| anyhow!("GET {route}: tag without sha"))?;
                        let tag_route = format!("/repos/{owner}/{repo}/git/tags/{sha}");
                        let tag = self
                            .get(&tag_route)?
                            .ok_or_else(|| anyhow!("GET {tag_route}: not found"))?;
                        object = tag
                            .get("object")
                            .cloned()
                            .ok_or_else(|| anyhow!("GET {tag_route}: no `object`"))?;
                    }
                    other => bail!("GET {route}: unexpected object type {other:?}"),
                }
            }
            bail!("GET {route}: too many nested tags");
        }
        Ok(None)
    }
}

/// octocrab errors, said in a sentence without internals (and never with the token).
fn describe(e: octocrab::Error) -> anyhow::Error {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            anyhow!("GitHub answered {}: {}", source.status_code, source.message)
        }
        octocrab::Error::Hyper { source, .. } => anyhow!("HTTP error: {source}"),
        octocrab::Error::Service { source, .. } => anyhow!("cannot reach the GitHub API: {source}"),
        other => anyhow!("{other}"),
    }
}
