//! A run read from a file (`config.json`), checked before anything is built from it.

use super::{expand, Grid, NetGrid, RunSpec};
use anyhow::{bail, ensure, Result};

/// The most floats a recorded run's weights, or one batch's activations, may take (16
/// GiB as f32); by this bound the paper's widths at batch 128 take under 10% of it.
pub const MAX_FLOATS: u128 = 1 << 32;

impl RunSpec {
    /// Checks a run read from a file before anything is built from it: it must be what
    /// the flags of its own settings make (so each setting is valid, and its name, stages
    /// and canonical initializer agree with them), and its net and one batch's activations
    /// at most [`MAX_FLOATS`] floats each, so a hostile `config.json` cannot ask for
    /// unbounded memory.
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
        let (weights, activations) = self.footprint();
        ensure!(
            weights <= MAX_FLOATS && activations <= MAX_FLOATS,
            "the recorded run `{}` is too large to build: {weights} weights, {activations} \
             activations per batch (at most {MAX_FLOATS} each)",
            self.name
        );
        Ok(())
    }

    /// The net's weights and one batch's conv activations, in floats: an upper bound
    /// (every conv at the input's resolution, the flatten too), saturating rather than
    /// overflowing for any setting.
    fn footprint(&self) -> (u128, u128) {
        let cfg = self.net_config();
        let [_, h, w] = cfg.input.map(|x| x as u128);
        let plane = h * w;
        let (mut weights, mut activations, mut c_in) = (0u128, 0u128, 1u128);
        for (&convs, &width) in self.stages.iter().zip(&self.widths) {
            let (convs, width) = (convs as u128, width as u128);
            if convs == 0 {
                continue;
            }
            let per_conv = 9u128.saturating_mul(width).saturating_mul(c_in.max(width));
            weights = weights.saturating_add(per_conv.saturating_mul(convs));
            let act = convs.saturating_mul(width).saturating_mul(plane);
            activations = activations.saturating_add(act);
            c_in = width;
        }
        let fc = self.fc_width as u128;
        let flat = c_in.saturating_mul(plane);
        let head = flat
            .saturating_add(fc)
            .saturating_add(cfg.classes as u128)
            .saturating_mul(fc);
        (
            weights.saturating_add(head),
            activations.saturating_mul(self.batch_size as u128),
        )
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
