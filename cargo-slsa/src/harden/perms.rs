//! `excessive-permissions`: the GITHUB_TOKEN's permissions (zizmor's rules and locations).
//!
//! Workflow level (only when it matters — several jobs, not all with their own permissions, and
//! not a purely reusable workflow): no `permissions:` at all (the repository default, often
//! read-write), `read-all`/`write-all`, and each `write` grant. Job level: a job without
//! permissions in a workflow without them, and `read-all`/`write-all` on a job.

use yaml_serde::Value;

use super::codes::HardenCode;
use super::hit::Hit;
use super::input::{Input, Kind, Seg};
use super::walk;
use crate::ypath;

fn reusable_only(input: &Input) -> bool {
    let t = walk::triggers(input);
    t.len() == 1 && t[0] == "workflow_call"
}

const FIX_DEFAULT: &str = "set `permissions: contents: read` at the top (`cargo slsa harden --fix` adds it) and grant more per job";

pub fn excessive_permissions(input: &Input) -> Vec<Hit> {
    let Kind::Workflow(_) = input.kind else {
        return Vec::new();
    };
    let jobs = walk::jobs(input);
    let reusable = reusable_only(input);
    let all_jobs_have = jobs.iter().all(|j| j.value.get("permissions").is_some());
    let workflow_level = jobs.len() > 1 && !all_jobs_have && !reusable;
    let top = input.value.get("permissions");
    let mut out = Vec::new();
    // `write-all` at the top is excessive whatever the shape of the workflow (zizmor reports the
    // single-job case only in its pedantic persona).
    if !workflow_level && top.and_then(Value::as_str) == Some("write-all") {
        out.push(Hit::new(
            HardenCode::ExcessivePermissions,
            input.key_line(&ypath!["permissions"]),
            "`permissions: write-all` grants every scope",
            "grant `contents: read` at the top and only what a job needs, on that job",
        ));
    }
    if workflow_level {
        match top {
            None => out.push(Hit::new(
                HardenCode::ExcessivePermissions,
                input.line(&[]),
                "no top-level `permissions:` block: jobs without their own get the repository's default token permissions",
                FIX_DEFAULT,
            )),
            Some(Value::String(s)) if s == "read-all" || s == "write-all" => out.push(Hit::new(
                HardenCode::ExcessivePermissions,
                input.key_line(&ypath!["permissions"]),
                format!("`permissions: {s}` grants every scope to every job"),
                "grant `contents: read` at the top and only what a job needs, on that job",
            )),
            Some(Value::Mapping(m)) => {
                for (k, v) in m {
                    if let (Some(name), Some("write")) = (k.as_str(), v.as_str()) {
                        out.push(Hit::new(
                            HardenCode::ExcessivePermissions,
                            input.key_line(&ypath!["permissions", name]),
                            format!("`{name}: write` at workflow level applies to all {} jobs", jobs.len()),
                            format!("move `{name}: write` to the job that needs it"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for j in &jobs {
        let reusable_call = j.value.get("uses").is_some();
        if reusable && !reusable_call {
            continue;
        }
        match j.value.get("permissions") {
            None if top.is_none() => out.push(Hit::new(
                HardenCode::ExcessivePermissions,
                input.key_line(&j.route),
                format!(
                    "job `{}` runs with the repository's default token permissions (no `permissions:` here or at the top)",
                    j.id
                ),
                FIX_DEFAULT,
            )),
            Some(Value::String(s)) if s == "read-all" || s == "write-all" => {
                let mut r = j.route.clone();
                r.push(Seg::from("permissions"));
                out.push(Hit::new(
                    HardenCode::ExcessivePermissions,
                    input.key_line(&r),
                    format!("job `{}` has `permissions: {s}`", j.id),
                    "list only the permissions the job needs",
                ));
            }
            _ => {}
        }
    }
    out
}
