//! Fixture kit for cargo-slsa's tests: a loopback sparse registry, crate
//! tarballs built in memory, local git remotes, temp workspaces, and a
//! hermetic, time-bounded way to run cargo and the binary under test.
//!
//! Nothing here reaches beyond 127.0.0.1 or reads the developer's
//! `~/.cargo`: every test gets its own `CARGO_HOME` whose crates-io source is
//! replaced by a [`Registry`] the test controls.

pub mod advisory;
pub mod cmd;
pub mod git;
pub mod github;
pub mod krate;
pub mod lambda;
pub mod lockfile;
pub mod project;
pub mod registry;
mod server;
pub mod sigstore;

pub use advisory::{Advisory, AdvisoryDb};
pub use cmd::{Env, RunOutput, cargo_bin, run, run_with_timeout, rustc_bin, sysroot};
pub use git::{GitRemote, git_command};
pub use github::{ApiRequest, FakeGitHub};
pub use krate::{CrateBuilder, Dep, DepKind, RawEntry};
pub use lambda::FakeLambda;
pub use lockfile::{CRATES_IO_SOURCE, LockedPackage};
pub use project::{CargoHome, Project, ProjectBuilder, basic_manifest};
pub use registry::{HttpResponse, Published, Registry, Served};
pub use sigstore::FakeSigstore;

#[cfg(test)]
mod selftest;
