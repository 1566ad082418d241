//! The SLSA provenance v1 predicate for a cargo build, with our buildType
//! ([`crate::provenance::BUILD_TYPE`], documented in docs/build-type/v1.md).

use serde_json::{Map, Value, json};

use super::Subject;
use crate::build::{BuildSpec, ReproEnv, Source, Toolchain};
use crate::provenance::LOCAL_BUILDER_ID;
use crate::workspace::{Lockfile, SourceKind};

/// Who ran the build.
#[derive(Debug, Clone)]
pub struct Builder {
    /// builder.id: the workflow file at its ref in GitHub Actions, else [`LOCAL_BUILDER_ID`].
    pub id: String,
    /// The run's URL in GitHub Actions.
    pub invocation_id: Option<String>,
}

/// `GITHUB_SERVER_URL` when running in GitHub Actions.
pub fn actions_server() -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    (env("GITHUB_ACTIONS").as_deref() == Some("true"))
        .then(|| env("GITHUB_SERVER_URL"))
        .flatten()
}

impl Builder {
    /// From the GitHub Actions environment, or the local builder.
    pub fn detect() -> Builder {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if env("GITHUB_ACTIONS").as_deref() == Some("true")
            && let (Some(server), Some(workflow_ref)) =
                (env("GITHUB_SERVER_URL"), env("GITHUB_WORKFLOW_REF"))
        {
            let server = server.trim_end_matches('/');
            let invocation_id = match (env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")) {
                (Some(repo), Some(run)) => Some(format!(
                    "{server}/{repo}/actions/runs/{run}/attempts/{}",
                    env("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into())
                )),
                _ => None,
            };
            return Builder {
                id: format!("{server}/{workflow_ref}"),
                invocation_id,
            };
        }
        Builder {
            id: LOCAL_BUILDER_ID.to_string(),
            invocation_id: None,
        }
    }
}

/// Everything the predicate records.
pub struct Inputs<'a> {
    /// The workspace's directory relative to the repository top ("" at the top).
    pub workspace_in_repo: &'a str,
    pub source: &'a Source,
    pub toolchain: &'a Toolchain,
    /// The build run, or `None` for prebuilt artifacts.
    pub spec: Option<&'a BuildSpec>,
    /// Prebuilt artifacts, recorded as such.
    pub prebuilt: Option<&'a [Subject]>,
    /// The workspace root (prebuilt paths are recorded relative to the repository or to it).
    pub root: &'a std::path::Path,
    pub env: &'a ReproEnv,
    /// Allowlisted build-affecting variables ([`crate::build::ambient_build_env`]).
    pub ambient: std::collections::BTreeMap<String, String>,
    /// Cargo configuration files outside the repository: (recorded name, sha256).
    pub cargo_configs: &'a [(String, String)],
    /// `--lambda`: the architecture, target, extra files and zip settings.
    pub lambda: Option<Value>,
    pub lock: &'a Lockfile,
    pub builder: &'a Builder,
    pub started: i64,
    pub finished: i64,
    pub reproducibility: Option<Value>,
}

/// `pkg:cargo/NAME@VERSION` (names are `[A-Za-z0-9_-]`, versions semver: nothing to escape
/// except `+` in build metadata, which purl percent-encodes).
pub fn purl(name: &str, version: &str) -> String {
    format!("pkg:cargo/{name}@{}", version.replace('+', "%2B"))
}

/// Every Cargo.lock package as a resolvedDependencies entry: `pkg:cargo/NAME@VERSION` with the
/// lock's sha256 (git packages with their commit; other registries with their source).
pub fn lock_dependencies(lock: &Lockfile) -> Vec<Value> {
    let mut deps = Vec::new();
    for p in &lock.packages {
        let mut d = json!({"uri": purl(&p.name, &p.version)});
        match p.source_kind() {
            None => {
                d["annotations"] = json!({"source": "workspace"});
            }
            Some(SourceKind::Git { url, commit, .. }) => {
                d["digest"] = json!({"gitCommit": commit});
                d["annotations"] = json!({"source": format!("git+{url}")});
            }
            Some(kind) => {
                if let Some(sum) = &p.checksum {
                    d["digest"] = json!({"sha256": sum});
                }
                let crates_io = matches!(kind, SourceKind::Registry(u) if u == "https://github.com/rust-lang/crates.io-index")
                    || matches!(kind, SourceKind::Sparse(u) if u == "https://index.crates.io/");
                if !crates_io && let Some(src) = &p.source {
                    d["annotations"] = json!({"source": src});
                }
            }
        }
        deps.push(d);
    }

    deps
}

