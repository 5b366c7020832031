//! The words of log bodies in the id index, cut so that a search for words answers the
//! store's case-insensitive substring search *exactly*, not as a superset: then its
//! histogram and its counts of logs, sessions and people are counted from the index alone.
//!
//! A body (lower-cased as the search lower-cases it) is cut into runs of ASCII letters;
//! digits, punctuation, spaces and other characters separate them. A run is one position
//! after the run before it when exactly one space lies between them, two positions when
//! anything else does, so a phrase whose words are one position apart is found only where
//! the body has those words separated by single spaces. A search text of ASCII letters
//! and single spaces, `w1 w2 … wk`, is then a substring of a body exactly when the body has
//! a run ending with `w1`, then runs equal to `w2 … wk-1`, then one starting with `wk`, all
//! a position apart (one word: a run containing it). The runs that can be first or last
//! are found in the index's [`Vocabulary`], and the phrase is looked up over them.
//!
//! Two kinds of runs are left out, as they would cost a posting each and find nothing
//! anyone searches for: the letters of hex ids (a run of hex digits with a digit among
//! them: `3fa9b2c`, a UUID's parts), and runs of one or two letters that are not whole words
//! (`5ms`, `v2`). So a first or last word of a search, which may sit inside a longer run,
//! gives an exact answer only when it has at least three letters and one of them is past
//! `f`; a word in the middle is a whole word by construction. Other texts (`bad`, `to`,
//! anything with digits or punctuation) are not words: the text index and a read of the
//! candidate blocks answer them, as they answer a search of words the index has not
//! committed yet.

use tantivy::Term;
use tantivy::query::{EmptyQuery, PhraseQuery, Query, RegexPhraseQuery};
use tantivy::schema::Field;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::vocabulary::{Place, Vocabulary};
use super::{any_of, term};

/// The name the tokenizer is registered under.
pub(super) const TOKENIZER: &str = "tether_words";

/// A search's word found in more words of the index than this is not looked up by words
/// (it is short and common: a scan of the candidate blocks answers it as fast).
const MAX_EXPANSIONS: usize = 4096;

/// A phrase whose first and last words are parts of at most this many pairs of words is
/// looked up as that many phrases of whole words: each walks the postings of its rarest
/// word, skipping through the others'. One phrase of alternatives (`RegexPhraseQuery`)
/// decodes every posting of every alternative into bitsets first and reads positions
/// through unions: at 10 M logs, ~70 % of the CPU of the histogram of `timed out`
/// (an end of 1 word, a start of N) went to it.
const MAX_PHRASES: usize = 64;

/// A first, last or only word shorter than this may sit inside a run that is left out.
const MIN_EDGE_WORD: usize = 3;

/// Cuts bodies into runs of ASCII letters (see the module's doc).
#[derive(Clone, Default)]
pub(super) struct WordTokenizer {
    lowered: String,
}

pub(super) struct Words<'a> {
    text: &'a str,
    /// Where the next run is looked for.
    at: usize,
    token: Token,
    /// Whether a token was produced yet (the first takes position 0).
    started: bool,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = Words<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Words<'a> {
        // As the search lower-cases bodies: ASCII alone for ASCII text, else Unicode's rules.
        self.lowered.clear();
        if text.is_ascii() {
            self.lowered.push_str(text);
            self.lowered.make_ascii_lowercase();
        } else {
            self.lowered.push_str(&text.to_lowercase());
        }
        Words { text: &self.lowered, at: 0, token: Token::default(), started: false }
    }
}

