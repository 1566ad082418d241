//! `FakeGitHub`: a loopback stand-in for the parts of the GitHub REST API cargo-slsa calls,
//! with canned git refs and a request log. Requests without the expected token get 401, unknown
//! routes 404 (as GitHub answers for a missing ref). The server loop is bounded in requests and
//! time, like the registry's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tiny_http::{Header, Response, Server};

const POLL: Duration = Duration::from_millis(20);
const HARD_DEADLINE: Duration = Duration::from_secs(300);
const MAX_REQUESTS: u64 = 10_000;

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
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    pub fn start() -> FakeGitHub {
        let server = Server::http("127.0.0.1:0").expect("bind a loopback port for the fake GitHub");
        let addr = server
            .server_addr()
            .to_ip()
            .expect("tiny_http listens on TCP");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("slsa-tests-github-{}", addr.port()))
                .spawn(move || serve(&server, &state, &stop))
                .expect("spawn the fake GitHub thread")
        };
        FakeGitHub {
            addr,
            state,
            stop,
            thread: Some(thread),
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

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: &Server, state: &Mutex<State>, stop: &AtomicBool) {
    let deadline = Instant::now() + HARD_DEADLINE;
    let mut handled = 0u64;
    while !stop.load(Ordering::Acquire) && Instant::now() < deadline && handled < MAX_REQUESTS {
        match server.recv_timeout(POLL) {
            Ok(Some(mut request)) => {
                handled += 1;
                let method = request.method().as_str().to_owned();
                let path = request.url().split('?').next().unwrap_or("").to_owned();
                let auth = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.as_str().to_owned())
                    .unwrap_or_default();
                let authorized =
                    auth == format!("Bearer {TOKEN}") || auth == format!("token {TOKEN}");
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let answer = {
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
                let header = Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..])
                    .expect("static header");
                let _ = request.respond(
                    Response::from_string(answer.1.to_string())
                        .with_status_code(answer.0)
                        .with_header(header),
                );
            }
            Ok(None) => {}
            Err(_) => std::thread::sleep(POLL),
        }
    }
}
