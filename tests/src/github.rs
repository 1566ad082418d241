//! `FakeGitHub`: a loopback stand-in for the parts of the GitHub REST API cargo-slsa calls,
//! with canned git refs and a request log, and stateful repositories ([`FakeGitHub::repo`]):
//! refs, blobs, trees, commits, pull requests, labels and comments behave as GitHub's do, and
//! faults (rate limits with `Retry-After`, 5xx) can be injected for the next requests. Requests without the expected token get 401, unknown
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
    /// "owner/repo" → its state.
    repos: HashMap<String, RepoState>,
    /// Answers for the next requests instead of the real ones: (status, Retry-After).
    faults: std::collections::VecDeque<(u16, Option<u64>)>,
    counter: u64,
}

/// A pull request in a stateful repository.
#[derive(Clone, Debug)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    /// `owner/repo` the head branch lives in (another one for a fork's pull request).
    pub head_repo: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub state: String,
    pub labels: Vec<String>,
    pub comments: Vec<String>,
}

#[derive(Default)]
struct RepoState {
    /// "heads/main" → commit sha.
    refs: HashMap<String, String>,
    /// sha → object JSON (`type`: blob, tree, commit).
    objects: HashMap<String, Value>,
    pulls: Vec<Pull>,
    /// The first branch the repository was made with (`GET /repos/{owner}/{repo}`).
    default_branch: String,
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
            Loopback::start("slsa-tests-github", move |request, addr| {
                respond(request, &state, addr)
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

    /// Stop answering `method path` with a canned route.
    pub fn unroute(&self, method: &str, path: &str) {
        self.state
            .lock()
            .expect("fake GitHub state")
            .routes
            .remove(&(method.to_owned(), path.to_owned()));
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

    /// A stateful repository `owner/repo` whose branch `branch` holds one commit with `files`
    /// (path → text). Returns the commit sha.
    pub fn repo(&self, owner: &str, repo: &str, branch: &str, files: &[(&str, &str)]) -> String {
        self.repo_at(owner, repo, branch, None, files)
    }

    /// As [`FakeGitHub::repo`], with the branch's commit named `commit` (say, the local
    /// checkout's HEAD, so the two agree).
    pub fn repo_at(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
        commit: Option<&str>,
        files: &[(&str, &str)],
    ) -> String {
        let mut st = self.state.lock().expect("fake GitHub state");
        let mut entries = Vec::new();
        for (path, content) in files {
            let sha = next_sha(&mut st);
            let r = st.repos.entry(format!("{owner}/{repo}")).or_default();
            r.objects
                .insert(sha.clone(), json!({"type": "blob", "content": content}));
            entries.push(json!({"path": path, "mode": "100644", "type": "blob", "sha": sha}));
        }
        let tree = next_sha(&mut st);
        let commit = match commit {
            Some(c) => c.to_string(),
            None => next_sha(&mut st),
        };
        let r = st.repos.entry(format!("{owner}/{repo}")).or_default();
        r.objects.insert(
            tree.clone(),
            json!({"type": "tree", "base_tree": null, "tree": entries}),
        );
        r.objects.insert(
            commit.clone(),
            json!({"type": "commit", "tree": tree, "parents": [], "message": "initial"}),
        );
        r.refs.insert(format!("heads/{branch}"), commit.clone());
        if r.default_branch.is_empty() {
            r.default_branch = branch.to_string();
        }
        commit
    }

    /// The pull requests of a stateful repository.
    pub fn pulls(&self, owner: &str, repo: &str) -> Vec<Pull> {
        let st = self.state.lock().expect("fake GitHub state");
        st.repos
            .get(&format!("{owner}/{repo}"))
            .map(|r| r.pulls.clone())
            .unwrap_or_default()
    }

    /// The text of `path` at the tip of `branch`, following trees and their base trees.
    pub fn file(&self, owner: &str, repo: &str, branch: &str, path: &str) -> Option<String> {
        let st = self.state.lock().expect("fake GitHub state");
        let r = st.repos.get(&format!("{owner}/{repo}"))?;
        let commit = r.refs.get(&format!("heads/{branch}"))?;
        let mut tree = r.objects.get(commit)?["tree"].as_str()?.to_string();
        loop {
            let t = r.objects.get(&tree)?;
            if let Some(e) = t["tree"]
                .as_array()?
                .iter()
                .find(|e| e["path"].as_str() == Some(path))
            {
                let blob = r.objects.get(e["sha"].as_str()?)?;
                return blob["content"].as_str().map(String::from);
            }
            tree = t["base_tree"].as_str()?.to_string();
        }
    }

    /// A pull request from a fork's branch `head` (the fork is `fork_owner/repo`).
    pub fn fork_pull(&self, owner: &str, repo: &str, fork_owner: &str, head: &str, base: &str) {
        let mut st = self.state.lock().expect("fake GitHub state");
        let Some(r) = st.repos.get_mut(&format!("{owner}/{repo}")) else {
            return;
        };
        let number = r.pulls.len() as u64 + 1;
        r.pulls.push(Pull {
            number,
            head: head.to_string(),
            head_repo: format!("{fork_owner}/{repo}"),
            base: base.to_string(),
            title: "a contributor's change".into(),
            body: String::new(),
            state: "open".into(),
            labels: Vec::new(),
            comments: Vec::new(),
        });
    }

    /// The commit `branch` points at.
    pub fn head(&self, owner: &str, repo: &str, branch: &str) -> Option<String> {
        let st = self.state.lock().expect("fake GitHub state");
        st.repos
            .get(&format!("{owner}/{repo}"))?
            .refs
            .get(&format!("heads/{branch}"))
            .cloned()
    }

    /// Answer the next request with `status` (and `Retry-After: secs` when given) instead.
    pub fn fail_next(&self, status: u16, retry_after: Option<u64>) {
        self.state
            .lock()
            .expect("fake GitHub state")
            .faults
            .push_back((status, retry_after));
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.state.lock().expect("fake GitHub state").log.clone()
    }
}

fn next_sha(st: &mut State) -> String {
    st.counter += 1;
    format!("{:040x}", 0xfeed_0000_u64 + st.counter)
}

/// The stateful repository API; `None` when the path is not one of its routes.
fn repo_api(
    st: &mut State,
    method: &str,
    path: &str,
    query: &str,
    body: &Value,
    base_url: &str,
) -> Option<(u16, Value)> {
    let rest = path.strip_prefix("/repos/")?;
    let mut parts = rest.splitn(3, '/');
    let (owner, repo, tail) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let key = format!("{owner}/{repo}");
    if !st.repos.contains_key(&key) {
        return None;
    }
    let not_found = (404, json!({"message": "Not Found"}));
    let html = |n: u64| format!("{base_url}/{owner}/{repo}/pull/{n}");
    let pull_json = |p: &Pull| {
        json!({"number": p.number, "state": p.state, "title": p.title, "body": p.body,
               "head": {"ref": p.head, "repo": {"full_name": p.head_repo}}, "base": {"ref": p.base}, "html_url": html(p.number),
               "labels": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()})
    };
    if tail.is_empty() {
        let repo_state = st.repos.get(&key)?;
        return Some(match method {
            "GET" => (
                200,
                json!({"full_name": key, "default_branch": repo_state.default_branch}),
            ),
            _ => not_found,
        });
    }
    if let Some(r) = tail.strip_prefix("git/ref/") {
        let repo_state = st.repos.get(&key)?;
        return Some(match (method, repo_state.refs.get(r)) {
            ("GET", Some(sha)) => (
                200,
                json!({"ref": format!("refs/{r}"), "object": {"type": "commit", "sha": sha}}),
            ),
            _ => not_found,
        });
    }
    if let Some(sha) = tail.strip_prefix("git/commits/") {
        let o = st.repos.get(&key)?.objects.get(sha).cloned();
        return Some(match o {
            Some(c) if method == "GET" => (
                200,
                json!({"sha": sha, "tree": {"sha": c["tree"]}, "message": c["message"],
                       "parents": c["parents"].as_array().into_iter().flatten().map(|p| json!({"sha": p})).collect::<Vec<_>>()}),
            ),
            _ => not_found,
        });
    }
    if method == "POST" && matches!(tail, "git/blobs" | "git/trees" | "git/commits") {
        let sha = next_sha(st);
        let object = match tail {
            "git/blobs" => json!({"type": "blob", "content": body["content"]}),
            "git/trees" => {
                json!({"type": "tree", "base_tree": body["base_tree"], "tree": body["tree"]})
            }
            _ => {
                let tree = body["tree"].as_str().unwrap_or_default();
                if !st.repos.get(&key)?.objects.contains_key(tree) {
                    return Some((422, json!({"message": "tree not found"})));
                }
                json!({"type": "commit", "tree": tree, "parents": body["parents"], "message": body["message"]})
            }
        };
        st.repos.get_mut(&key)?.objects.insert(sha.clone(), object);
        return Some((201, json!({"sha": sha})));
    }
    if tail == "git/refs" && method == "POST" {
        let r = body["ref"].as_str()?.strip_prefix("refs/")?.to_string();
        let repo_state = st.repos.get_mut(&key)?;
        if repo_state.refs.contains_key(&r) {
            return Some((422, json!({"message": "Reference already exists"})));
        }
        repo_state
            .refs
            .insert(r.clone(), body["sha"].as_str()?.to_string());
        return Some((
            201,
            json!({"ref": format!("refs/{r}"), "object": {"sha": body["sha"]}}),
        ));
    }
    if let Some(r) = tail.strip_prefix("git/refs/")
        && method == "PATCH"
    {
        let repo_state = st.repos.get_mut(&key)?;
        if !repo_state.refs.contains_key(r) {
            return Some((422, json!({"message": "Reference does not exist"})));
        }
        if body["force"] != json!(true) {
            return Some((422, json!({"message": "Update is not a fast forward"})));
        }
        repo_state
            .refs
            .insert(r.to_string(), body["sha"].as_str()?.to_string());
        return Some((
            200,
            json!({"ref": format!("refs/{r}"), "object": {"sha": body["sha"]}}),
        ));
    }
    if tail == "pulls" {
        let repo_state = st.repos.get_mut(&key)?;
        if method == "GET" {
            let want_state = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("state="))
                .unwrap_or("open");
            let page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let per_page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("per_page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let list: Vec<Value> = repo_state
                .pulls
                .iter()
                .filter(|p| want_state == "all" || p.state == want_state)
                .skip((page.max(1) - 1) * per_page)
                .take(per_page)
                .map(pull_json)
                .collect();
            return Some((200, Value::Array(list)));
        }
        if method == "POST" {
            let head = body["head"].as_str()?.to_string();
            if !repo_state.refs.contains_key(&format!("heads/{head}")) {
                return Some((422, json!({"message": "head branch does not exist"})));
            }
            if repo_state
                .pulls
                .iter()
                .any(|p| p.head == head && p.head_repo == key && p.state == "open")
            {
                return Some((422, json!({"message": "A pull request already exists"})));
            }
            let number = repo_state.pulls.len() as u64 + 1;
            let p = Pull {
                number,
                head,
                head_repo: key.clone(),
                base: body["base"].as_str().unwrap_or_default().to_string(),
                title: body["title"].as_str().unwrap_or_default().to_string(),
                body: body["body"].as_str().unwrap_or_default().to_string(),
                state: "open".into(),
                labels: Vec::new(),
                comments: Vec::new(),
            };
            let out = pull_json(&p);
            repo_state.pulls.push(p);
            return Some((201, out));
        }
    }
    if let Some(n) = tail.strip_prefix("pulls/")
        && method == "PATCH"
    {
        let n: u64 = n.parse().ok()?;
        let repo_state = st.repos.get_mut(&key)?;
        let Some(p) = repo_state.pulls.iter_mut().find(|p| p.number == n) else {
            return Some(not_found);
        };
        if let Some(t) = body["title"].as_str() {
            p.title = t.to_string();
        }
        if let Some(b) = body["body"].as_str() {
            p.body = b.to_string();
        }
        if let Some(s) = body["state"].as_str() {
            p.state = s.to_string();
        }
        return Some((200, pull_json(p)));
    }
    if let Some(rest) = tail.strip_prefix("issues/") {
        let (n, what) = rest.split_once('/')?;
        let n: u64 = n.parse().ok()?;
        let repo_state = st.repos.get_mut(&key)?;
        let Some(p) = repo_state.pulls.iter_mut().find(|p| p.number == n) else {
            return Some(not_found);
        };
        if method == "POST" && what == "labels" {
            for l in body["labels"].as_array().into_iter().flatten() {
                if let Some(l) = l.as_str()
                    && !p.labels.iter().any(|x| x == l)
                {
                    p.labels.push(l.to_string());
                }
            }
            return Some((
                200,
                Value::Array(p.labels.iter().map(|l| json!({"name": l})).collect()),
            ));
        }
        if method == "POST" && what == "comments" {
            p.comments
                .push(body["body"].as_str().unwrap_or_default().to_string());
            return Some((201, json!({"id": p.comments.len()})));
        }
    }
    None
}

fn respond(mut request: Request, state: &Mutex<State>, addr: SocketAddr) {
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let path = url.split('?').next().unwrap_or("").to_owned();
    let query = url
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    let base_url = format!("http://{addr}");
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_owned())
        .unwrap_or_default();
    let authorized = auth == format!("Bearer {TOKEN}") || auth == format!("token {TOKEN}");
    let mut body_text = String::new();
    let _ = std::io::Read::read_to_string(request.as_reader(), &mut body_text);
    let (status, answer, retry_after) = {
        let mut st = state.lock().expect("fake GitHub state");
        st.log.push(ApiRequest {
            method: method.clone(),
            path: path.clone(),
            authorized,
            body: body_text.clone(),
        });
        if !authorized {
            (
                401,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
                None,
            )
        } else if let Some((status, retry_after)) = st.faults.pop_front() {
            (status, json!({"message": "injected fault"}), retry_after)
        } else if let Some((status, body)) = st.routes.get(&(method.clone(), path.clone())).cloned()
        {
            (status, body, None)
        } else {
            let parsed: Value = serde_json::from_str(&body_text).unwrap_or(Value::Null);
            match repo_api(&mut st, &method, &path, &query, &parsed, &base_url) {
                Some((status, body)) => (status, body, None),
                None => (
                    404,
                    json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
                    None,
                ),
            }
        }
    };
    let header =
        Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]).expect("static header");
    let mut response = Response::from_string(answer.to_string())
        .with_status_code(status)
        .with_header(header);
    if let Some(secs) = retry_after {
        response = response.with_header(
            Header::from_bytes(&b"Retry-After"[..], secs.to_string().as_bytes())
                .expect("retry-after header"),
        );
    }
    let _ = request.respond(response);
}
