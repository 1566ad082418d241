//! Finding codes of `cargo slsa pin` (stable API: JSON `code`, SARIF `ruleId`).

crate::finding_codes! {
    /// What `pin` reports.
    pub enum PinCode {
        /// No Cargo.lock.
        LockfileMissing => ("lockfile-missing", Error,
            "Cargo.lock is missing, so every build may resolve different versions."),
        /// The lock does not match the manifests.
        LockfileStale => ("lockfile-stale", Error,
            "Cargo.lock does not match the manifests: a `--locked` build would fail or change it."),
        /// A git dependency that follows a branch, a tag or a short rev.
        GitUnpinned => ("git-unpinned", Error,
            "A git dependency follows a branch, a tag or an abbreviated rev instead of a full commit hash."),
        /// A `*` requirement.
        WildcardRequirement => ("wildcard-requirement", Error,
            "A dependency requirement contains `*` and accepts any version."),
        /// A requirement that is not `=x.y.z` (only with `--exact`).
        InexactRequirement => ("inexact-requirement", Error,
            "A registry dependency's requirement is not an exact `=x.y.z` version (checked with --exact)."),
        /// No toolchain file, or a channel that is not an exact version.
        ToolchainUnpinned => ("toolchain-unpinned", Error,
            "The Rust toolchain is not pinned to an exact version in rust-toolchain.toml."),
        /// A package from a source outside the allow-list.
        SourceNotAllowed => ("source-not-allowed", Error,
            "A locked package comes from a registry or git host that is not in `allowed-sources`."),
    }
}
