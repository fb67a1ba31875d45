//! A run read from a file (`config.json`), checked before anything is built from it.

use super::{expand, Grid, NetGrid, RunSpec};
use anyhow::{bail, Result};

impl RunSpec {
    /// Checks a run read from a file before anything is built from it: it must be what
    /// the flags of its own settings make (so each setting is valid, and its name, stages
    /// and canonical initializer agree with them, and its size is within
    /// [`check_size`](super::size::check_size)'s bounds), so a hostile `config.json`
    /// cannot ask for unbounded memory.
    pub fn check_recorded(&self) -> Result<()> {
        let grid = Grid {
            net: NetGrid {
                depth: vec![self.depth],
                init: vec![self.init.clone()],
                activation: self.activation,
                width: self.widths.to_vec(),
                fc_width: self.fc_width,
            },
            lr: vec![self.lr],
            seed: vec![self.seed],
            epochs: self.epochs,
            batch_size: self.batch_size,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            eval_every: self.eval_every,
            eval_size: self.eval_size,
            train_size: self.train_size,
            input_scale: self.input_scale,
            head: self.head,
            stop_after_chance: self.stop_after_chance,
        };
        let made = expand(&grid)?;
        if made.first() != Some(self) {
            let name = made.first().map_or("", |r| r.name.as_str());
            bail!(
                "the recorded run `{}` is not what its own settings make (`{name}`)",
                self.name
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::train_args;

    #[test]
    fn a_recorded_run_must_be_what_its_settings_make_and_of_bounded_size() {
        let run = expand(&train_args(&["--depth", "30", "--init", "xavier"])).unwrap()[0].clone();
        run.check_recorded().unwrap();
        let paper = [
            "--width",
            "64,128,256",
            "--batch-size",
            "64",
            "--init",
            "lsuv",
        ];
        expand(&train_args(&paper)).unwrap()[0]
            .check_recorded()
            .unwrap();
        let bad = |edit: &dyn Fn(&mut RunSpec)| {
            let mut r = run.clone();
            edit(&mut r);
            format!("{:#}", r.check_recorded().unwrap_err())
        };
        let e = bad(&|r| r.name = "d30-msra-relu-s0".into());
        assert!(
            e.contains("not what its own settings make (`d30-xavier-relu-s0`)"),
            "{e}"
        );
        assert!(bad(&|r| r.stages = [28, 0, 0]).contains("not what its own settings make"));
        assert!(bad(&|r| r.depth = 2).contains("at least 4"));
        assert!(bad(&|r| r.init = "nonsense".into()).contains("--init"));
        assert!(bad(&|r| r.lr = f32::NAN).contains("--lr"));
        let huge = |r: &mut RunSpec| {
            r.widths = [1 << 20; 3];
            r.name = r.default_name();
        };
        assert!(bad(&huge).contains("too large to build"), "{}", bad(&huge));
        let deep = |r: &mut RunSpec| {
            r.depth = usize::MAX;
            r.stages = layers::stage_depths(r.depth).unwrap();
            r.batch_size = usize::MAX;
            r.name = r.default_name();
        };
        assert!(bad(&deep).contains("too large to build"), "{}", bad(&deep));
    }
}