impl TokenStream for Words<'_> {
    fn advance(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        let previous_end = if self.started { self.token.offset_to } else { 0 };
        loop {
            let Some(start) = bytes[self.at..].iter().position(u8::is_ascii_lowercase).map(|i| self.at + i)
            else {
                return false;
            };
            let len = bytes[start..].iter().take_while(|b| b.is_ascii_lowercase()).count();
            let end = start + len;
            self.at = end;
            // The run of letters, digits and other characters it is part of.
            let joined = |b: &&u8| b.is_ascii_alphanumeric() || !b.is_ascii();
            let run_start = start - bytes[..start].iter().rev().take_while(joined).count();
            let run_end = end + bytes[end..].iter().take_while(joined).count();
            let run = &bytes[run_start..run_end];
            if run.iter().any(u8::is_ascii_digit)
                && run.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                self.at = run_end;
                continue;
            }
            if (run_start, run_end) != (start, end) && len < MIN_EDGE_WORD {
                continue;
            }
            let step = if &bytes[previous_end..start] == b" " { 1 } else { 2 };
            self.token.position = if self.started { self.token.position + step } else { 0 };
            self.started = true;
            self.token.offset_from = start;
            self.token.offset_to = end;
            self.token.text.clear();
            self.token.text.push_str(&self.text[start..end]);
            return true;
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The words of a search text when the words of bodies answer it exactly (see the
/// module's doc), lower-cased; `None` when they do not.
pub(super) fn words_of(text: &str) -> Option<Vec<String>> {
    let lowered = text.to_lowercase();
    let words: Vec<&str> = lowered.split(' ').collect();
    let letters = |w: &&str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase());
    // An edge word may sit inside a longer run: one that is kept (see the module's doc).
    let kept = |w: &&str| w.len() >= MIN_EDGE_WORD && w.bytes().any(|b| b > b'f');
    let (first, last) = (words.first()?, words.last()?);
    (words.iter().all(letters) && kept(first) && kept(last))
        .then(|| words.iter().map(|w| (*w).to_owned()).collect())
}

/// The query finding exactly the bodies that contain `words` (from [`words_of`]) in that
/// order, single spaces between them: the words of the index they can be part of, from
/// its vocabulary, looked up as terms. `None` when a word is part of more than
/// [`MAX_EXPANSIONS`] words of the index.
pub(super) fn words_query(field: Field, words: &[String], vocabulary: &Vocabulary) -> Option<Box<dyn Query>> {
    let last = words.len() - 1;
    let mut alternatives = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let place = match i {
            _ if last == 0 => Place::Anywhere,
            0 => Place::End,
            i if i == last => Place::Start,
            _ => {
                alternatives.push(vec![word.clone()]);
                continue;
            }
        };
        let found = vocabulary.having(word, place, MAX_EXPANSIONS)?;
        if found.is_empty() {
            return Some(Box::new(EmptyQuery));
        }
        alternatives.push(found);
    }
    if let [only] = alternatives.as_slice() {
        return Some(any_of(only.iter().map(|w| term(Term::from_field_text(field, w))).collect()));
    }
    let (firsts, lasts) = (&alternatives[0], &alternatives[last]);
    if firsts.len() * lasts.len() <= MAX_PHRASES {
        let middle = &words[1..last];
        let phrase = |first: &String, last: &String| -> Box<dyn Query> {
            let words = std::iter::once(first).chain(middle).chain(std::iter::once(last));
            Box::new(PhraseQuery::new(words.map(|w| Term::from_field_text(field, w)).collect()))
        };
        return Some(any_of(firsts.iter().flat_map(|f| lasts.iter().map(move |l| phrase(f, l))).collect()));
    }
    // Letters only: nothing to escape.
    let patterns = alternatives.iter().map(|words| format!("(?:{})", words.join("|")));
    Some(Box::new(RegexPhraseQuery::new(field, patterns.collect())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(body: &str) -> Vec<(String, usize)> {
        let mut tokenizer = WordTokenizer::default();
        let mut stream = tokenizer.token_stream(body);
        let mut found = Vec::new();
        stream.process(&mut |t| found.push((t.text.clone(), t.position)));
        found
    }

    #[test]
    fn runs_of_letters_a_position_apart_only_across_one_space() {
        let found = tokens("Connection TIMED out,  retry to 10.0.0.1 in 3fa9bcd2e 5ms x9yzw");
        let expected =
            [("connection", 0), ("timed", 1), ("out", 2), ("retry", 4), ("to", 5), ("in", 7), ("yzw", 9)];
        let expected: Vec<(String, usize)> = expected.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(found, expected, "the hex id, `ms` after a digit and `x` are left out");
    }

    #[test]
    fn bodies_are_lower_cased_as_the_search_lower_cases_them() {
        assert_eq!(tokens("ÉCOLE Straße")[1].0, "stra", "non-ASCII letters separate runs");
        assert_eq!(tokens("\u{212A}elvin")[0].0, "kelvin", "the Kelvin sign lower-cases to k");
    }

    #[test]
    fn only_letters_and_single_spaces_with_long_edges_are_words() {
        let words = words_of("Connection to SERVER");
        assert_eq!(words, Some(vec!["connection".into(), "to".into(), "server".into()]));
        for words in ["timeout", "timed out", "JSchException"] {
            assert!(words_of(words).is_some(), "{words}");
        }
        for other in
            ["to", "to server", "timed  out", "a1b2c", "timed-out", " out", "", "ünïcode", "bad", "acdc"]
        {
            assert!(words_of(other).is_none(), "{other}");
        }
    }
}
