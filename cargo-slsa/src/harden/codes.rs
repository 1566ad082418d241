//! Finding codes of `cargo slsa harden` (stable API). The first six are zizmor's audit names for
//! the same checks, so findings can be cross-referenced; the rest are ours.

crate::finding_codes! {
    /// What `harden` reports.
    pub enum HardenCode {
        /// `uses:` not pinned to a full commit SHA (or a docker image digest).
        UnpinnedUses => ("unpinned-uses", Error,
            "An action or reusable workflow is referenced by a tag or branch instead of a full 40-hex commit SHA."),
        /// Default or write permissions broader than needed.
        ExcessivePermissions => ("excessive-permissions", Error,
            "The GITHUB_TOKEN gets default or write permissions broader than the workflow needs."),
        /// `pull_request_target` / `workflow_run` triggers.
        DangerousTriggers => ("dangerous-triggers", Error,
            "A `pull_request_target` or `workflow_run` trigger runs with secrets in the context of untrusted changes."),
        /// Attacker-controllable `${{ }}` expanded into a script.
        TemplateInjection => ("template-injection", Error,
            "A `${{ }}` expression that may carry attacker-controlled text is expanded directly into a `run:` or `script:`."),
        /// A checkout that leaves the token in `.git/config`.
        Artipacked => ("artipacked", Warning,
            "actions/checkout without `persist-credentials: false` leaves the token in .git/config, where artifacts and later steps can read it."),
        /// A cache restored into a release/publishing workflow.
        CachePoisoning => ("cache-poisoning", Error,
            "A cache is restored in a workflow that publishes artifacts, so a poisoned cache entry can reach a release."),
        /// cargo without `--locked`/`--frozen`.
        CargoUnlocked => ("cargo-unlocked", Error,
            "A cargo build, test, install, run or publish runs without --locked (or --frozen), so CI may build other versions than Cargo.lock says."),
        /// A Lambda deploy with no verification before it in the job.
        DeployUnverified => ("deploy-unverified", Warning,
            "A job deploys AWS Lambda code (aws lambda update-function-code, sam/serverless/cargo lambda deploy, aws-lambda-deploy) without an earlier `cargo slsa verify` step in the same job."),
        /// A literal that looks like a credential.
        HardcodedCredentials => ("hardcoded-credentials", Error,
            "A value in `env:` or `with:` looks like a literal credential (a token, an AWS key) instead of a `${{ secrets.* }}` reference."),
    }
}
