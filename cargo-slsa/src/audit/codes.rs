//! Finding codes of `cargo slsa audit` (stable API: JSON `code`, SARIF `ruleId`).

crate::finding_codes! {
    /// What `audit` reports.
    pub enum AuditCode {
        /// A locked package version is affected by a RustSec security advisory.
        Vulnerability => ("vulnerability", Error,
            "A locked package version is affected by a RustSec security advisory."),
        /// An informational advisory says the crate is no longer maintained.
        Unmaintained => ("unmaintained", Warning,
            "A locked crate is marked unmaintained by a RustSec informational advisory."),
        /// An informational advisory says the crate is unsound.
        Unsound => ("unsound", Warning,
            "A locked package version is unsound (undefined behaviour reachable from safe code) per a RustSec advisory."),
        /// The locked version was yanked from its registry.
        Yanked => ("yanked", Warning,
            "A locked package version was yanked from its registry."),
    }
}
