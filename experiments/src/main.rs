//! `experiments`: train, analyze and plot the depth experiment. Errors print as one line
//! and exit with code 2; SIGINT (Ctrl-C), SIGTERM or SIGHUP during training saves a
//! checkpoint and exits with 130, 143 or 129.

#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = experiments::cli::Cli::parse();
    if let Err(e) = experiments::run(cli) {
        if let Some(stop) = e.downcast_ref::<experiments::cmd::train::Interrupted>() {
            eprintln!("{e}");
            std::process::exit(stop.exit_code());
        }
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
