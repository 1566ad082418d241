//! Walking a workflow or action as generic YAML: jobs, steps and their routes, so every audit
//! sees workflow steps and composite-action steps the same way.

use yaml_serde::Value;

use super::input::{Input, Kind, Seg};
use crate::ypath;

/// A job of a workflow.
pub struct JobRef<'a> {
    pub id: &'a str,
    pub value: &'a Value,
    pub route: Vec<Seg>,
}

/// A step of a workflow job or a composite action.
pub struct StepRef<'a> {
    /// The job id (`None` in an action).
    pub job: Option<&'a str>,
    pub value: &'a Value,
    pub route: Vec<Seg>,
}

impl<'a> StepRef<'a> {
    /// A string field of the step.
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.value.get(key).and_then(Value::as_str)
    }

    /// `with.<key>` as text (booleans and numbers rendered as YAML would).
    pub fn with(&self, key: &str) -> Option<String> {
        scalar_text(self.value.get("with")?.get(key)?)
    }

    /// Route of a field of this step.
    pub fn at(&self, key: &str) -> Vec<Seg> {
        with_key(&self.route, key)
    }
}

/// `base` extended by one key.
pub fn with_key(base: &[Seg], key: &str) -> Vec<Seg> {
    let mut r = base.to_vec();
    r.push(Seg::from(key));
    r
}

/// A scalar as text.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Jobs in document order.
pub fn jobs(input: &Input) -> Vec<JobRef<'_>> {
    let Kind::Workflow(_) = input.kind else {
        return Vec::new();
    };
    let Some(jobs) = input.value.get("jobs").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    jobs.iter()
        .filter_map(|(k, v)| {
            let id = k.as_str()?;
            Some(JobRef {
                id,
                value: v,
                route: ypath!["jobs", id],
            })
        })
        .collect()
}

/// Every step, in document order.
pub fn steps(input: &Input) -> Vec<StepRef<'_>> {
    let mut out = Vec::new();
    match &input.kind {
        Kind::Workflow(_) => {
            for job in jobs(input) {
                let Some(steps) = job.value.get("steps").and_then(Value::as_sequence) else {
                    continue;
                };
                for (i, s) in steps.iter().enumerate() {
                    out.push(StepRef {
                        job: Some(job.id),
                        value: s,
                        route: ypath!["jobs", job.id, "steps", i],
                    });
                }
            }
        }
        Kind::Action(_) => {
            if let Some(steps) = input
                .value
                .get("runs")
                .and_then(|r| r.get("steps"))
                .and_then(Value::as_sequence)
            {
                for (i, s) in steps.iter().enumerate() {
                    out.push(StepRef {
                        job: None,
                        value: s,
                        route: ypath!["runs", "steps", i],
                    });
                }
            }
        }
    }
    out
}

/// The trigger names of a workflow (`on: push`, `on: [push, pull_request]`, `on: {push: …}`).
pub fn triggers(input: &Input) -> Vec<String> {
    // YAML 1.1 readers turn a bare `on` key into `true`; accept both spellings.
    let on = input.value.get("on").or_else(|| {
        input
            .value
            .as_mapping()
            .and_then(|m| m.get(Value::Bool(true)))
    });
    match on {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(v)) => v
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::Mapping(m)) => m
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `actions/checkout@v4` → (`actions/checkout`, `v4`); subpaths kept in the name.
pub fn split_uses(uses: &str) -> Option<(&str, &str)> {
    uses.rsplit_once('@')
}

pub use crate::refs::is_sha;
