//! `FakeLambda`: a loopback stand-in for the part of the AWS Lambda API `verify
//! --lambda-function` calls — `GetFunction` (`GET /2015-03-31/functions/{name}`) and
//! `GetFunctionConfiguration` (`…/{name}/configuration`), with the `Qualifier` query parameter
//! — reached through the real AWS SDK with `AWS_ENDPOINT_URL_LAMBDA` ([`FakeLambda::aws_env`]).
//!
//! Like the service, it refuses requests that are not SigV4-signed (an `Authorization` header
//! starting `AWS4-HMAC-SHA256` that names the test access key), answers unknown functions with
//! 404 `ResourceNotFoundException`, and can be told to deny a function (403
//! `AccessDeniedException`) or to throttle the next requests (429
//! `TooManyRequestsException`). Errors use the REST-JSON shape: the `x-amzn-ErrorType` header
//! and a `{"Type","message"}` body. The server loop is bounded in requests and time.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tiny_http::{Header, Request, Response};

use crate::server::Loopback;

/// The access key id tests put in `AWS_ACCESS_KEY_ID`.
pub const ACCESS_KEY_ID: &str = "AKIAFAKELAMBDATEST01";
/// The secret access key tests put in `AWS_SECRET_ACCESS_KEY`: it must never be printed.
pub const SECRET_ACCESS_KEY: &str = "fAkE/SeCrEt+AcCeSs/KeY0123456789abcdefGH";
/// The session token tests put in `AWS_SESSION_TOKEN`: it must never be printed.
pub const SESSION_TOKEN: &str = "FakeSessionToken//QmFzZTY0LWlzaC1zZXNzaW9uLXRva2VuLXZhbHVl";
/// The region the fake pretends to be.
pub const REGION: &str = "eu-west-1";
/// The account id in the fake's ARNs.
pub const ACCOUNT: &str = "123456789012";

/// A deployed function version as the fake reports it.
#[derive(Clone, Debug)]
pub struct Function {
    /// `CodeSha256`: base64 of the package's sha256.
    pub code_sha256: String,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// `$LATEST` or a number.
    pub version: String,
    /// Layer ARNs.
    pub layers: Vec<String>,
    /// Environment variables (name, value).
    pub env: Vec<(String, String)>,
}

