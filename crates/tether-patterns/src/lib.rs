//! Log patterns: the templates a set of log messages comes in ("Receiving block <id> src:
//! <ip> dest: <ip>"), mined by Tether above the stores so that every backend gives the same
//! patterns for the same logs.
//!
//! Owns: tokenizing, the shapes of variables, the grouping (`mine`), a template's text, id
//! and regular expression, and the catalog of templates learned so far. Must not contain:
//! I/O, stores, HTTP.

mod catalog;
mod mine;
mod template;
mod token;

pub use catalog::Catalog;
pub use template::Template;

/// Groups `messages` into templates; returns the template index of each message (what the
/// grouping accuracy test measures, with no catalog before it).
pub fn group<S: AsRef<str>>(messages: &[S]) -> Vec<usize> {
    mine::mine(messages).assignment
}

/// Grouping accuracy (GA) of `predicted` groups against `truth` labels: the share of
/// messages whose group holds exactly the messages of their true template.
pub fn grouping_accuracy<L: Eq + std::hash::Hash>(truth: &[L], predicted: &[usize]) -> f64 {
    use std::collections::HashMap;
    let mut truth_sizes: HashMap<&L, usize> = HashMap::new();
    for t in truth {
        *truth_sizes.entry(t).or_default() += 1;
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, p) in predicted.iter().enumerate() {
        groups.entry(*p).or_default().push(i);
    }
    let right: usize = groups
        .values()
        .filter(|members| {
            let label = &truth[members[0]];
            members.iter().all(|&m| &truth[m] == label) && truth_sizes[label] == members.len()
        })
        .map(Vec::len)
        .sum();
    right as f64 / truth.len().max(1) as f64
}
