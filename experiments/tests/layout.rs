//! The house rules, checked: `experiments`' modules import only from the floors below
//! them (subcommands never from each other), no source file in the workspace is over 500
//! lines, and no function over 80 lines except a flat `match` (the backward sweep).

use std::path::{Path, PathBuf};

/// The floor of a module of `experiments/src` (higher imports lower), by its first path
/// segment under `crate::`: subcommands (`cmd`) take their arguments from `cli`, which
/// turns them into specs; `lib.rs` dispatches; every file is read through `bounded`.
fn floor(module: &str) -> Option<u32> {
    Some(match module {
        "cmd" => 8,
        "cli" => 7,
        "session" => 6,
        "report" | "fuzzing" => 5,
        "run" => 4,
        "store" => 3,
        "spec" => 2,
        "data" => 1,
        "bounded" => 0,
        _ => return None,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The file's text before its unit tests (which may use anything).
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text)
}

#[test]
fn modules_import_only_from_the_floors_below() {
    let src = root().join("experiments/src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut wrong = vec![];
    for f in &files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let module = rel.split(['/', '.']).next().unwrap().to_string();
        let Some(own) = floor(&module) else { continue }; // lib.rs, main.rs
        if rel.ends_with("tests.rs") {
            continue; // unit tests may use anything
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (at, _) in without_tests(&text).match_indices("crate::") {
            let used: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let Some(theirs) = floor(&used) else { continue };
            let same_floor_ok = used == module && module != "cmd";
            if theirs > own || (theirs == own && !same_floor_ok) {
                wrong.push(format!("{rel} imports crate::{used}"));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the floors:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_file_over_500_lines_and_no_function_over_80() {
    let mut files = vec![];
    for dir in ["crates", "experiments/src", "experiments/tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut wrong = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > 500 {
            wrong.push(format!("{}: {} lines", f.display(), lines.len()));
        }
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "unsafe fn ",
            ]
            .iter()
            .any(|p| code.starts_with(p));
            if !is_fn || code.ends_with(';') {
                continue;
            }
            let indent = &line[..line.len() - code.len()];
            let close = format!("{indent}}}");
            let len = lines[i..].iter().position(|l| *l == close).unwrap_or(0) + 1;
            // A flat match (one arm per op) may be long: the backward sweep's is.
            let body = lines[i..i + len].join("\n");
            let flat_match = body.matches("match ").count() == 1 && body.contains("Op::");
            if len > 80 && !flat_match {
                wrong.push(format!("{}:{}: {len} lines: {code}", f.display(), i + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "over budget:\n{}", wrong.join("\n"));
}
