//! `experiments`: train, analyze and plot the depth experiment. Errors print as one line
//! and exit with code 2; Ctrl-C during training saves a checkpoint and exits with 130.

#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = experiments::cli::Cli::parse();
    if let Err(e) = experiments::run(cli) {
        if e.is::<experiments::cmd::train::Interrupted>() {
            eprintln!("{e}");
            std::process::exit(130);
        }
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
