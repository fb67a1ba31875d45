//! Groups of 8 tiles taken two at a time by the AVX-512 transforms.

use super::Group;

/// Two groups transformed in one 16-lane register (AVX-512), the first group's tiles from
/// lane 0 and the second's from lane `shift` (its slot's distance from the first's, at
/// most 8): where the second starts before the first's 8 tiles end, it overwrites them,
/// as it would transformed after it. A group left alone is its own second, masked off.
#[derive(Clone, Copy, Debug)]
pub(in crate::kernels::conv) struct GroupPair {
    /// The group in lanes 0 to 7 (to `shift`, where the second starts sooner).
    pub(in crate::kernels::conv) first: Group,
    /// The group from lane `shift`; `first` again where the group is alone.
    pub(in crate::kernels::conv) second: Group,
    /// For lane `j`, where its tile's even elements lie among the 32 floats of the two
    /// registers the transform loads (8 from each half of each group, see
    /// `simd::winograd::input_512`); the odd elements are one further.
    pub(in crate::kernels::conv) even: [i32; 16],
    /// The lanes stored: the first group's up to `shift`, the second's 8 after them.
    pub(in crate::kernels::conv) mask: u16,
    /// For the output transform, where each output of a row of the first group's tiles
    /// lies among its two registers (left outputs 0-15, right outputs 16-31): its left
    /// half's 4 tiles, two outputs each, then its right half's.
    pub(in crate::kernels::conv) out_first: [i32; 16],
    /// The same for the second group's tiles, from lane `shift`.
    pub(in crate::kernels::conv) out_second: [i32; 16],
}

impl GroupPair {
    /// Consecutive groups two by two, where the second starts at most 8 slots after the
    /// first (always, in the tilings of [`Tiling::new`]); any other group alone.
    pub(super) fn pair_up(groups: &[Group]) -> Vec<GroupPair> {
        let mut pairs = Vec::with_capacity(groups.len().div_ceil(2));
        let mut rest = groups;
        while let Some((&first, after)) = rest.split_first() {
            match after.first() {
                Some(&second) if second.slot > first.slot && second.slot - first.slot <= 8 => {
                    pairs.push(Self::new(first, second, second.slot - first.slot));
                    rest = &after[1..];
                }
                _ => {
                    pairs.push(Self::new(first, first, 8));
                    rest = after;
                }
            }
        }
        pairs
    }

    /// Lane `j` holds tile `j` of `first` below `shift`, tile `j − shift` of `second`
    /// from there. The registers hold `[first's 8 | second's 8]` of the groups' left
    /// halves (floats 0-15) and of their right halves (16-31); tile `i` of a half starts
    /// at float `2i`.
    fn new(first: Group, second: Group, shift: usize) -> Self {
        let place = |group: usize, tile: usize| {
            let half = if tile < 4 { 0 } else { 16 };
            (half + 8 * group + 2 * (tile % 4)) as i32
        };
        let even = std::array::from_fn(|j| {
            if j < shift {
                place(0, j)
            } else if j - shift < 8 {
                place(1, j - shift)
            } else {
                0
            }
        });
        // Output `k` of a row of 8 tiles from `lane0`: tile `k / 2`, its left or right output.
        let row = |lane0: usize| {
            std::array::from_fn(|k| {
                let (tile, right) = (k / 2, k % 2);
                (lane0 + tile + 16 * right) as i32
            })
        };
        let lanes = (shift + 8).min(16);
        let mut pair = Self {
            first,
            second,
            even,
            mask: ((1u32 << lanes) - 1) as u16,
            out_first: row(0),
            out_second: row(shift),
        };
        if pair.alone() {
            pair.mask = 0x00FF;
        }
        pair
    }

    /// Whether the first group is alone (its own second): only its 8 lanes count.
    pub(in crate::kernels::conv) fn alone(&self) -> bool {
        self.first.slot == self.second.slot
    }
}
