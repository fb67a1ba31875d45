//! README's "Adding an initializer", followed literally on a copy of the repository: its
//! first block becomes `crates/init/src/geomean.rs`, `mod geomean;` goes beside the other
//! initializers' `mod` lines, its second block at the end of `REGISTRY`, its third at the
//! top of `SPECS`; then `cargo fmt --check` and `cargo test -p init` must pass (the
//! registry's test writes `geomean:dist=uniform` back as given).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Copies the sources (not builds, results, data or git) of the repository.
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if ["target", "results", "data", ".git", "fuzz"].contains(&name.as_str()) {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_sources(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// The `rust,ignore` blocks of README's "Adding an initializer" section, in order.
fn blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("## Adding an initializer")
        .expect("the section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    section
        .split("```rust,ignore\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

fn insert_after(text: &str, anchor: &str, what: &str) -> String {
    let i = text
        .find(anchor)
        .unwrap_or_else(|| panic!("`{anchor}` not found"))
        + anchor.len();
    format!("{}{what}{}", &text[..i], &text[i..])
}

fn cargo(dir: &Path, args: &[&str]) {
    let o = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/readme-init"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cargo {args:?} failed on README's initializer:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn adding_an_initializer_as_readme_says_builds_and_passes_the_tests() {
    let b = blocks();
    assert_eq!(b.len(), 3, "the file, the registry row, the specs");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    copy_sources(root(), repo);
    let src = repo.join("crates/init/src");
    std::fs::write(src.join("geomean.rs"), &b[0]).unwrap();
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let lib = insert_after(&lib, "mod gaussian;\n", "mod geomean;\n");
    let registry = lib.find("pub const REGISTRY").unwrap();
    let end = registry + lib[registry..].find("\n];").unwrap() + 1;
    let lib = format!("{}{}{}", &lib[..end], b[1], &lib[end..]);
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    let tests = std::fs::read_to_string(src.join("tests.rs")).unwrap();
    let tests = insert_after(&tests, "const SPECS: &[&str] = &[\n", &b[2]);
    std::fs::write(src.join("tests.rs"), tests).unwrap();
    cargo(repo, &["fmt", "--all", "--", "--check"]);
    cargo(repo, &["test", "-q", "--offline", "-p", "init"]);
}
