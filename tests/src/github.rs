//! `FakeGitHub`: a loopback stand-in for the parts of the GitHub REST API cargo-slsa calls,
//! with canned git refs and a request log. Requests without the expected token get 401, unknown
//! routes 404 (as GitHub answers for a missing ref). The server loop is bounded in requests and
//! time, like the registry's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tiny_http::{Header, Request, Response};

use crate::server::Loopback;

/// The token tests put in `GITHUB_TOKEN`.
pub const TOKEN: &str = "ghs_faketoken0123456789abcdefghijklmnopqrst";

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// Whether it carried the expected token.
    pub authorized: bool,
    pub body: String,
}

#[derive(Default)]
struct State {
    /// (method, path) → (status, body).
    routes: HashMap<(String, String), (u16, Value)>,
    log: Vec<ApiRequest>,
}

pub struct FakeGitHub {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _server: Loopback,
}

impl FakeGitHub {
    pub fn start() -> FakeGitHub {
        let state = Arc::new(Mutex::new(State::default()));
        let server = {
            let state = Arc::clone(&state);
            Loopback::start("slsa-tests-github", move |request, _| {
                respond(request, &state)
            })
        };
        FakeGitHub {
            addr: server.addr(),
            state,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`, for `--github-api-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer `method path` with `status` and `body`.
    pub fn route(&self, method: &str, path: &str, status: u16, body: Value) {
        self.state
            .lock()
            .expect("fake GitHub state")
            .routes
            .insert((method.to_owned(), path.to_owned()), (status, body));
    }

    /// A lightweight tag `tag` of `owner/repo` at commit `sha`.
    pub fn tag(&self, owner: &str, repo: &str, tag: &str, sha: &str) {
        self.route(
            "GET",
            &format!("/repos/{owner}/{repo}/git/ref/tags/{tag}"),
            200,
            json!({"ref": format!("refs/tags/{tag}"), "node_id": "x", "url": self.api(&format!("/repos/{owner}/{repo}/git/refs/tags/{tag}")),
                   "object": {"type": "commit", "sha": sha, "url": self.api(&format!("/repos/{owner}/{repo}/git/commits/{sha}"))}}),
        );
    }

    /// An annotated tag `tag` (tag object `tag_sha`) of `owner/repo` pointing at commit `sha`.
    pub fn annotated_tag(&self, owner: &str, repo: &str, tag: &str, tag_sha: &str, sha: &str) {
        self.route(
            "GET",
            &format!("/repos/{owner}/{repo}/git/ref/tags/{tag}"),
            200,
            json!({"ref": format!("refs/tags/{tag}"), "node_id": "x", "url": self.api(&format!("/repos/{owner}/{repo}/git/refs/tags/{tag}")),
                   "object": {"type": "tag", "sha": tag_sha, "url": self.api(&format!("/repos/{owner}/{repo}/git/tags/{tag_sha}"))}}),
        );
        self.route(
            "GET",
            &format!("/repos/{owner}/{repo}/git/tags/{tag_sha}"),
            200,
            json!({"tag": tag, "sha": tag_sha, "object": {"type": "commit", "sha": sha, "url": self.api(&format!("/repos/{owner}/{repo}/git/commits/{sha}"))}}),
        );
    }

    /// A branch `branch` of `owner/repo` at commit `sha`.
    pub fn branch(&self, owner: &str, repo: &str, branch: &str, sha: &str) {
        self.route(
            "GET",
            &format!("/repos/{owner}/{repo}/git/ref/heads/{branch}"),
            200,
            json!({"ref": format!("refs/heads/{branch}"), "node_id": "x", "url": self.api(&format!("/repos/{owner}/{repo}/git/refs/heads/{branch}")),
                   "object": {"type": "commit", "sha": sha, "url": self.api(&format!("/repos/{owner}/{repo}/git/commits/{sha}"))}}),
        );
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.state.lock().expect("fake GitHub state").log.clone()
    }
}

fn respond(mut request: Request, state: &Mutex<State>) {
    let method = request.method().as_str().to_owned();
    let path = request.url().split('?').next().unwrap_or("").to_owned();
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_owned())
        .unwrap_or_default();
    let authorized = auth == format!("Bearer {TOKEN}") || auth == format!("token {TOKEN}");
    let mut body = String::new();
    let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
    let (status, answer) = {
        let mut st = state.lock().expect("fake GitHub state");
        st.log.push(ApiRequest {
            method: method.clone(),
            path: path.clone(),
            authorized,
            body,
        });
        if !authorized {
            (
                401,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
            )
        } else {
            st.routes.get(&(method, path)).cloned().unwrap_or((
                404,
                json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
            ))
        }
    };
    let header =
        Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).expect("static header");
    let _ = request.respond(
        Response::from_string(answer.to_string())
            .with_status_code(status)
            .with_header(header),
    );
}
