//! `experiments`: train, analyze and plot the depth experiment. Errors print as one line
//! and exit with code 2; SIGINT (Ctrl-C), SIGTERM or SIGHUP during training saves a
//! checkpoint and exits with 130, 143 or 129.

#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    // Training steps reuse the memory the previous one freed (see `tensor::memory`).
    tensor::memory::keep_freed_memory();
    let cli = match experiments::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(hint) = experiments::cli::list_hint(&e) {
                eprintln!("error: {hint}");
                std::process::exit(2);
            }
            e.exit()
        }
    };
    if let Err(e) = experiments::run(cli) {
        if let Some(stop) = e.downcast_ref::<experiments::session::Interrupted>() {
            eprintln!("{e}");
            std::process::exit(stop.exit_code());
        }
        if e.downcast_ref::<experiments::cmd::verify::Differs>()
            .is_some()
        {
            eprintln!("{e}");
            std::process::exit(1);
        }
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
