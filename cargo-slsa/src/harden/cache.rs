//! `cache-poisoning`: caches restored in jobs that publish (zizmor's rules and locations).
//!
//! A job publishes when the workflow runs on releases or tag pushes (or pushes to `release`
//! branches), or when the job itself runs a publishing action. In such a job every step of a
//! cache-aware action with its cache enabled is reported at its `uses:` key: whatever a
//! pull-request run put into the shared cache can end up in the published artifact.

use yaml_serde::Value;

use super::codes::HardenCode;
use super::hit::Hit;
use super::input::{Input, Kind};
use super::walk::{self, StepRef, split_uses};

/// How a cache is switched on, per action.
enum Control {
    /// Always caches.
    Always,
    /// Caches unless the bool input is true (`lookup-only`, `no-cache`).
    UnlessTrue(&'static str),
    /// Caches unless the bool input is false.
    UnlessFalse(&'static str),
    /// Caches only when the bool input is true.
    WhenTrue(&'static str),
    /// Caches only when the input is non-empty.
    WhenSet(&'static str),
}

const CACHE_AWARE: &[(&str, Control)] = &[
    ("actions/cache", Control::UnlessTrue("lookup-only")),
    ("swatinem/rust-cache", Control::UnlessTrue("lookup-only")),
    ("actions/setup-java", Control::WhenSet("cache")),
    ("actions/setup-python", Control::WhenSet("cache")),
    ("graalvm/setup-graalvm", Control::WhenSet("cache")),
    ("actions/setup-go", Control::UnlessFalse("cache")),
    (
        "actions-rust-lang/setup-rust-toolchain",
        Control::UnlessFalse("cache"),
    ),
    ("jdx/mise-action", Control::UnlessFalse("cache")),
    (
        "actions/setup-node",
        Control::UnlessFalse("package-manager-cache"),
    ),
    ("actions/setup-dotnet", Control::WhenTrue("cache")),
    ("pnpm/setup", Control::WhenTrue("cache")),
    ("ruby/setup-ruby", Control::WhenTrue("bundler-cache")),
    ("pyo3/maturin-action", Control::WhenTrue("sccache")),
    ("mlugg/setup-zig", Control::UnlessFalse("use-cache")),
    ("oven-sh/setup-bun", Control::UnlessTrue("no-cache")),
    (
        "determinatesystems/magic-nix-cache-action",
        Control::UnlessFalse("use-gha-cache"),
    ),
    (
        "gradle/actions/setup-gradle",
        Control::UnlessTrue("cache-disabled"),
    ),
    ("astral-sh/setup-uv", Control::WhenTrue("enable-cache")),
    ("mozilla-actions/sccache-action", Control::Always),
    ("nix-community/cache-nix-action", Control::Always),
    ("awalsh128/cache-apt-pkgs-action", Control::Always),
];

/// Actions that publish artifacts or deploy.
const PUBLISHERS: &[&str] = &[
    "pypa/gh-action-pypi-publish",
    "rubygems/release-gem",
    "jreleaser/release-action",
    "goreleaser/goreleaser-action",
    "softprops/action-gh-release",
    "release-drafter/release-drafter",
    "googleapis/release-please-action",
    "redhat-actions/push-to-registry",
    "aws-actions/amazon-ecs-deploy-task-definition",
    "aws-actions/aws-cloudformation-github-deploy",
    "azure/aci-deploy",
    "azure/container-apps-deploy-action",
    "azure/functions-action",
    "azure/sql-action",
    "cloudflare/wrangler-action",
    "google-github-actions/deploy-appengine",
    "google-github-actions/deploy-cloudrun",
    "google-github-actions/deploy-cloud-functions",
];

fn name_of<'a>(s: &StepRef<'a>) -> Option<String> {
    Some(split_uses(s.str("uses")?)?.0.to_ascii_lowercase())
}

/// The workflow runs on releases, tag pushes or pushes to release branches.
fn release_triggered(input: &Input) -> bool {
    if walk::triggers(input).iter().any(|t| t == "release") {
        return true;
    }
    let Some(push) = input.value.get("on").and_then(|o| o.get("push")) else {
        return false;
    };
    let seq = |k: &str| push.get(k).and_then(Value::as_sequence);
    seq("tags").is_some()
        || seq("tags-ignore").is_some()
        || seq("branches").is_some_and(|b| {
            b.iter()
                .filter_map(Value::as_str)
                .any(|x| x.to_ascii_lowercase().contains("release"))
        })
}

fn publishes(step: &StepRef<'_>) -> bool {
    let Some(name) = name_of(step) else {
        return false;
    };
    if name == "docker/build-push-action" {
        return step.with("push").as_deref() != Some("false");
    }
    PUBLISHERS.contains(&name.as_str())
}

fn is_true(v: &str) -> bool {
    !v.eq_ignore_ascii_case("false")
}

fn cache_enabled(step: &StepRef<'_>, control: &Control) -> bool {
    if step.value.get("with").and_then(Value::as_str).is_some() {
        return true; // `with: ${{ … }}`: cannot tell, assume the cache is on.
    }
    let expr = |v: &str| v.starts_with("${{") && v.ends_with("}}");
    match control {
        Control::Always => true,
        Control::UnlessTrue(k) => match step.with(k) {
            Some(v) if expr(&v) => true,
            Some(v) => !v.eq_ignore_ascii_case("true"),
            None => true,
        },
        Control::UnlessFalse(k) => match step.with(k) {
            Some(v) if expr(&v) => true,
            Some(v) => is_true(&v),
            None => true,
        },
        Control::WhenTrue(k) => match step.with(k) {
            Some(v) if expr(&v) => true,
            Some(v) => is_true(&v),
            None => false,
        },
        Control::WhenSet(k) => step.with(k).is_some_and(|v| !v.is_empty()),
    }
}

pub fn cache_poisoning(input: &Input) -> Vec<Hit> {
    let Kind::Workflow(_) = input.kind else {
        return Vec::new();
    };
    let released = release_triggered(input);
    let steps = walk::steps(input);
    let mut out = Vec::new();
    for job in walk::jobs(input) {
        let mode = job
            .value
            .get("cache-mode")
            .or_else(|| input.value.get("cache-mode"))
            .and_then(Value::as_str);
        if mode == Some("none") {
            continue;
        }
        let job_steps: Vec<&StepRef<'_>> = steps.iter().filter(|s| s.job == Some(job.id)).collect();
        if !(released || job_steps.iter().any(|s| publishes(s))) {
            continue;
        }
        for s in job_steps {
            let Some(name) = name_of(s) else { continue };
            let Some((_, control)) = CACHE_AWARE.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            if !cache_enabled(s, control) {
                continue;
            }
            let uses = s.str("uses").unwrap_or_default();
            out.push(Hit::new(
                HardenCode::CachePoisoning,
                input.key_line(&s.at("uses")),
                format!("`{uses}` restores a cache in a job that publishes: a cache entry written by an untrusted run can end up in the release"),
                match control {
                    Control::UnlessTrue(k) => format!("set `{k}: true` here, or build releases without caches"),
                    Control::UnlessFalse(k) => format!("set `{k}: false` here, or build releases without caches"),
                    _ => "build releases without caches".to_string(),
                },
            ));
        }
    }
    out
}
