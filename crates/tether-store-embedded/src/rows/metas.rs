//! The block metadata of a sealed segment, packed: what a reader knows of each block
//! without reading it stays in memory for every block of every segment (3 M blocks at
//! 100 M logs). As [`BlockMeta`]s with their file offsets they took 48 bytes a block,
//! ~150 MB of the server's ~470 MB at 100 M logs; packed, 28.
//!
//! Ids and times are kept as 32-bit multiples of a power of two above the segment's
//! smallest, lower bounds rounded down and upper bounds up, so a block's packed bounds
//! always contain its logs: every use of them is a test of whether a block may hold
//! something (a time range, an id, a cut), which rounding outward only makes read a block
//! more. The step is the smallest that spans the segment: 1 for the ids of a segment
//! written within ~4 s (a busy project's), more for a slow project's or one whose logs
//! span years. Whether the blocks' ids increase is found on the exact bounds, before
//! packing, since rounding could make neighbours seem to overlap.

use super::segment::BlockMeta;

/// Values of a segment's blocks as 32-bit multiples of `1 << shift` above `base`.
struct Scaled {
    base: i64,
    shift: u32,
    low: Vec<u32>,
    high: Vec<u32>,
}

impl Scaled {
    /// Packs (low, high) bounds, `low` rounded down and `high` up.
    fn of(bounds: impl Iterator<Item = (i64, i64)> + Clone) -> Scaled {
        let base = bounds.clone().map(|b| b.0.min(b.1)).min().unwrap_or(0);
        let top = bounds.clone().map(|b| b.0.max(b.1)).max().unwrap_or(0);
        let range = i128::from(top) - i128::from(base);
        let shift = (0..).find(|s| range >> s < i128::from(u32::MAX)).unwrap_or(64);
        let step = 1i128 << shift;
        let (mut low, mut high) = (Vec::new(), Vec::new());
        for (l, h) in bounds {
            low.push(((i128::from(l) - i128::from(base)) >> shift) as u32);
            high.push(((i128::from(h) - i128::from(base) + step - 1) >> shift) as u32);
        }
        Scaled { base, shift, low, high }
    }

    fn at(&self, n: u32) -> i64 {
        let v = i128::from(self.base) + (i128::from(n) << self.shift);
        v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// The packed metadata of a segment's blocks.
pub(crate) struct Metas {
    ids: Scaled,
    times: Scaled,
    logs: Vec<u8>,
    severities: Vec<u8>,
    min_residue: Vec<u16>,
    /// Whether the blocks' ids increase, each block's above the one before's.
    pub(crate) sorted: bool,
}

impl Metas {
    pub(crate) fn of(metas: &[BlockMeta]) -> Metas {
        let sorted = super::is_sorted(metas.iter().copied());
        let logs = metas.iter().map(|m| u8::try_from(m.logs).unwrap_or(u8::MAX)).collect();
        Metas {
            ids: Scaled::of(metas.iter().map(|m| (m.min_id, m.max_id))),
            times: Scaled::of(metas.iter().map(|m| (m.min_ts, m.max_ts))),
            logs,
            severities: metas.iter().map(|m| m.severities).collect(),
            min_residue: metas.iter().map(|m| m.min_residue).collect(),
            sorted,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.logs.len()
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = BlockMeta> + ExactSizeIterator + '_ {
        (0..self.len()).map(|b| self.meta(b))
    }

    /// The `b`th block's metadata, its bounds rounded outward (see the module's docs).
    pub(crate) fn meta(&self, b: usize) -> BlockMeta {
        BlockMeta {
            min_id: self.ids.at(self.ids.low[b]),
            max_id: self.ids.at(self.ids.high[b]),
            min_ts: self.times.at(self.times.low[b]),
            max_ts: self.times.at(self.times.high[b]),
            logs: u32::from(self.logs[b]),
            severities: self.severities[b],
            min_residue: self.min_residue[b],
        }
    }

    /// The first block whose (rounded up) highest id is at or above `id`, in a segment whose
    /// ids increase (rounded bounds increase too, not strictly).
    pub(crate) fn first_reaching(&self, id: i64) -> usize {
        let high = &self.ids.high;
        high.partition_point(|&h| self.ids.at(h) < id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ids: (i64, i64), ts: (i64, i64)) -> BlockMeta {
        let (min_id, max_id, min_ts, max_ts) = (ids.0, ids.1, ts.0, ts.1);
        BlockMeta { min_id, max_id, min_ts, max_ts, logs: 32, severities: 0b101, min_residue: 7 }
    }

    #[test]
    fn a_busy_segment_keeps_its_bounds_exactly() {
        let metas: Vec<BlockMeta> = (0..2048i64)
            .map(|b| meta((1_000_000 + b * 32, 1_000_031 + b * 32), (5_000 + b * 10, 5_400 + b * 10)))
            .collect();
        let packed = Metas::of(&metas);
        assert!(packed.sorted);
        assert_eq!(packed.len(), 2048);
        for (b, m) in metas.iter().enumerate() {
            let got = packed.meta(b);
            assert_eq!(
                (got.min_id, got.max_id, got.min_ts, got.max_ts, got.logs, got.severities, got.min_residue),
                (m.min_id, m.max_id, m.min_ts, m.max_ts, 32, 0b101, 7)
            );
        }
        assert_eq!(packed.iter().len(), 2048);
        assert_eq!(packed.first_reaching(1_000_000 + 40), 1);
    }

    #[test]
    fn bounds_too_far_apart_for_32_bits_are_rounded_outward() {
        // Ids of a slow project and times that span the whole i64 range.
        let metas = [
            meta((i64::MIN, i64::MIN + 3), (i64::MIN + 1, -7)),
            meta((0, 1 << 40), (-1_000_000_007, 999)),
            meta(((1 << 40) + 1, i64::MAX), (1_000_000_007, i64::MAX)),
        ];
        let packed = Metas::of(&metas);
        assert!(packed.sorted, "found on the exact bounds");
        for (b, m) in metas.iter().enumerate() {
            let got = packed.meta(b);
            assert!(got.min_id <= m.min_id && got.max_id >= m.max_id, "block {b}: {got:?}");
            assert!(got.min_ts <= m.min_ts && got.max_ts >= m.max_ts, "block {b}: {got:?}");
            // Rounded by a step of a few billionths of the range, no more.
            assert!(m.max_ts.abs_diff(got.max_ts) < 1 << 33 && m.min_id.abs_diff(got.min_id) < 1 << 33);
        }
        assert_eq!(packed.first_reaching((1 << 40) + 5), 2);
        let overlapping = [meta((0, 10), (0, 1)), meta((5, 20), (0, 1))];
        assert!(!Metas::of(&overlapping).sorted);
    }
}
