//! Finding codes of `cargo slsa update` (stable API; listed in docs/).

crate::finding_codes! {
    /// What `update` reports.
    pub enum UpdateCode {
        /// A version that fixes an advisory affecting the lock is available.
        SecurityUpdate => ("security-update", Warning, "A newer version fixes a RustSec advisory that affects the locked version."),
        /// cargo refused one update; it was undone.
        UpdateFailed => ("update-failed", Warning, "Cargo could not make one update (it was undone); the others were made."),
        /// --check-cmd failed after applying.
        CheckFailed => ("check-failed", Error, "The --check-cmd command failed after the updates were applied."),
    }
}
