//! The typed filter tree of a logs search: what the search box's query language parses into
//! (`payment AND -healthcheck`, `service:api severity>=warn`, `attr.http.status_code>499`).
//! Backends turn it into their own predicates; the conformance suite has a case per operator.

use tether_model::Severity;

/// A boolean combination of [`Condition`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum LogExpr {
    /// Every part holds (an empty list holds for every log).
    And(Vec<LogExpr>),
    /// At least one part holds.
    Or(Vec<LogExpr>),
    Not(Box<LogExpr>),
    Match(Condition),
}

/// A field of a log that conditions compare by exact value or ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Service,
    /// 32 lowercase hex digits.
    Trace,
    Session,
    /// A distinct id (one of a person's ids).
    Person,
}

/// How a value compares with a condition's operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Compare {
    /// The operator's symbol, as the query language and SQL both write it.
    pub fn symbol(self) -> &'static str {
        match self {
            Compare::Eq => "=",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        }
    }
}

/// One test of a log. Every test is false for a log without the field or attribute, so its
/// negation holds there (`-attr.region:eu` keeps logs with no region).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The body contains the text, case-insensitively.
    Body(String),
    /// The field has exactly this value.
    Equals(Field, String),
    /// The field has a (non-empty) value.
    Present(Field),
    /// The severity compares with this one in the order trace < debug < … < fatal.
    Severity(Compare, Severity),
    /// An attribute, its value as text (`42`, `true`, `abc`).
    AttrEquals {
        key: String,
        value: String,
    },
    AttrPresent(String),
    /// An attribute whose value is a number comparing with this one (values that are not
    /// numbers never compare).
    AttrCompare {
        key: String,
        op: Compare,
        value: f64,
    },
    /// The body has a log pattern's shape: `regex` (RE2 syntax, anchored) matches the whole
    /// body; every matching body contains each of `words` exactly (what indexes narrow by).
    Pattern {
        regex: String,
        words: Vec<String>,
    },
}

impl LogExpr {
    /// `parts` joined by AND, without a needless level.
    pub fn all(mut parts: Vec<LogExpr>) -> LogExpr {
        if parts.len() == 1 { parts.remove(0) } else { LogExpr::And(parts) }
    }

    /// The body contains `text`, case-insensitively.
    pub fn body(text: &str) -> LogExpr {
        LogExpr::Match(Condition::Body(text.to_owned()))
    }

    /// The attribute `key` has the value `value` (as text).
    pub fn attr_equals(key: &str, value: &str) -> LogExpr {
        LogExpr::Match(Condition::AttrEquals { key: key.to_owned(), value: value.to_owned() })
    }

    pub fn negate(self) -> LogExpr {
        LogExpr::Not(Box::new(self))
    }

    /// The conditions every match satisfies: those the expression ANDs at its top, not
    /// negated. Indexes narrow a search by them.
    pub fn required(&self) -> Vec<&Condition> {
        let mut found = Vec::new();
        self.collect_required(&mut found);
        found
    }

    fn collect_required<'a>(&'a self, found: &mut Vec<&'a Condition>) {
        match self {
            LogExpr::And(parts) => parts.iter().for_each(|p| p.collect_required(found)),
            LogExpr::Match(c) => found.push(c),
            LogExpr::Or(_) | LogExpr::Not(_) => {}
        }
    }

    /// The texts every matching body contains (see [`LogExpr::required`]).
    pub fn required_texts(&self) -> Vec<&str> {
        let texts = self.required().into_iter().flat_map(|c| match c {
            Condition::Body(text) => vec![text.as_str()],
            Condition::Pattern { words, .. } => words.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        });
        texts.filter(|t| !t.is_empty()).collect()
    }

    /// Writes the expression in infix form — `(a AND b)`, `(a OR b)`, `NOT a`, as the query
    /// language spells it and SQL too — with each condition written by `leaf`, an empty AND
    /// as `always` and an empty OR as `never`. Each backend supplies only its leaves.
    pub fn write_infix<F: FnMut(&Condition, &mut String)>(
        &self,
        out: &mut String,
        always: &str,
        never: &str,
        leaf: &mut F,
    ) {
        let (parts, op, empty) = match self {
            LogExpr::And(parts) => (parts, " AND ", always),
            LogExpr::Or(parts) => (parts, " OR ", never),
            LogExpr::Not(inner) => {
                out.push_str("NOT ");
                return inner.write_infix(out, always, never, leaf);
            }
            LogExpr::Match(condition) => return leaf(condition, out),
        };
        if parts.is_empty() {
            out.push_str(empty);
            return;
        }
        for (i, part) in parts.iter().enumerate() {
            out.push_str(if i == 0 { "(" } else { op });
            part.write_infix(out, always, never, leaf);
        }
        out.push(')');
    }

    /// The texts the expression looks for in bodies anywhere but under NOT: what a list
    /// of its matches marks in each line.
    pub fn sought_texts(&self) -> Vec<&str> {
        match self {
            LogExpr::And(parts) | LogExpr::Or(parts) => {
                parts.iter().flat_map(LogExpr::sought_texts).collect()
            }
            LogExpr::Match(Condition::Body(text)) if !text.is_empty() => vec![text.as_str()],
            LogExpr::Not(_) | LogExpr::Match(_) => Vec::new(),
        }
    }

    /// Whether any condition compares bodies or attributes (the predicates that make a scan
    /// read much more than a column of ids).
    pub fn reads_bodies_or_attributes(&self) -> bool {
        match self {
            LogExpr::And(parts) | LogExpr::Or(parts) => parts.iter().any(LogExpr::reads_bodies_or_attributes),
            LogExpr::Not(inner) => inner.reads_bodies_or_attributes(),
            LogExpr::Match(c) => matches!(
                c,
                Condition::Body(_)
                    | Condition::Pattern { .. }
                    | Condition::AttrEquals { .. }
                    | Condition::AttrPresent(_)
                    | Condition::AttrCompare { .. }
            ),
        }
    }
}
