//! Property tests of the depth rule: `depth − 3` convs over three stages, as even as
//! possible, earlier stages taking the remainder, and the net built with exactly that many.

use layers::{plain_net, stage_depths, Activation, PlainNetConfig};
use proptest::prelude::*;
use rand::SeedableRng;

proptest! {
    #[test]
    fn stages_hold_every_conv_as_evenly_as_possible(depth in 4usize..10_000) {
        let s = stage_depths(depth).unwrap();
        prop_assert_eq!(s.iter().sum::<usize>(), depth - 3);
        prop_assert!(s[0] >= s[1] && s[1] >= s[2], "{:?}", s);
        prop_assert!(s[0] - s[2] <= 1, "{:?}", s);
    }

    #[test]
    fn depths_under_four_are_refused(depth in 0usize..4) {
        let err = stage_depths(depth).unwrap_err().to_string();
        prop_assert!(err.contains("depth"), "{}", err);
    }

    #[test]
    fn the_built_net_has_depth_weight_layers(depth in 4usize..40, act in 0usize..3) {
        let cfg = PlainNetConfig {
            depth,
            widths: [2, 3, 4],
            fc_width: 5,
            activation: Activation::ALL[act],
            ..Default::default()
        };
        let init = init::by_name("msra").unwrap();
        let net = plain_net(&cfg, init.as_ref(), &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
        let weights: Vec<String> = net.weights().iter().map(|p| p.name.clone()).collect();
        prop_assert_eq!(weights.len(), depth);
        let s = stage_depths(depth).unwrap();
        for (stage, &n) in s.iter().enumerate() {
            let convs = weights
                .iter()
                .filter(|w| w.starts_with(&format!("stage{}.conv", stage + 1)))
                .count();
            prop_assert_eq!(convs, n, "stage {}", stage + 1);
        }
    }
}
