//! A template: what a pattern's messages share, with its stable id, its text, and how a
//! message or a store's regular expression is matched against it.

use std::fmt::Write;

use twox_hash::XxHash3_128;

use crate::mine::Slot;

/// How a template writes "and more tokens" (see `mine::MAX_TOKENS`).
const REST: &str = "…";
use crate::token::{VarKind, tokens};

/// The shape of a group of messages: words that are the same in all of them, variables
/// (with a literal prefix such as `user=`) where they differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    pub(crate) slots: Vec<Slot>,
}

impl Template {
    /// Reads a template's [`text`](Template::text) back: tokens that end with a placeholder
    /// (`<num>`, `user=<*>`) are variables, a last `…` stands for more tokens, the others
    /// are words. Any text is a template.
    pub fn parse(text: &str) -> Template {
        let count = tokens(text).count();
        let slots = tokens(text)
            .enumerate()
            .map(|(i, token)| {
                if token == REST && i + 1 == count && i > 0 {
                    return Slot::Rest;
                }
                let var = token
                    .rfind('<')
                    .and_then(|at| VarKind::from_placeholder(&token[at..]).map(|kind| (at, kind)));
                match var {
                    Some((at, kind)) => Slot::Var { prefix: token[..at].to_owned(), kind },
                    None => Slot::Word(token.to_owned()),
                }
            })
            .collect();
        Template { slots }
    }

    /// The template as people read it: `Receiving block <id> src: <ip> dest: <ip>`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match slot {
                Slot::Word(w) => out.push_str(w),
                Slot::Var { prefix, kind } => {
                    out.push_str(prefix);
                    out.push_str(kind.placeholder());
                }
                Slot::Rest => out.push_str(REST),
            }
        }
        out
    }

    /// 16 hex digits of a hash of the text: the same template has the same id in every
    /// request, time range and process.
    pub fn id(&self) -> String {
        format!("{:016x}", XxHash3_128::oneshot(self.text().as_bytes()) as u64)
    }

    /// Whether the message has the template's shape: as many tokens, the same words at the
    /// same places, and each variable's prefix.
    pub fn matches(&self, message: &str) -> bool {
        let mut tokens = tokens(message);
        let all = self.slots.iter().all(|slot| match (slot, tokens.next()) {
            (Slot::Word(w), Some(t)) => w == t,
            (Slot::Var { prefix, .. }, Some(t)) => t.starts_with(prefix.as_str()),
            (Slot::Rest, Some(_)) => {
                tokens.by_ref().for_each(drop);
                true
            }
            (_, None) => false,
        });
        all && tokens.next().is_none()
    }

    /// A regular expression (RE2 syntax, which DuckDB and ClickHouse both use) that finds
    /// a body exactly when [`Template::matches`] holds: its first line has the shape.
    pub fn regex(&self) -> String {
        const SPACE: &str = r"[\t\f\r ]";
        let mut out = format!("^{SPACE}*");
        for (i, slot) in self.slots.iter().enumerate() {
            if i > 0 {
                out.push_str(SPACE);
                out.push('+');
            }
            match slot {
                Slot::Word(w) => out.push_str(&regex::escape(w)),
                Slot::Var { prefix, .. } if prefix.is_empty() => out.push_str(r"\S+"),
                Slot::Var { prefix, .. } => {
                    let _ = write!(out, r"{}\S*", regex::escape(prefix));
                }
                // One more token at least, then anything up to the line's end.
                Slot::Rest => out.push_str(r"\S[^\n]*?"),
            }
        }
        let _ = write!(out, r"{SPACE}*(?:\n|$)");
        out
    }

    /// The words every matching message contains (what a text index narrows by).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Word(w) => Some(w.as_str()),
            Slot::Var { prefix, .. } if !prefix.is_empty() => Some(prefix.as_str()),
            Slot::Var { .. } | Slot::Rest => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parses_back_to_the_same_template() {
        let text = "authentication failure; logname=<*> uid=<num> rhost=<ip> user <*> at <time>";
        let template = Template::parse(text);
        assert_eq!(template.text(), text);
        assert_eq!(Template::parse(&template.text()), template);
        assert_eq!(template.id(), Template::parse(text).id());
        assert_eq!(template.id().len(), 16);
        assert_ne!(template.id(), Template::parse("authentication failure;").id());
    }

    #[test]
    fn a_message_matches_its_shape_and_the_regex_agrees() {
        let template = Template::parse("Accepted password for <*> from <ip> port <num> ssh2 (a+b)");
        let re = regex::Regex::new(&template.regex()).expect("valid regex");
        let cases = [
            ("Accepted password for root from 10.0.0.1 port 22 ssh2 (a+b)", true),
            ("  Accepted \t password for bob from x port 1 ssh2 (a+b)\n", true),
            ("Accepted password for root from 10.0.0.1 port 22 ssh2", false),
            ("Accepted password for root from 10.0.0.1 port 22 ssh2 (a+b) extra", false),
            ("Accepted password for from 10.0.0.1 port 22 ssh2 (a+b)", false),
            ("Accepted password for root from 10.0.0.1 port 22 ssh2 (aab)", false),
            ("Accepted password for root from 10.0.0.1 port 22 ssh2 (a+b)\r\n  at line 2", true),
            ("Accepted password for root\nfrom 10.0.0.1 port 22 ssh2 (a+b)", false),
        ];
        for (message, expected) in cases {
            assert_eq!(template.matches(message), expected, "{message}");
            assert_eq!(re.is_match(message), expected, "regex on {message}");
        }
        let keyed = Template::parse("login user=<*> ok");
        let re = regex::Regex::new(&keyed.regex()).expect("valid regex");
        for (message, expected) in
            [("login user= ok", true), ("login user=bob ok", true), ("login name=bob ok", false)]
        {
            assert_eq!(keyed.matches(message), expected, "{message}");
            assert_eq!(re.is_match(message), expected, "regex on {message}");
        }
        assert_eq!(keyed.words().collect::<Vec<_>>(), ["login", "user=", "ok"]);
    }

    #[test]
    fn a_long_line_is_named_by_its_start() {
        let long = |n: usize| (0..n).map(|i| format!("w{}x", i % 7)).collect::<Vec<_>>().join(" ");
        let messages = [format!("dump {}", long(500)), format!("dump {}", long(300))];
        let mined = crate::mine::mine(&messages);
        assert_eq!(mined.assignment, [0, 0]);
        let template = &mined.templates[0];
        assert!(template.text().ends_with(" …") && template.text().len() < 500, "{}", template.text());
        assert_eq!(Template::parse(&template.text()), *template);
        let re = regex::Regex::new(&template.regex()).expect("valid regex");
        for message in &messages {
            assert!(template.matches(message) && re.is_match(message), "{message}");
        }
        let short = format!("dump {}", long(10));
        assert!(!template.matches(&short) && !re.is_match(&short));
        let word = "a".repeat(100);
        assert_eq!(crate::mine::mine(&[format!("key {word}")]).templates[0].text(), "key <*>");
    }
}
