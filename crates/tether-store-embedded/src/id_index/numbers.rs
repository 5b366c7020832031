//! Dense numbers for the sessions and people a search's summary counts, so that what
//! segments saw is joined as bitmaps. Each sealed segment's distinct sessions and people
//! are kept (see [`super::kept`]), but joining them into one set of 64-bit keys cost a
//! hash insert per key per segment: at 100 M logs a common phrase's repeated summary took
//! 31 ms (1.1 at 10 M), nearly all of it in that merge. Numbered densely (in the order
//! first seen, so a segment's sessions, which arrive together, get neighbouring numbers),
//! each segment's keys are a Roaring bitmap, and the join is their union and a count.
//!
//! The numbers of one [`Numbers`] are never reused or changed, so a bitmap stays true as
//! long as its numbering lives; a numbering that grows past [`MAX_NUMBERS`] is replaced
//! by a new one with its own generation, which the keys of kept bitmaps name.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

/// Keys numbered at most by one numbering (~16 bytes each in its map): a million
/// sessions and people is ~10 times those of 100 M benchmark logs.
const MAX_NUMBERS: usize = 1 << 20;

/// Session and person keys (see [`super::seen_key`]) → dense numbers.
pub(super) struct Numbers {
    generation: u64,
    map: Mutex<FxHashMap<u64, u32>>,
}

impl Numbers {
    /// What names this numbering in the keys of what is kept with its numbers.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// The numbers of `keys`, numbering those not yet numbered.
    pub(super) fn of(&self, keys: impl IntoIterator<Item = u64>) -> RoaringBitmap {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let mut numbers: Vec<u32> = keys
            .into_iter()
            .map(|key| {
                let next = u32::try_from(map.len()).unwrap_or(u32::MAX);
                *map.entry(key).or_insert(next)
            })
            .collect();
        drop(map);
        numbers.sort_unstable();
        numbers.dedup();
        RoaringBitmap::from_sorted_iter(numbers).unwrap_or_default()
    }

    fn full(&self) -> bool {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).len() >= MAX_NUMBERS
    }
}

/// The numbering in use, replaced when full (see the module's doc).
#[derive(Default)]
pub(super) struct Numbering {
    current: Mutex<Option<Arc<Numbers>>>,
    generations: AtomicU64,
}

impl Numbering {
    /// The numbering a count uses from start to end.
    pub(super) fn current(&self) -> Arc<Numbers> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref().filter(|n| !n.full()) {
            Some(numbers) => numbers.clone(),
            None => {
                let generation = self.generations.fetch_add(1, Ordering::Relaxed);
                let numbers = Arc::new(Numbers { generation, map: Mutex::default() });
                *current = Some(numbers.clone());
                numbers
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_keeps_its_number_and_a_full_numbering_is_replaced() {
        let numbering = Numbering::default();
        let numbers = numbering.current();
        let first = numbers.of([7, 9, 7]);
        assert_eq!(first.iter().collect::<Vec<_>>(), [0, 1], "two keys, numbered in order");
        assert_eq!(numbers.of([9, 11]).iter().collect::<Vec<_>>(), [1, 2], "9 keeps its number");
        assert_eq!(numbering.current().generation(), numbers.generation(), "not full: the same");
        numbers.of((100..).take(MAX_NUMBERS));
        let next = numbering.current();
        assert_ne!(next.generation(), numbers.generation(), "a full numbering is replaced");
        assert_eq!(next.of([9]).iter().collect::<Vec<_>>(), [0], "and numbers from the start");
    }
}
