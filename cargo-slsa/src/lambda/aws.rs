//! What AWS Lambda says a function runs: `GetFunction` through the official AWS SDK for Rust.
//!
//! Why `aws-config` + `aws-sdk-lambda`: they are how every AWS tool resolves credentials (the
//! default chain: environment, shared files and SSO, web identity, ECS and EC2 metadata),
//! the region (`--region`, `AWS_REGION`, profiles) and endpoints (`AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_LAMBDA`), and they sign requests with SigV4 and retry throttling with
//! backoff. Nothing here handles secrets: the SDK keeps them, and errors show only the SDK's
//! error kinds and messages.

use anyhow::{Result, anyhow};
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::get_function::GetFunctionError;

/// A function reference as given on the command line, split into the `FunctionName` and
/// `Qualifier` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// Name, partial ARN or ARN, without the qualifier.
    pub name: String,
    /// Version or alias, if one was given.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parse `NAME`, `NAME:QUALIFIER`, `ACCOUNT:function:NAME[:QUALIFIER]` or
    /// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    pub fn parse(s: &str) -> Result<FunctionRef> {
        let s = s.trim();
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || {
            anyhow!(
                "--lambda-function {s:?} is not a function name or ARN (NAME, NAME:QUALIFIER, or \
                 arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])"
            )
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let unqualified_len = if parts[0] == "arn" {
            if parts.get(2) != Some(&"lambda") || parts.get(5) != Some(&"function") {
                return Err(bad());
            }
            7
        } else if parts.get(1) == Some(&"function") {
            3
        } else {
            1
        };
        match parts.len() {
            n if n == unqualified_len => Ok(FunctionRef {
                name: s.to_string(),
                qualifier: None,
            }),
            n if n == unqualified_len + 1 => Ok(FunctionRef {
                name: parts[..unqualified_len].join(":"),
                qualifier: Some(parts[unqualified_len].to_string()),
            }),
            _ => Err(bad()),
        }
    }

    /// As the user wrote it.
    pub fn display(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}:{q}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What `GetFunction` said about the deployed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The function's ARN (as AWS reports it).
    pub arn: Option<String>,
    /// Base64 sha256 of the deployment package.
    pub code_sha256: String,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// The version the qualifier resolved to (`$LATEST`, `7`).
    pub version: Option<String>,
    /// `x86_64` / `arm64`.
    pub architectures: Vec<String>,
    /// Layer ARNs: code in `/opt` that runs beside (or, as extensions, before) the bootstrap.
    pub layers: Vec<String>,
    /// Names (never values: they can be secrets) of environment variables that change what
    /// runs: `LD_PRELOAD`, `LD_LIBRARY_PATH`, `AWS_LAMBDA_EXEC_WRAPPER`.
    pub exec_env: Vec<String>,
}

/// Ask Lambda about each function (one client, one credential resolution). An error is the
/// first failure, explained; it never means "verified".
pub fn get_functions(functions: &[FunctionRef], region: Option<&str>) -> Result<Vec<Deployed>> {
    let rt = crate::async_runtime()?;
    rt.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_string()));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(anyhow!(
                "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)"
            ));
        }
        let client = aws_sdk_lambda::Client::new(&config);
        let mut out = Vec::new();
        for f in functions {
            let answer = client
                .get_function()
                .function_name(&f.name)
                .set_qualifier(f.qualifier.clone())
                .send()
                .await
                .map_err(|e| explain(f, e))?;
            let conf = answer.configuration().ok_or_else(|| {
                anyhow!("GetFunction for {} returned no configuration", f.display())
            })?;
            let package_type = conf
                .package_type()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "Zip".into());
            if package_type != "Zip" {
                return Err(anyhow!(
                    "{} is a {package_type} function: its code is a container image, not a zip \
                     package, so there is no CodeSha256 of a bootstrap.zip to check (verify the \
                     image digest with your registry's tools)",
                    f.display()
                ));
            }
            let code_sha256 = conf
                .code_sha256()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("GetFunction for {} returned no CodeSha256", f.display()))?;
            out.push(Deployed {
                arn: conf.function_arn().map(str::to_string),
                code_sha256,
                package_type,
                version: conf.version().map(str::to_string),
                architectures: conf
                    .architectures()
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect(),
                layers: conf
                    .layers()
                    .iter()
                    .filter_map(|l| l.arn().map(str::to_string))
                    .collect(),
                exec_env: conf
                    .environment()
                    .and_then(|e| e.variables())
                    .map(|vars| {
                        let mut names: Vec<String> = vars
                            .keys()
                            .filter(|k| {
                                matches!(
                                    k.as_str(),
                                    "LD_PRELOAD" | "LD_LIBRARY_PATH" | "AWS_LAMBDA_EXEC_WRAPPER"
                                )
                            })
                            .cloned()
                            .collect();
                        names.sort();
                        names
                    })
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    })
}

/// A clear message for a failed `GetFunction`.
fn explain<R>(f: &FunctionRef, e: SdkError<GetFunctionError, R>) -> anyhow::Error
where
    R: std::fmt::Debug + 'static,
{
    let name = f.display();
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code = err.code().unwrap_or("an error");
            let msg = err.message().unwrap_or("");
            let hint = if err.is_resource_not_found_exception() {
                "check the name, the qualifier and the region"
            } else if err.is_too_many_requests_exception() {
                "Lambda kept throttling after the SDK's retries; try again later"
            } else if code == "AccessDeniedException" || code.contains("AccessDenied") {
                "the credentials need lambda:GetFunction on this function"
            } else {
                "see the message"
            };
            anyhow!("asking AWS Lambda about {name} failed: {code}: {msg} ({hint})")
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let text = chain_text(&e);
            if text.contains("no credentials") || text.contains("credential provider") {
                anyhow!(
                    "no AWS credentials for {name}: {text} (set them as for the AWS CLI: \
                     environment, profile, SSO, web identity or an instance role)"
                )
            } else {
                anyhow!(
                    "cannot reach AWS Lambda for {name}: {text} (check the network, the region \
                     and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_LAMBDA)"
                )
            }
        }
        _ => anyhow!(
            "asking AWS Lambda about {name} failed: {}",
            DisplayErrorContext(&e)
        ),
    }
}

/// An error and its sources, each shown once (the SDK's own Display of the outer error is
/// terse; its Debug form is noise).
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_references_split_their_qualifier() {
        let p = |s: &str| FunctionRef::parse(s).expect(s);
        assert_eq!(p("my-fn").qualifier, None);
        assert_eq!(p("my-fn:live").qualifier.as_deref(), Some("live"));
        assert_eq!(p("my-fn:live").name, "my-fn");
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:my-fn";
        assert_eq!(p(arn).name, arn);
        assert_eq!(p(arn).qualifier, None);
        let q = p(&format!("{arn}:7"));
        assert_eq!((q.name.as_str(), q.qualifier.as_deref()), (arn, Some("7")));
        assert_eq!(
            p("123456789012:function:my-fn:3").qualifier.as_deref(),
            Some("3")
        );
        for bad in ["", "a:b:c", "my-fn:", "arn:aws:s3:::bucket", "my-fn:1:2"] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad}");
        }
    }
}
