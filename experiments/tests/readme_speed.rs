//! README's speed tables are the committed benchmark files' numbers: each table follows a
//! line naming its `bench/results/*.jsonl` (the JSON lines `bench/side_by_side.sh` printed,
//! kept with `SAVE=`), and every row, and the ratio line under it, must be what the file's
//! medians give.

use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    assert!(n > 0, "median of nothing");
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Images per second as the tables print them: whole numbers, one decimal below 100.
fn rate(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// The table rows and the ratio line one file gives, as README must print them.
fn expected_lines(jsonl: &str) -> Vec<String> {
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut frameworks: Vec<&str> = vec![];
    for r in &rows {
        let fw = r["framework"].as_str().expect("framework");
        if !frameworks.contains(&fw) {
            frameworks.push(fw);
        }
    }
    let of = |fw: &str, key: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r["framework"] == fw)
            .map(|r| r[key].as_f64().expect(key))
            .collect()
    };
    let mut lines: Vec<String> = frameworks
        .iter()
        .map(|fw| {
            format!(
                "| {fw} | {} | {} | {:.1} | {:.0} MiB |",
                rate(median(of(fw, "train_images_per_sec"))),
                rate(median(of(fw, "infer_images_per_sec"))),
                median(of(fw, "gflops")),
                median(of(fw, "peak_rss_mib")),
            )
        })
        .collect();
    let dev = of("delve (dev profile)", "train_images_per_sec");
    let torch = frameworks
        .iter()
        .find(|f| f.starts_with("pytorch"))
        .expect("a PyTorch row");
    let ratios: Vec<f64> = dev
        .iter()
        .zip(of(torch, "train_images_per_sec"))
        .map(|(d, t)| d / t)
        .collect();
    let (ahead, rounds) = (ratios.iter().filter(|&&r| r > 1.0).count(), ratios.len());
    lines.push(format!(
        "Dev profile / PyTorch, training: median ratio {:.2}, delve ahead in {ahead} of {rounds} rounds",
        median(ratios)
    ));
    lines
}

#[test]
fn readme_speed_tables_are_the_committed_benchmark_files() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let marker = "From `bench/results/";
    let mut checked = 0;
    for (at, _) in readme.match_indices(marker) {
        let rest = &readme[at + "From `".len()..];
        let file = &rest[..rest.find('`').expect("closing backtick")];
        let jsonl = std::fs::read_to_string(repo().join(file))
            .unwrap_or_else(|e| panic!("README names {file}: {e}"));
        // The table and its ratio line: the lines after the marker, up to a blank line
        // after the table.
        let block: Vec<&str> = rest
            .lines()
            .skip(1)
            .skip_while(|l| l.trim().is_empty() || !l.starts_with('|'))
            .take_while(|l| !l.trim().is_empty())
            .collect();
        let after_table = rest
            .lines()
            .skip(1)
            .skip_while(|l| !l.starts_with('|'))
            .skip_while(|l| l.starts_with('|'))
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        for line in expected_lines(&jsonl) {
            let found = block.contains(&line.as_str()) || after_table.starts_with(&line);
            assert!(found, "README's table for {file} lacks `{line}`");
        }
        checked += 1;
    }
    assert!(
        checked >= 1,
        "README has no speed table made from bench/results/"
    );
}

/// README with every run of whitespace one space (so a quote may wrap).
fn flat_readme() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    readme.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first file README names as "kept in `file`" after `at`: its name, where the name
/// starts in `flat`, and its text.
fn kept_in(flat: &str, at: usize) -> (&str, usize, String) {
    let file_at = flat[at..]
        .find("kept in `")
        .expect("the file it is kept in")
        + at
        + "kept in `".len();
    let file = &flat[file_at..file_at + flat[file_at..].find('`').unwrap()];
    let text = std::fs::read_to_string(repo().join(file))
        .unwrap_or_else(|e| panic!("README names {file}: {e}"));
    (file, file_at, text)
}

/// Every `torch.mm` ceiling README quotes (one per CPU family) is the 2-thread line of
/// the file it names.
#[test]
fn readme_matrix_multiply_ceilings_are_the_committed_files() {
    let flat = flat_readme();
    let phrase = "2048×2048 matrices ran at ";
    let mut checked = 0;
    for (at, _) in flat.match_indices(phrase) {
        let quoted = flat[at..].split(' ').nth(4).expect("a number");
        let (file, _, text) = kept_in(&flat, at);
        let two: serde_json::Value = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["threads"] == 2)
            .expect("a 2-thread line");
        let want = format!("{:.1}", two["gflops"].as_f64().unwrap());
        assert_eq!(quoted, want, "README's torch.mm figure vs {file}");
        checked += 1;
    }
    assert!(
        checked >= 2,
        "README quotes {checked} torch.mm ceilings, expected one per family"
    );
}

/// Each "where delve's step goes" in README (one per CPU family) is the profile in the
/// file it names: the shares of 1.5% or more by name, in the file's order, the others
/// summed as "the rest".
#[test]
fn readme_step_profiles_are_the_committed_files() {
    let flat = flat_readme();
    let mut checked = 0;
    for (at, _) in flat.match_indices("Where delve's step goes") {
        let (file, file_at, text) = kept_in(&flat, at);
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        let shares: Vec<(&str, f64)> = v["profile"]
            .as_array()
            .expect("a profile")
            .iter()
            .map(|p| (p[0].as_str().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let mut parts: Vec<String> = shares
            .iter()
            .filter(|(_, s)| *s >= 0.015)
            .map(|(k, s)| format!("{k} {:.0}%", 100.0 * s))
            .collect();
        let rest: f64 = shares
            .iter()
            .filter(|(_, s)| *s < 0.015)
            .map(|(_, s)| s)
            .sum();
        parts.push(format!("the rest {:.0}%", 100.0 * rest));
        let want = format!("): {}.", parts.join(", "));
        assert!(
            flat[file_at..].starts_with(&format!("{file}`{want}")),
            "README's step profile is not what {file} gives: expected `{want}`"
        );
        checked += 1;
    }
    assert!(
        checked >= 2,
        "README gives {checked} step profiles, expected one per family"
    );
}
