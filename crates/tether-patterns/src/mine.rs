//! Grouping messages into templates.
//!
//! 1. Every message becomes its tokens, each a word or a variable by its shape
//!    (`token::classify`: anything with a digit, addresses, ids, times, URLs).
//! 2. Messages with the same words at the same places form a group.
//! 3. Within groups of one length, a place where at least [`MIN_DISTINCT_WORDS`] different
//!    words occur while the rest of the group's words are the same is a variable too (user
//!    names, host names, states): those groups merge. Repeated until nothing merges, so a
//!    template can have several such places.

use std::collections::HashMap;

use crate::template::Template;
use crate::token::{VarKind, classify, tokens};

/// How many different words at one place, with everything else equal, make the place a
/// variable. Two or three different words there are more often different templates
/// ("session opened" / "session closed"); more are more often a variable.
const MIN_DISTINCT_WORDS: usize = 4;

/// A message's token: a word, or a variable of a kind after a literal prefix (`user=` of
/// `user=alice`; empty for most variables); `Rest` stands for the tokens after the first
/// [`MAX_TOKENS`] of a long line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    Word(String),
    Var { prefix: String, kind: VarKind },
    Rest,
}

/// Tokens of a line that make its shape: a line of thousands (a JSON document, a dump) is
/// named by its start, and its template stays short enough to read and to match.
pub(crate) const MAX_TOKENS: usize = 64;
/// Words longer than this are variables: long constant words are rare, long values common.
const MAX_WORD: usize = 64;

/// What a place must hold for two messages to be in one group: the same word, or a
/// variable after the same prefix, or more tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    Word(String),
    Var(String),
    Rest,
}

/// One group while mining: what each of its places holds, and its messages.
struct Group {
    words: Vec<Place>,
    members: Vec<usize>,
}

/// The templates of the messages and, for each message, the index of its template.
pub(crate) struct Mined {
    pub templates: Vec<Template>,
    pub assignment: Vec<usize>,
}

pub(crate) fn mine<S: AsRef<str>>(messages: &[S]) -> Mined {
    let slots: Vec<Vec<Slot>> = messages.iter().map(|m| to_slots(m.as_ref())).collect();
    let mut by_words: HashMap<Vec<Place>, Vec<usize>> = HashMap::new();
    for (i, s) in slots.iter().enumerate() {
        let words = s
            .iter()
            .map(|slot| match slot {
                Slot::Word(w) => Place::Word(w.clone()),
                Slot::Var { prefix, .. } => Place::Var(prefix.clone()),
                Slot::Rest => Place::Rest,
            })
            .collect();
        by_words.entry(words).or_default().push(i);
    }
    let mut by_length: HashMap<usize, Vec<Group>> = HashMap::new();
    for (words, members) in by_words {
        by_length.entry(words.len()).or_default().push(Group { words, members });
    }
    let mut templates = Vec::new();
    let mut assignment = vec![0; messages.len()];
    let mut lengths: Vec<usize> = by_length.keys().copied().collect();
    lengths.sort_unstable();
    for length in lengths {
        let groups = merge_varying_places(by_length.remove(&length).unwrap_or_default(), length);
        for group in groups {
            let index = templates.len();
            templates.push(Template { slots: template_of(&group, &slots) });
            for &m in &group.members {
                assignment[m] = index;
            }
        }
    }
    Mined { templates, assignment }
}

pub(crate) fn to_slots(message: &str) -> Vec<Slot> {
    let mut all = tokens(message);
    let mut slots: Vec<Slot> = all
        .by_ref()
        .take(MAX_TOKENS)
        .map(|t| {
            if let Some((key, value)) = t.split_once('=')
                && is_key(key)
            {
                let kind = classify(value).unwrap_or(VarKind::Any);
                return Slot::Var { prefix: format!("{key}="), kind };
            }
            match classify(t) {
                Some(kind) => Slot::Var { prefix: String::new(), kind },
                None if t.len() > MAX_WORD => Slot::Var { prefix: String::new(), kind: VarKind::Any },
                None => Slot::Word(t.to_owned()),
            }
        })
        .collect();
    if all.next().is_some() {
        slots.push(Slot::Rest);
    }
    slots
}

/// The key of `key=value`: a name, not an expression's left side.
fn is_key(key: &str) -> bool {
    key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn merge_varying_places(mut groups: Vec<Group>, length: usize) -> Vec<Group> {
    loop {
        let mut changed = false;
        // The first word names the event far more often than it varies (Drain keys its
        // tree on it for the same reason): it is never widened.
        for place in 1..length {
            let mut around: HashMap<Vec<&Place>, Vec<usize>> = HashMap::new();
            let any = Place::Var(String::new());
            for (g, group) in groups.iter().enumerate() {
                if group.words[place] == any || matches!(group.words[place], Place::Word(_)) {
                    let mut key: Vec<&Place> = group.words.iter().collect();
                    key[place] = &any;
                    around.entry(key).or_default().push(g);
                }
            }
            // Widened: places with many different words, and places where some groups
            // have a variable and others a word (the word is a value without a digit, an
            // empty "()").
            let widen: Vec<usize> = around
                .into_values()
                .filter(|gs| {
                    let vars = gs.iter().filter(|&&g| groups[g].words[place] == any).count();
                    gs.len() - vars >= MIN_DISTINCT_WORDS
                })
                .flatten()
                .collect();
            if widen.is_empty() {
                continue;
            }
            changed = true;
            for g in widen {
                groups[g].words[place] = Place::Var(String::new());
            }
            groups = combine_equal(groups);
        }
        if !changed {
            return groups;
        }
    }
}

/// Groups whose words became equal are one group.
fn combine_equal(groups: Vec<Group>) -> Vec<Group> {
    let mut by_words: HashMap<Vec<Place>, Vec<usize>> = HashMap::new();
    let mut order = Vec::new();
    for group in groups {
        let entry = by_words.entry(group.words.clone()).or_insert_with(|| {
            order.push(group.words.clone());
            Vec::new()
        });
        entry.extend(group.members);
    }
    order
        .into_iter()
        .map(|words| {
            let members = by_words.remove(&words).unwrap_or_default();
            Group { words, members }
        })
        .collect()
}

/// The template of a group: its words, and at each variable place the kind every member
/// has there (or `<*>` when they differ).
fn template_of(group: &Group, slots: &[Vec<Slot>]) -> Vec<Slot> {
    group
        .words
        .iter()
        .enumerate()
        .map(|(place, word)| match word {
            Place::Word(w) => Slot::Word(w.clone()),
            Place::Rest => Slot::Rest,
            Place::Var(prefix) => {
                let mut kinds = group.members.iter().map(|&m| match &slots[m][place] {
                    Slot::Var { kind, .. } => *kind,
                    Slot::Word(_) | Slot::Rest => VarKind::Any,
                });
                let first = kinds.next().unwrap_or(VarKind::Any);
                let kind = if kinds.all(|k| k == first) { first } else { VarKind::Any };
                Slot::Var { prefix: prefix.clone(), kind }
            }
        })
        .collect()
}
