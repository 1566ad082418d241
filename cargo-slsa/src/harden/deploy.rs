//! `deploy-unverified`: a job that deploys Lambda code without verifying it first.
//!
//! Deploying is where provenance pays off or is wasted: a job that uploads a function's code
//! (`aws lambda update-function-code` / `create-function`, `sam deploy`, `serverless deploy`,
//! `cargo lambda deploy`, the `aws-actions/aws-lambda-deploy` action) should check the package
//! against its attestation first, in the same job — a verification in another job proves
//! nothing about the bytes this job uploads. An earlier step of the job that runs `cargo slsa
//! verify` (or `cargo-slsa verify`), or uses the cargo-slsa action with `command: verify`,
//! satisfies it.

use super::codes::HardenCode;
use super::hit::Hit;
use super::input::Input;
use super::shell::{command_words, run_script, shell_commands};
use super::walk::{self, StepRef};

fn starts(words: &[&str], pattern: &[&str]) -> bool {
    words.len() >= pattern.len() && words.iter().zip(pattern).all(|(a, b)| a == b)
}

/// The AWS CLI's global options that are flags (all others take a value).
const AWS_FLAGS: &[&str] = &[
    "--debug",
    "--no-verify-ssl",
    "--no-paginate",
    "--no-sign-request",
    "--no-cli-pager",
    "--no-cli-auto-prompt",
    "--cli-auto-prompt",
];

/// `words` with the AWS CLI's global options between `aws` and its service removed
/// (`aws --region eu-west-1 lambda …` → `aws lambda …`).
fn without_aws_globals<'a>(words: &[&'a str]) -> Vec<&'a str> {
    if words.first() != Some(&"aws") {
        return words.to_vec();
    }
    let mut out = vec!["aws"];
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if !w.starts_with("--") {
            break;
        }
        i += if AWS_FLAGS.contains(w) || w.contains('=') {
            1
        } else {
            2
        };
    }
    out.extend(words.iter().skip(i));
    out
}

/// What a command deploys, if it is a Lambda deployment.
fn deploy_command(command: &str) -> Option<&'static str> {
    let w = without_aws_globals(&command_words(command));
    const PATTERNS: &[(&[&str], &str)] = &[
        (
            &["aws", "lambda", "update-function-code"],
            "aws lambda update-function-code",
        ),
        (
            &["aws", "lambda", "create-function"],
            "aws lambda create-function",
        ),
        (
            &["aws", "lambda", "update-function-configuration"],
            "aws lambda update-function-configuration",
        ),
        (
            &["aws", "lambda", "publish-layer-version"],
            "aws lambda publish-layer-version",
        ),
        (&["sam", "deploy"], "sam deploy"),
        (&["serverless", "deploy"], "serverless deploy"),
        (&["sls", "deploy"], "serverless deploy"),
        (&["cargo", "lambda", "deploy"], "cargo lambda deploy"),
    ];
    PATTERNS
        .iter()
        .find(|(p, _)| starts(&w, p))
        .map(|(_, what)| *what)
}

fn verify_command(command: &str) -> bool {
    let w = command_words(command);
    starts(&w, &["cargo", "slsa", "verify"])
        || w.first().is_some_and(|c| c.ends_with("cargo-slsa")) && w.get(1) == Some(&"verify")
}

/// The cargo-slsa action with `command: verify`.
fn verify_action(step: &StepRef<'_>) -> bool {
    let Some(uses) = step.str("uses") else {
        return false;
    };
    let ours = uses.trim() == "./"
        || uses.trim() == "."
        || uses
            .trim()
            .to_ascii_lowercase()
            .starts_with("cargo-slsa/cargo-slsa@");
    ours && step.with("command").as_deref().map(str::trim) == Some("verify")
}

/// Every deploying step of a job without an earlier verification in that job.
pub fn deploy_unverified(input: &Input) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut verified_jobs: Vec<Option<&str>> = Vec::new();
    for s in walk::steps(input) {
        let verified = verified_jobs.contains(&s.job);
        // A verification allowed to fail (`continue-on-error: true`, `… || true`) gates nothing.
        let may_fail = s
            .value
            .get("continue-on-error")
            .is_some_and(|v| v.as_bool() != Some(false) && v.as_str() != Some("false"));
        if verify_action(&s) {
            if !may_fail {
                verified_jobs.push(s.job);
            }
            continue;
        }
        if let Some(uses) = s.str("uses")
            && uses
                .trim()
                .to_ascii_lowercase()
                .starts_with("aws-actions/aws-lambda-deploy@")
            && !verified
        {
            out.push(hit(
                input.line(&s.at("uses")),
                "aws-actions/aws-lambda-deploy",
                s.job,
            ));
            continue;
        }
        let Some((start, text)) = run_script(input, &s) else {
            continue;
        };
        let mut verified_here = verified;
        for (offset, command) in shell_commands(text) {
            if verify_command(&command) {
                let line_end = text[offset..].find('\n').map_or(text.len(), |n| offset + n);
                let rest = text.get(offset..line_end).unwrap_or("").trim_end();
                let ignored = ["|| true", "|| :", "|| exit 0", "||true"]
                    .iter()
                    .any(|t| rest.contains(t));
                if !may_fail && !ignored {
                    verified_here = true;
                }
                continue;
            }
            if let Some(what) = deploy_command(&command)
                && !verified_here
            {
                out.push(hit(input.line_of_offset(start + offset), what, s.job));
            }
        }
        if verified_here {
            verified_jobs.push(s.job);
        }
    }
    out
}

fn hit(line: usize, what: &str, job: Option<&str>) -> Hit {
    Hit::new(
        HardenCode::DeployUnverified,
        line,
        format!(
            "{}`{what}` deploys Lambda code that no earlier step of the job verified against its \
             attestation",
            job.map(|j| format!("job `{j}`: ")).unwrap_or_default()
        ),
        "verify the package first, in the same job: `cargo slsa verify target/lambda/FN/bootstrap.zip \
         --attestation …` (or the cargo-slsa action with `command: verify`), and after deploying \
         `cargo slsa verify --lambda-function FN …`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_behind_launchers() {
        assert_eq!(
            deploy_command("AWS_PAGER= aws lambda update-function-code --function-name f"),
            Some("aws lambda update-function-code")
        );
        assert_eq!(
            deploy_command("npx serverless deploy --stage prod"),
            Some("serverless deploy")
        );
        assert_eq!(deploy_command("echo aws lambda update-function-code"), None);
        assert_eq!(
            deploy_command("aws lambda get-function --function-name f"),
            None
        );
        assert_eq!(
            deploy_command(
                "aws --region eu-west-1 --output json lambda update-function-code --zip-file fileb://f.zip"
            ),
            Some("aws lambda update-function-code")
        );
        assert_eq!(
            deploy_command("sudo -E aws lambda update-function-code"),
            Some("aws lambda update-function-code")
        );
        assert_eq!(
            deploy_command("aws --debug lambda update-function-configuration --layers arn"),
            Some("aws lambda update-function-configuration")
        );
        assert!(verify_command("cargo slsa verify x --attestation y"));
        assert!(verify_command("./bin/cargo-slsa verify x"));
        assert!(!verify_command("cargo slsa attest"));
    }
}
