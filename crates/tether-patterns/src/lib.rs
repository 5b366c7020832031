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
pub use token::VarKind;

/// Groups `messages` into templates; returns the template index of each message (what the
/// grouping accuracy test measures, with no catalog before it).
pub fn group<S: AsRef<str>>(messages: &[S]) -> Vec<usize> {
    mine::mine(messages).assignment
}
