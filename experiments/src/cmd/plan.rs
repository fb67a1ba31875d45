//! `experiments plan`: the grid as numbered tasks, one line each (index, run name, the
//! command that trains that run alone), in the order `--task` counts them. Any number of
//! tasks may share one `--out`: each run is owned by the process holding its lock.

use crate::cli::TrainArgs;
use anyhow::Result;

/// Prints the plan on stdout, tab-separated.
pub fn run(args: TrainArgs) -> Result<()> {
    anyhow::ensure!(
        args.task.is_none(),
        "plan: --task selects one run to train; plan lists them all"
    );
    let runs = args.runs()?;
    let flags: Vec<String> = std::env::args()
        .skip_while(|a| a != "plan")
        .skip(1)
        .collect();
    for (i, r) in runs.iter().enumerate() {
        println!(
            "{i}\t{}\tcargo run -p experiments -- {} --task {i}",
            r.name,
            shell_words(&flags)
        );
    }
    Ok(())
}

/// The flags as a shell would need them typed (single-quoted where not plain).
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.,:=/+".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
