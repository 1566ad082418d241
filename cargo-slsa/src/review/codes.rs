//! Finding codes of `cargo slsa review` (stable API).

crate::finding_codes! {
    /// What `review` reports about the crates a lockfile change brings in.
    pub enum ReviewCode {
        /// The new version has a build script the old one did not (or a new crate has one).
        BuildScriptAdded => ("build-script-added", Warning,
            "The update adds a build script: code that runs on every machine that builds the workspace."),
        /// The build script's source changed.
        BuildScriptChanged => ("build-script-changed", Note,
            "The update changes the crate's build script."),
        /// `proc-macro = true` newly.
        ProcMacroAdded => ("proc-macro-added", Warning,
            "The update makes the crate a procedural macro: code that runs inside the compiler."),
        /// New process spawning (in build-time code, or anywhere with --all-code).
        ProcessSpawn => ("process-spawn", Error,
            "New code starts processes (std::process::Command, exec, system) at build time."),
        /// New network access (in build-time code, or anywhere with --all-code).
        NetworkAccess => ("network-access", Error,
            "New code opens network connections (std::net, an HTTP client) at build time."),
        /// A build script reads credentials.
        EnvSecrets => ("env-secrets", Error,
            "A build script newly reads secrets: *_TOKEN, *_KEY, AWS_* or HOME variables, ~/.ssh, cargo's credentials."),
        /// An added file is an executable, an object file, an archive or a high-entropy blob.
        BinaryFileAdded => ("binary-file-added", Error,
            "The update adds a binary file: an executable, object file, archive or high-entropy blob."),
        /// Long encoded literals, or `include_bytes!` of a file that is not source.
        Obfuscation => ("obfuscation", Warning,
            "New code carries long base64 or hex literals, or includes the bytes of a file that is not source."),
        /// More `unsafe` than before.
        UnsafeAdded => ("unsafe-added", Note,
            "The update adds unsafe blocks, functions, impls or traits."),
        /// The same version has another checksum than in the base lock.
        ChecksumChanged => ("checksum-changed", Error,
            "The same version of a crate has another checksum than in the base lockfile: its archive was replaced, or the lock edited."),
        /// A crate enters the graph.
        NewDependency => ("new-dependency", Note,
            "A crate that was not in Cargo.lock before enters the dependency graph."),
        /// Another account published this version than the previous one.
        PublisherChanged => ("publisher-changed", Warning,
            "The new version was published by another account than the version it replaces."),
        /// The crate's first version is younger than --min-age.
        NewCrateYoung => ("new-crate-young", Warning,
            "A crate entering the graph was first published less than --min-age days ago."),
    }
}
