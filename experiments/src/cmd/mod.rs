//! One file per subcommand, each with `run(args) -> anyhow::Result<()>`.

pub mod analyze;
pub mod bench;
pub mod drift;
pub mod export;
pub mod lockstep;
pub mod plan;
pub mod plot;
pub mod reproduce;
pub mod stall;
pub mod train;
pub mod verify;
