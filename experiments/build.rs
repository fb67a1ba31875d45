//! Captures the build's provenance for the records a run writes: the git commit, whether
//! the work tree had uncommitted changes, and the compiler's version ("unknown" where git
//! or the repository is not there, as in a packaged source).

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = output("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"])
        .map(|s| (!s.is_empty()).to_string())
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DELVE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=DELVE_GIT_DIRTY={dirty}");
    println!("cargo:rustc-env=DELVE_RUSTC={version}");
    // A new commit, a change to the index, or any source edit can change the answer.
    for path in [
        "../.git/HEAD",
        "../.git/index",
        "../crates",
        "src",
        "../Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
}
