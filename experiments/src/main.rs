//! `experiments`: train, analyze and plot the depth experiment. Errors print as one line
//! and exit with code 2.

use clap::Parser;

fn main() {
    let cli = experiments::cli::Cli::parse();
    if let Err(e) = experiments::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
