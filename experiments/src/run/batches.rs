//! Which training images make up each mini-batch: a fresh permutation every epoch.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The mini-batches of a run: at the start of every epoch the `n_train` images are
/// shuffled by ChaCha8 (the run's seed, stream 1), then taken `batch_size` at a time; the
/// last batch of an epoch holds the remainder.
#[derive(Clone, Debug)]
pub struct Batches {
    shuffle: ChaCha8Rng,
    order: Vec<usize>,
    n_train: usize,
    batch_size: usize,
}

impl Batches {
    /// Before the first step of a run seeded with `seed`.
    pub fn new(seed: u64, n_train: usize, batch_size: usize) -> Self {
        let mut shuffle = ChaCha8Rng::seed_from_u64(seed);
        shuffle.set_stream(1);
        Self {
            shuffle,
            order: vec![],
            n_train,
            batch_size: batch_size.max(1),
        }
    }

    /// Continues from a checkpoint: the shuffler's word position and the current epoch's
    /// order.
    pub fn restore(&mut self, word_pos: u128, order: Vec<usize>) {
        self.shuffle.set_word_pos(word_pos);
        self.order = order;
    }

    /// Steps per epoch.
    pub fn per_epoch(&self) -> usize {
        self.n_train.div_ceil(self.batch_size)
    }

    /// The image indices of step `it` (1-based); steps must be taken in order (the first
    /// step of an epoch draws its permutation).
    pub fn batch(&mut self, it: usize) -> &[usize] {
        let pos = (it - 1) % self.per_epoch();
        if pos == 0 {
            self.order = (0..self.n_train).collect();
            self.order.shuffle(&mut self.shuffle);
        }
        let end = ((pos + 1) * self.batch_size).min(self.n_train);
        &self.order[pos * self.batch_size..end]
    }

    /// The current epoch's order (for a checkpoint).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The shuffler's word position (for a checkpoint).
    pub fn word_pos(&self) -> u128 {
        self.shuffle.get_word_pos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_is_a_permutation_in_batches_with_the_remainder_last() {
        let mut b = Batches::new(3, 10, 4);
        assert_eq!(b.per_epoch(), 3);
        for epoch in 0..2 {
            let mut seen: Vec<usize> = (1..=3)
                .flat_map(|i| b.batch(epoch * 3 + i).to_vec())
                .collect();
            assert_eq!(b.batch(epoch * 3 + 3).len(), 2);
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn restored_batches_continue_identically() {
        let mut a = Batches::new(7, 50, 8);
        for it in 1..=9 {
            a.batch(it);
        }
        let mut b = Batches::new(7, 50, 8);
        b.restore(a.word_pos(), a.order().to_vec());
        for it in 10..=30 {
            assert_eq!(a.batch(it).to_vec(), b.batch(it).to_vec(), "step {it}");
        }
    }
}
