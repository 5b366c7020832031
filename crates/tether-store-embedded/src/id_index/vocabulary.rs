//! Every word the id index's committed segments hold, in one text, so that the words a
//! search's word can be part of are found once per search: a substring, a suffix or a
//! prefix of a word is a regular expression tantivy runs over each segment's term
//! dictionary (`.*timed.*` walks all of it), which was most of a rare word's lookup at
//! 10 M logs (tens of segments). The words found are then looked up as terms. Words are
//! only added (a merged segment holds no new word; a word of deleted logs finds nothing).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader};

type Result<T> = tantivy::Result<T>;

/// Where in a word a search's word must be.
#[derive(Clone, Copy)]
pub(super) enum Place {
    Anywhere,
    /// The word ends with it (the first word of a phrase).
    End,
    /// The word starts with it (the last word of a phrase).
    Start,
}

#[derive(Default)]
struct Known {
    segments: HashSet<SegmentId>,
    words: HashSet<Box<str>>,
    /// The words, each after a `\n`.
    text: String,
}

#[derive(Default)]
pub(super) struct Vocabulary(Mutex<Known>);

impl Vocabulary {
    /// Adds the words of the segments of `searcher` not read yet.
    pub(super) fn update(&self, searcher: &Searcher, field: Field) -> Result<()> {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for reader in searcher.segment_readers() {
            if known.segments.contains(&reader.segment_id()) {
                continue;
            }
            let index = reader.inverted_index(field)?;
            let mut terms = index.terms().stream()?;
            while terms.advance() {
                let Ok(word) = std::str::from_utf8(terms.key()) else { continue };
                if !known.words.contains(word) {
                    known.words.insert(word.into());
                    known.text.push('\n');
                    known.text.push_str(word);
                }
            }
            known.segments.insert(reader.segment_id());
        }
        if known.segments.len() > 4 * searcher.segment_readers().len() + 64 {
            let alive: HashSet<SegmentId> =
                searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
            known.segments.retain(|s| alive.contains(s));
        }
        Ok(())
    }

    /// The words that have `part` at `place`, at most `limit` of them (`None` past it).
    pub(super) fn having(&self, part: &str, place: Place, limit: usize) -> Option<Vec<String>> {
        let known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let text = known.text.as_bytes();
        let mut found = Vec::new();
        let mut last_start = usize::MAX;
        for at in memchr::memmem::find_iter(text, part.as_bytes()) {
            let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
            let holds = match place {
                Place::Anywhere => true,
                Place::End => at + part.len() == end,
                Place::Start => at == start,
            };
            if holds && start != last_start {
                last_start = start;
                if found.len() == limit {
                    return None;
                }
                found.push(known.text[start..end].to_owned());
            }
        }
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_by_a_part_at_their_start_end_or_anywhere() {
        let known = Known { text: "\ntimed\nuntimed\noutage\nout\ntimer".into(), ..Known::default() };
        let vocabulary = Vocabulary(Mutex::new(known));
        let having = |part: &str, place| vocabulary.having(part, place, 10).unwrap();
        assert_eq!(having("timed", Place::End), ["timed", "untimed"]);
        assert_eq!(having("out", Place::Start), ["outage", "out"]);
        assert_eq!(having("time", Place::Anywhere), ["timed", "untimed", "timer"]);
        assert_eq!(having("time", Place::End), Vec::<String>::new());
        assert_eq!(vocabulary.having("t", Place::Anywhere, 2), None, "more than the limit");
    }
}