/// The `predicate` object.
pub fn provenance(i: &Inputs<'_>) -> Value {
    let mut external = Map::new();
    if let Some(uri) = i.source.uri() {
        external.insert("source".into(), json!(uri));
    }
    // The same, unambiguous: the repository and the ref as separate fields (a ref may hold '@').
    if let Some(repo) = &i.source.repo {
        external.insert("repository".into(), json!(repo));
    }
    if let Some(r) = &i.source.git_ref {
        external.insert("ref".into(), json!(r));
    }
    // Where the workspace is inside the repository ("" at the top).
    let workspace = i.workspace_in_repo.to_string();
    external.insert("workspace".into(), json!(workspace));
    match (i.spec, i.prebuilt) {
        (Some(spec), _) => {
            if let Some(p) = &spec.package {
                external.insert("package".into(), json!(p));
            }
            external.insert("bins".into(), json!(spec.bins));
            if let Some(t) = &spec.target {
                external.insert("target".into(), json!(t));
            }
            external.insert("profile".into(), json!(spec.profile));
            external.insert("features".into(), json!(spec.features));
            if spec.all_features {
                external.insert("allFeatures".into(), json!(true));
            }
            if spec.no_default_features {
                external.insert("noDefaultFeatures".into(), json!(true));
            }
            external.insert("command".into(), json!(spec.display_command()));
        }
        (None, Some(files)) => {
            external.insert(
                "prebuiltArtifacts".into(),
                json!(
                    files
                        .iter()
                        .map(|s| {
                            // Inside the repository (or workspace): its relative path; else
                            // the file name alone — no machine path is published.
                            let shown = i
                                .source
                                .toplevel
                                .as_ref()
                                .and_then(|t| s.path.strip_prefix(t).ok())
                                .or_else(|| s.path.strip_prefix(i.root).ok())
                                .map(std::path::Path::to_path_buf)
                                .or_else(|| s.path.file_name().map(std::path::PathBuf::from))
                                .unwrap_or_default();
                            shown.to_string_lossy().replace('\\', "/")
                        })
                        .collect::<Vec<_>>()
                ),
            );
        }
        (None, None) => {}
    }
    if let Some(l) = &i.lambda {
        external.insert("lambda".into(), l.clone());
    }

    let mut internal = Map::new();
    internal.insert("rustc".into(), json!(i.toolchain.rustc_vv));
    internal.insert("cargo".into(), json!(i.toolchain.cargo_v));
    if i.spec.is_some() {
        internal.insert("rustflags".into(), json!(i.env.recorded_rustflags));
        internal.insert("env".into(), json!(crate::build::recorded_env(i.env)));
        if !i.ambient.is_empty() {
            internal.insert("ambientEnv".into(), json!(i.ambient));
        }
    }
    if !i.cargo_configs.is_empty() {
        internal.insert(
            "cargoConfig".into(),
            json!(
                i.cargo_configs
                    .iter()
                    .map(|(name, sha)| json!({"path": name, "sha256": sha}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    internal.insert("cargoSlsa".into(), json!(env!("CARGO_PKG_VERSION")));

    let mut deps = Vec::new();
    if let (Some(uri), Some(commit)) = (i.source.uri(), &i.source.commit) {
        let mut d = json!({"uri": uri, "digest": {"gitCommit": commit}});
        if i.source.dirty {
            d["annotations"] = json!({"dirty": true});
        }
        deps.push(d);
    }
    let mut tc = json!({
        "name": "rust-toolchain",
        "uri": format!("pkg:generic/rust@{}", i.toolchain.release),
        "annotations": {"host": i.toolchain.host, "cargo": i.toolchain.cargo_v},
    });
    if let Some(c) = &i.toolchain.commit {
        tc["digest"] = json!({"gitCommit": c});
    }
    deps.push(tc);
    deps.extend(lock_dependencies(i.lock));

    let mut metadata = Map::new();
    if let Some(id) = &i.builder.invocation_id {
        metadata.insert("invocationId".into(), json!(id));
    }
    metadata.insert(
        "startedOn".into(),
        json!(crate::timefmt::rfc3339(i.started)),
    );
    metadata.insert(
        "finishedOn".into(),
        json!(crate::timefmt::rfc3339(i.finished)),
    );
    let mut run = json!({
        "builder": {"id": i.builder.id, "version": {"cargo-slsa": env!("CARGO_PKG_VERSION")}},
        "metadata": metadata,
    });
    if let Some(r) = &i.reproducibility {
        run["byproducts"] = json!([r]);
    }
    json!({
        "buildDefinition": {
            "buildType": crate::provenance::BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": internal,
            "resolvedDependencies": deps,
        },
        "runDetails": run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        assert_eq!(purl("serde", "1.0.0"), "pkg:cargo/serde@1.0.0");
        assert_eq!(purl("x", "1.0.0+meta"), "pkg:cargo/x@1.0.0%2Bmeta");
    }
}
