//! The loopback HTTP server thread behind the kit's fakes (registry, GitHub API): bound to
//! 127.0.0.1 on a free port, bounded in requests and time, stopped and joined on drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Request, Server};

/// Past this the server thread exits even if its owner is leaked.
pub const HARD_DEADLINE: Duration = Duration::from_secs(600);
/// Past this many requests the server thread exits: a runaway client loop
/// should fail the test, not spin until the deadline.
pub const MAX_REQUESTS: u64 = 100_000;
const POLL: Duration = Duration::from_millis(50);

pub(crate) struct Loopback {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Loopback {
    /// Serve every request with `handle(request, our address)` on a thread named `name-PORT`.
    pub(crate) fn start(
        name: &str,
        handle: impl Fn(Request, SocketAddr) + Send + 'static,
    ) -> Loopback {
        let server = Server::http("127.0.0.1:0").expect("bind a loopback port");
        let addr = server
            .server_addr()
            .to_ip()
            .expect("tiny_http listens on TCP");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("{name}-{}", addr.port()))
                .spawn(move || {
                    let deadline = Instant::now() + HARD_DEADLINE;
                    let mut handled: u64 = 0;
                    while !stop.load(Ordering::Acquire)
                        && Instant::now() < deadline
                        && handled < MAX_REQUESTS
                    {
                        match server.recv_timeout(POLL) {
                            Ok(Some(request)) => {
                                handled += 1;
                                handle(request, addr);
                            }
                            Ok(None) => {}
                            // Accept errors are per-connection; back off so a persistent one
                            // cannot spin, and let the deadline bound the loop.
                            Err(_) => std::thread::sleep(POLL),
                        }
                    }
                })
                .expect("spawn the server thread")
        };
        Loopback {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            // A panic in the server thread already failed whichever request
            // hit it; re-raising it inside Drop would abort the test binary.
            let _ = thread.join();
        }
    }
}