impl Function {
    /// A zip function with this `CodeSha256` on x86_64, `$LATEST`.
    pub fn zip(code_sha256: &str) -> Function {
        Function {
            code_sha256: code_sha256.to_string(),
            package_type: "Zip".into(),
            architecture: "x86_64".into(),
            version: "$LATEST".into(),
            layers: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct LambdaRequest {
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    pub qualifier: Option<String>,
    /// Whether it carried a SigV4 `Authorization` header for the test key.
    pub signed: bool,
    /// Every header value, to check that no secret travels in clear.
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    /// (name, qualifier) → function; qualifier `None` is `$LATEST`.
    functions: HashMap<(String, Option<String>), Function>,
    denied: HashSet<String>,
    throttle: u32,
    log: Vec<LambdaRequest>,
}

pub struct FakeLambda {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _server: Loopback,
}

impl Default for FakeLambda {
    fn default() -> FakeLambda {
        FakeLambda::start()
    }
}

impl FakeLambda {
    pub fn start() -> FakeLambda {
        let state = Arc::new(Mutex::new(State::default()));
        let server = {
            let state = Arc::clone(&state);
            Loopback::start("slsa-tests-lambda", move |request, _| {
                respond(request, &state)
            })
        };
        FakeLambda {
            addr: server.addr(),
            state,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Deploy `f` as function `name` (no qualifier: `$LATEST`; else that alias or version).
    pub fn deploy(&self, name: &str, qualifier: Option<&str>, f: Function) {
        self.state
            .lock()
            .expect("fake lambda state")
            .functions
            .insert((name.to_string(), qualifier.map(str::to_string)), f);
    }

    /// Answer 403 `AccessDeniedException` for `name`.
    pub fn deny(&self, name: &str) {
        self.state
            .lock()
            .expect("fake lambda state")
            .denied
            .insert(name.to_string());
    }

    /// Answer the next `n` requests with 429 `TooManyRequestsException`.
    pub fn throttle_next(&self, n: u32) {
        self.state.lock().expect("fake lambda state").throttle = n;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LambdaRequest> {
        self.state.lock().expect("fake lambda state").log.clone()
    }

    /// The environment the AWS SDK needs to reach this fake and nothing else: the endpoint,
    /// the region, static test credentials, no instance metadata, no shared config files.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_LAMBDA", self.url()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            (
                "AWS_CONFIG_FILE",
                "/nonexistent/slsa-tests/aws-config".into(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/slsa-tests/aws-credentials".into(),
            ),
            ("AWS_MAX_ATTEMPTS", "3".into()),
            ("AWS_RETRY_MODE", "standard".into()),
        ]
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error(status: u16, kind: &str, message: &str) -> (u16, Vec<(String, String)>, Value) {
    (
        status,
        vec![(
            "x-amzn-ErrorType".into(),
            format!("{kind}:http://internal.amazon.com/coral/com.amazonaws.awslambda/"),
        )],
        json!({"Type": "User", "message": message}),
    )
}

fn configuration(name: &str, qualifier: Option<&str>, f: &Function) -> Value {
    let base = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
    json!({
        "FunctionName": name,
        "FunctionArn": match qualifier { Some(q) => format!("{base}:{q}"), None => base },
        "Runtime": if f.package_type == "Zip" { json!("provided.al2023") } else { Value::Null },
        "Handler": "bootstrap",
        "CodeSize": 1234,
        "CodeSha256": f.code_sha256,
        "Version": f.version,
        "PackageType": f.package_type,
        "Architectures": [f.architecture],
        "Layers": f.layers.iter().map(|a| json!({"Arn": a, "CodeSize": 1})).collect::<Vec<_>>(),
        "Environment": {"Variables": f.env.iter().cloned().collect::<std::collections::BTreeMap<_, _>>()},
        "State": "Active",
        "LastUpdateStatus": "Successful",
    })
}

fn respond(request: Request, state: &Mutex<State>) {
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let (raw_path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let path = percent_decode(raw_path);
    let qualifier = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("Qualifier="))
        .map(percent_decode);
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let auth = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let signed = auth.starts_with("AWS4-HMAC-SHA256")
        && auth.contains(&format!("Credential={ACCESS_KEY_ID}/"))
        && auth.contains("/lambda/aws4_request");
    let (status, extra_headers, body) = {
        let mut st = state.lock().expect("fake lambda state");
        st.log.push(LambdaRequest {
            method: method.clone(),
            path: path.clone(),
            qualifier: qualifier.clone(),
            signed,
            headers,
        });
        let route = path.strip_prefix("/2015-03-31/functions/").map(|rest| {
            match rest.strip_suffix("/configuration") {
                Some(name) => (name.to_string(), true),
                None => (rest.to_string(), false),
            }
        });
        if !signed {
            error(
                403,
                "IncompleteSignatureException",
                "Authorization header requires a SigV4 signature",
            )
        } else if st.throttle > 0 {
            st.throttle -= 1;
            error(429, "TooManyRequestsException", "Rate exceeded")
        } else {
            match (method.as_str(), route) {
                ("GET", Some((name, config_only))) => {
                    // A qualified ARN or NAME:QUALIFIER in the path wins over the query.
                    let short = name
                        .rsplit(":function:")
                        .next()
                        .unwrap_or(&name)
                        .to_string();
                    let (short, qualifier) = match short.split_once(':') {
                        Some((n, q)) => (n.to_string(), Some(q.to_string())),
                        None => (short, qualifier.clone()),
                    };
                    if st.denied.contains(&short) {
                        error(
                            403,
                            "AccessDeniedException",
                            &format!(
                                "User is not authorized to perform: lambda:GetFunction on resource: {short}"
                            ),
                        )
                    } else {
                        let key = (short.clone(), qualifier.clone().filter(|q| q != "$LATEST"));
                        match st.functions.get(&key) {
                            Some(f) => {
                                let conf = configuration(&short, qualifier.as_deref(), f);
                                let body = if config_only {
                                    conf
                                } else {
                                    json!({
                                        "Configuration": conf,
                                        "Code": {"RepositoryType": "S3", "Location": "https://example.invalid/code.zip"},
                                    })
                                };
                                (200, Vec::new(), body)
                            }
                            None => error(
                                404,
                                "ResourceNotFoundException",
                                &format!(
                                    "Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:{short}{}",
                                    qualifier.map(|q| format!(":{q}")).unwrap_or_default()
                                ),
                            ),
                        }
                    }
                }
                _ => error(404, "ResourceNotFoundException", "no such route"),
            }
        }
    };
    let mut response = Response::from_string(body.to_string()).with_status_code(status);
    for (k, v) in std::iter::once(("Content-Type".to_string(), "application/json".to_string()))
        .chain(extra_headers)
    {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response = response.with_header(h);
        }
    }
    let _ = request.respond(response);
}
