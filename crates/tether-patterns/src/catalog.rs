//! The templates learned so far, which later messages are matched against before anything
//! is mined, so that a pattern keeps its text and id from one request and time range to the
//! next.

use std::collections::HashMap;

use crate::mine::{MAX_TOKENS, Slot, mine};
use crate::template::Template;
use crate::token::tokens;

/// How many templates a catalog holds. A catalog that would grow beyond it starts again
/// (ids are a hash of the text, so templates mined again keep theirs).
const MAX_TEMPLATES: usize = 20_000;

/// Learned templates, found by a message's length and first token.
#[derive(Debug, Default)]
pub struct Catalog {
    templates: Vec<Template>,
    by_head: HashMap<(usize, Head), Vec<usize>>,
}

/// What a template's first place holds: templates never vary in their first word.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Head {
    Word(String),
    /// A variable after this prefix.
    Var(String),
}

impl Catalog {
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// The template at `index` (as [`Catalog::learn`] answers).
    pub fn get(&self, index: usize) -> &Template {
        &self.templates[index]
    }

    /// The learned template of `message`, if any has its shape.
    pub fn find(&self, message: &str) -> Option<usize> {
        let length = tokens(message).count().min(MAX_TOKENS + 1);
        let first = tokens(message).next()?;
        let mut heads = vec![Head::Word(first.to_owned()), Head::Var(String::new())];
        if let Some(at) = first.find('=') {
            heads.push(Head::Var(first[..=at].to_owned()));
        }
        heads
            .into_iter()
            .filter_map(|head| self.by_head.get(&(length, head)))
            .flatten()
            .copied()
            .find(|&t| self.templates[t].matches(message))
    }

    /// The template of each message: a learned one where it matches; the others are mined
    /// together and their templates learned.
    pub fn learn<S: AsRef<str>>(&mut self, messages: &[S]) -> Vec<usize> {
        let found: Vec<Option<usize>> = messages.iter().map(|m| self.find(m.as_ref())).collect();
        let unknown: Vec<&str> =
            messages.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(m, _)| m.as_ref()).collect();
        if unknown.is_empty() {
            return found.into_iter().flatten().collect();
        }
        let mined = mine(&unknown);
        if self.templates.len() + mined.templates.len() > MAX_TEMPLATES {
            self.templates.clear();
            self.by_head.clear();
            return self.learn(messages);
        }
        let first_new = self.templates.len();
        for template in mined.templates {
            self.add(template);
        }
        let mut new = mined.assignment.into_iter();
        found.into_iter().map(|f| f.unwrap_or_else(|| first_new + new.next().unwrap_or(0))).collect()
    }

    fn add(&mut self, template: Template) {
        let head = match template.slots.first() {
            Some(Slot::Word(w)) => Head::Word(w.clone()),
            Some(Slot::Var { prefix, .. }) => Head::Var(prefix.clone()),
            Some(Slot::Rest) | None => Head::Word(String::new()),
        };
        self.by_head.entry((template.slots.len(), head)).or_default().push(self.templates.len());
        self.templates.push(template);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logins(users: &[&str]) -> Vec<String> {
        users.iter().map(|u| format!("session opened for user {u} by (uid=0)")).collect()
    }

    #[test]
    fn learned_templates_keep_their_id_for_later_messages() {
        let mut catalog = Catalog::default();
        let first = catalog.learn(&logins(&["root", "alice", "bob", "carol", "dave"]));
        assert!(first.iter().all(|&t| t == first[0]), "one template: {first:?}");
        let template = catalog.get(first[0]).clone();
        assert_eq!(template.text(), "session opened for user <*> by <id>");
        // A single later message with a new user joins the learned template, which mining
        // it alone could not have found.
        let later = catalog.learn(&logins(&["erin"]));
        assert_eq!(catalog.get(later[0]), &template);
        assert_eq!(catalog.len(), 1);
        let other = catalog.learn(&["session closed for user root".to_owned()]);
        assert_ne!(other[0], first[0]);
        assert_eq!(catalog.find("nothing like it"), None);
    }
}
