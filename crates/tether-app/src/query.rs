//! The query language of the logs search box (`q=` in the API, the URL and alerts), parsed
//! into the stores' [`LogExpr`]:
//!
//! - `payment declined` — both words in the body (case-insensitive substrings);
//!   `"payment declined"` — the phrase.
//! - `a OR b`, `a AND b` (also implied by a space), `NOT a` or `-a`, parentheses. NOT binds
//!   tightest, then AND, then OR.
//! - `field:value` or `field=value` (`!=` negates) for `service`, `severity` (`level`),
//!   `trace` (`trace_id`), `session` (`session_id`), `person` (`distinct_id`), `body`
//!   (`message`) and any attribute as `attr.<key>` or `@<key>`; `field:*` for "has one";
//!   `severity>=warn`, `attr.http.status_code>499` (`>`, `>=`, `<`, `<=`; numbers for
//!   attributes). A quoted value may hold spaces: `service:"billing api"`.
//! - `pattern:"Receiving block <id> src: <ip>"` — bodies of a log pattern's shape (the
//!   template as the patterns list writes it).
//!
//! A mistake is refused with its column: `column 9: expected a value after "service:"`.
//! Hand-written because the grammar is this small and its errors should speak our fields;
//! a parser-combinator crate would add a dependency for the same two screens of code.

use tether_model::Severity;
use tether_store::{Compare, Condition, Field, LogExpr};

/// Terms past this many make the query too costly to run (each is a predicate per row).
const MAX_TERMS: usize = 64;
/// NOT and parentheses nested deeper than this are refused (the parser and the stores
/// recurse per level).
const MAX_DEPTH: usize = 16;

/// The fields the language names, with their aliases.
const FIELDS: &[(&str, Name)] = &[
    ("service", Name::Field(Field::Service)),
    ("service.name", Name::Field(Field::Service)),
    ("severity", Name::Severity),
    ("level", Name::Severity),
    ("trace", Name::Field(Field::Trace)),
    ("trace_id", Name::Field(Field::Trace)),
    ("session", Name::Field(Field::Session)),
    ("session_id", Name::Field(Field::Session)),
    ("$session_id", Name::Field(Field::Session)),
    ("person", Name::Field(Field::Person)),
    ("distinct_id", Name::Field(Field::Person)),
    ("body", Name::Body),
    ("message", Name::Body),
    ("pattern", Name::Pattern),
];

/// What a `name:` before a value refers to.
#[derive(Debug, Clone, PartialEq)]
enum Name {
    Field(Field),
    Severity,
    Body,
    Pattern,
    Attribute(String),
}

/// A refused query: what is wrong and where (1-based column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// Parses a query; `None` for one with no terms (it matches everything).
pub fn parse(query: &str) -> Result<Option<LogExpr>, SyntaxError> {
    let tokens = lex(query)?;
    let terms = tokens.iter().filter(|t| matches!(t.kind, Kind::Term(_))).count();
    if terms > MAX_TERMS || tokens.len() > MAX_TERMS * 4 {
        return Err(SyntaxError { column: 1, message: format!("too many terms (at most {MAX_TERMS})") });
    }
    let mut parser = Parser { tokens, at: 0, end: query.chars().count() + 1 };
    if parser.tokens.is_empty() {
        return Ok(None);
    }
    let expr = parser.or(0)?;
    match parser.tokens.get(parser.at) {
        None => Ok(Some(expr)),
        Some(t) if t.kind == Kind::Close => Err(t.error("unexpected ) without a matching (")),
        Some(t) => Err(t.error("unexpected term")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Open,
    Close,
    And,
    Or,
    Not,
    /// A leading `-`: NOT of what follows.
    Minus,
    Term(LogExpr),
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    column: usize,
}

impl Token {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError { column: self.column, message: message.to_owned() }
    }
}

/// The characters of a query with their columns.
struct Chars {
    chars: Vec<char>,
    at: usize,
}

impl Chars {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn column(&self) -> usize {
        self.at + 1
    }

    /// A quoted string starting at the opening quote; `\"` and `\\` escape.
    fn quoted(&mut self) -> Result<String, SyntaxError> {
        let column = self.column();
        self.at += 1;
        let mut text = String::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                '"' => return Ok(text),
                '\\' if matches!(self.peek(), Some('"' | '\\')) => {
                    text.extend(self.peek());
                    self.at += 1;
                }
                c => text.push(c),
            }
        }
        Err(SyntaxError { column, message: "this quote is never closed".into() })
    }

    /// An unquoted word: up to whitespace, a parenthesis or a quote.
    fn word(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"')) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }
}

fn lex(query: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut chars = Chars { chars: query.chars().collect(), at: 0 };
    let mut tokens = Vec::new();
    while let Some(c) = chars.peek() {
        let column = chars.column();
        let kind = match c {
            c if c.is_whitespace() => {
                chars.at += 1;
                continue;
            }
            '(' | ')' => {
                chars.at += 1;
                if c == '(' { Kind::Open } else { Kind::Close }
            }
            '"' => Kind::Term(LogExpr::body(&chars.quoted()?)),
            '-' if chars.chars.get(chars.at + 1).is_some_and(|n| !n.is_whitespace()) => {
                chars.at += 1;
                Kind::Minus
            }
            _ => {
                let word = chars.word();
                match word.as_str() {
                    "AND" => Kind::And,
                    "OR" => Kind::Or,
                    "NOT" => Kind::Not,
                    _ => term(&word, column, &mut chars)?,
                }
            }
        };
        tokens.push(Token { kind, column });
    }
    Ok(tokens)
}

/// A word as a term: `name<op>value` when it starts with a field name and an operator,
/// otherwise text of the body. A quoted value right after the operator belongs to it.
fn term(word: &str, column: usize, chars: &mut Chars) -> Result<Kind, SyntaxError> {
    let Some((name, op, value)) = split_field(word) else { return Ok(Kind::Term(LogExpr::body(word))) };
    // `https://…`: a URL, not a field.
    if op == ":" && value.starts_with("//") {
        return Ok(Kind::Term(LogExpr::body(word)));
    }
    let value_column = column + name.chars().count() + op.len();
    let value = if value.is_empty() && chars.peek() == Some('"') {
        chars.quoted()?
    } else if value.is_empty() {
        return Err(SyntaxError {
            column: value_column,
            message: format!("expected a value after \"{name}{op}\" (quote text that has a colon)"),
        });
    } else {
        value.to_owned()
    };
    let Some(field) = field_name(name) else {
        return Err(SyntaxError {
            column,
            message: format!(
                "unknown field \"{name}\": fields are service, severity, trace, session, person, body and \
                 attr.<key> (quote text that has a colon: \"{word}\")"
            ),
        });
    };
    let at = |message: String| SyntaxError { column: value_column, message };
    let condition = condition(field, op, value).map_err(at)?;
    Ok(Kind::Term(condition))
}

/// `name`, the operator and the value of a `name<op>value` word whose name is a field's
/// shape (letters, digits, `_ . $ @ -`, starting with no digit).
fn split_field(word: &str) -> Option<(&str, &'static str, &str)> {
    let at = word.find([':', '=', '!', '>', '<'])?;
    let name = &word[..at];
    let named = name.starts_with(|c: char| c.is_alphabetic() || matches!(c, '$' | '@' | '_'))
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | '@' | '-'));
    if !named {
        return None;
    }
    let rest = &word[at..];
    let op = ["!=", ">=", "<=", ":", "=", ">", "<"].into_iter().find(|op| rest.starts_with(op))?;
    Some((name, op, &rest[op.len()..]))
}

fn field_name(name: &str) -> Option<Name> {
    let lower = name.to_ascii_lowercase();
    if let Some((_, field)) = FIELDS.iter().find(|(n, _)| *n == lower) {
        return Some(field.clone());
    }
    let key = name.strip_prefix("attr.").or_else(|| name.strip_prefix('@'))?;
    (!key.is_empty()).then(|| Name::Attribute(key.to_owned()))
}

/// The condition `name op value` stands for, or why it is refused.
fn condition(name: Name, op: &str, value: String) -> Result<LogExpr, String> {
    let compare = match op {
        ":" | "=" | "!=" => Compare::Eq,
        ">" => Compare::Gt,
        ">=" => Compare::Ge,
        "<" => Compare::Lt,
        _ => Compare::Le,
    };
    let any = value == "*";
    let condition = match (name, compare) {
        (Name::Severity, compare) => {
            let severity = Severity::parse_name(&severity_alias(&value))
                .ok_or("expected trace, debug, info, warn, error or fatal")?;
            Condition::Severity(compare, severity)
        }
        (Name::Attribute(key), Compare::Eq) if any => Condition::AttrPresent(key),
        (Name::Attribute(key), Compare::Eq) => Condition::AttrEquals { key, value },
        (Name::Attribute(key), op) => {
            let number = value.parse::<f64>().ok().filter(|n| n.is_finite());
            Condition::AttrCompare { key, op, value: number.ok_or("expected a number to compare with")? }
        }
        (_, Compare::Lt | Compare::Le | Compare::Gt | Compare::Ge) => {
            return Err("only severity and attributes compare with < and >".into());
        }
        (Name::Body, _) if any => return Err("body:* matches every log; leave it out".into()),
        (Name::Body, _) => Condition::Body(value),
        (Name::Pattern, _) => pattern_condition(&value)?,
        (Name::Field(field), _) if any => Condition::Present(field),
        (Name::Field(Field::Trace), _) => {
            let hex = value.to_ascii_lowercase();
            if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("expected a trace id of 32 hex characters".into());
            }
            Condition::Equals(Field::Trace, hex)
        }
        (Name::Field(field), _) => Condition::Equals(field, value),
    };
    let expr = LogExpr::Match(condition);
    Ok(if op == "!=" { expr.negate() } else { expr })
}

/// The condition of a log pattern's template text.
pub(crate) fn pattern_condition(text: &str) -> Result<Condition, String> {
    let template = tether_patterns::Template::parse(text);
    if text == "*" || template.words().next().is_none() {
        return Err("expected a pattern's template, with at least one word".into());
    }
    Ok(Condition::Pattern { regex: template.regex(), words: template.words().map(str::to_owned).collect() })
}

/// Severity names as people write them: any case, `warning`, `err`, `crit`.
fn severity_alias(value: &str) -> String {
    match value.to_ascii_lowercase().as_str() {
        "warning" => "warn".into(),
        "err" => "error".into(),
        "critical" | "crit" => "fatal".into(),
        other => other.into(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// The column just past the query, where "expected …" at its end points.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.at).map(|t| &t.kind)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |t| t.column)
    }

    fn or(&mut self, depth: usize) -> Result<LogExpr, SyntaxError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek() == Some(&Kind::Or) {
            self.at += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { LogExpr::Or(parts) })
    }

    fn and(&mut self, depth: usize) -> Result<LogExpr, SyntaxError> {
        let mut parts = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                Some(Kind::And) => self.at += 1,
                Some(Kind::Or | Kind::Close) | None => break,
                Some(_) => {}
            }
            parts.push(self.unary(depth)?);
        }
        Ok(LogExpr::all(parts))
    }

    fn unary(&mut self, depth: usize) -> Result<LogExpr, SyntaxError> {
        let column = self.column();
        let Some(token) = self.tokens.get(self.at) else {
            let after = if self.at == 0 { "" } else { " here" };
            return Err(SyntaxError { column, message: format!("expected a term{after}") });
        };
        let nested = matches!(token.kind, Kind::Not | Kind::Minus | Kind::Open);
        if nested && depth >= MAX_DEPTH {
            return Err(token.error(&format!("NOT and parentheses nest too deep (at most {MAX_DEPTH})")));
        }
        match &token.kind {
            Kind::Not | Kind::Minus => {
                self.at += 1;
                Ok(self.unary(depth + 1)?.negate())
            }
            Kind::Open => {
                self.at += 1;
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Kind::Close) {
                    return Err(SyntaxError { column, message: "this ( is never closed".into() });
                }
                self.at += 1;
                Ok(inner)
            }
            Kind::Term(expr) => {
                let expr = expr.clone();
                self.at += 1;
                Ok(expr)
            }
            Kind::Close => Err(token.error("expected a term before )")),
            Kind::And | Kind::Or => Err(token.error("expected a term before AND/OR")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_store::Compare::*;

    fn body(t: &str) -> LogExpr {
        LogExpr::body(t)
    }

    fn m(c: Condition) -> LogExpr {
        LogExpr::Match(c)
    }

    fn parsed(q: &str) -> LogExpr {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).unwrap_or_else(|| panic!("{q}: no terms"))
    }

    #[test]
    fn valid_queries() {
        let service = |v: &str| m(Condition::Equals(Field::Service, v.into()));
        let cases: Vec<(&str, LogExpr)> = vec![
            ("timeout", body("timeout")),
            ("payment declined", LogExpr::And(vec![body("payment"), body("declined")])),
            ("payment AND declined", LogExpr::And(vec![body("payment"), body("declined")])),
            ("\"payment declined\"", body("payment declined")),
            (r#""say \"hi\" \\ ok""#, body(r#"say "hi" \ ok"#)),
            ("a OR b c", LogExpr::Or(vec![body("a"), LogExpr::And(vec![body("b"), body("c")])])),
            ("(a OR b) c", LogExpr::And(vec![LogExpr::Or(vec![body("a"), body("b")]), body("c")])),
            ("-healthcheck", body("healthcheck").negate()),
            ("NOT healthcheck", body("healthcheck").negate()),
            ("-(a OR b)", LogExpr::Or(vec![body("a"), body("b")]).negate()),
            ("and or not", LogExpr::And(vec![body("and"), body("or"), body("not")])),
            ("service:payments", service("payments")),
            ("service=payments", service("payments")),
            ("SERVICE:payments", service("payments")),
            ("service!=web", service("web").negate()),
            ("service:\"billing api\"", service("billing api")),
            ("service:*", m(Condition::Present(Field::Service))),
            ("level:error", m(Condition::Severity(Eq, Severity::Error))),
            ("severity>=WARNING", m(Condition::Severity(Ge, Severity::Warn))),
            ("severity<info", m(Condition::Severity(Lt, Severity::Info))),
            (
                "trace:0AF7651916CD43DD8448EB211C80319C",
                m(Condition::Equals(Field::Trace, "0af7651916cd43dd8448eb211c80319c".into())),
            ),
            ("session:abc", m(Condition::Equals(Field::Session, "abc".into()))),
            ("$session_id:abc", m(Condition::Equals(Field::Session, "abc".into()))),
            ("-session:*", m(Condition::Present(Field::Session)).negate()),
            ("person:ada@example.com", m(Condition::Equals(Field::Person, "ada@example.com".into()))),
            ("distinct_id:u1", m(Condition::Equals(Field::Person, "u1".into()))),
            ("message:\"card declined\"", body("card declined")),
            ("attr.http.route:/pay", LogExpr::attr_equals("http.route", "/pay")),
            ("@http.route=/pay", LogExpr::attr_equals("http.route", "/pay")),
            ("attr.a:b:c", LogExpr::attr_equals("a", "b:c")),
            ("attr.user_id:*", m(Condition::AttrPresent("user_id".into()))),
            (
                "attr.http.status_code>499",
                m(Condition::AttrCompare { key: "http.status_code".into(), op: Gt, value: 499.0 }),
            ),
            ("attr.ms<=2.5", m(Condition::AttrCompare { key: "ms".into(), op: Le, value: 2.5 })),
            ("https://shop.example/pay", body("https://shop.example/pay")),
            ("12:30:01", body("12:30:01")),
            ("GET /api/orders?id=5", LogExpr::And(vec![body("GET"), body("/api/orders?id=5")])),
            ("100%", body("100%")),
            ("- a", LogExpr::And(vec![body("-"), body("a")])),
            (
                "pattern:\"user <*> logged in\"",
                m(Condition::Pattern {
                    regex: r"^[\t\f\r ]*user[\t\f\r ]+\S+[\t\f\r ]+logged[\t\f\r ]+in[\t\f\r ]*(?:\n|$)"
                        .into(),
                    words: vec!["user".into(), "logged".into(), "in".into()],
                }),
            ),
        ];
        for (query, want) in cases {
            assert_eq!(parsed(query), want, "{query}");
        }
        assert_eq!(parse("   ").unwrap(), None);
    }

    #[test]
    fn invalid_queries_say_where() {
        let cases = [
            ("service:", 9, "expected a value after \"service:\""),
            ("\"open", 1, "this quote is never closed"),
            ("(a OR b", 1, "this ( is never closed"),
            ("a OR b)", 7, "unexpected ) without a matching ("),
            ("a OR", 5, "expected a term here"),
            ("AND a", 1, "expected a term before AND/OR"),
            ("a ()", 4, "expected a term before )"),
            ("colour:red", 1, "unknown field \"colour\""),
            ("level:loud", 7, "expected trace, debug, info, warn, error or fatal"),
            ("trace:xyz", 7, "expected a trace id of 32 hex characters"),
            ("attr.ms>fast", 9, "expected a number to compare with"),
            ("service>3", 9, "only severity and attributes compare"),
            ("body:*", 6, "body:* matches every log"),
            ("attr.:x", 1, "unknown field \"attr.\""),
            ("pattern:*", 9, "expected a pattern's template"),
            ("pattern:<num>", 9, "expected a pattern's template"),
        ];
        for (query, column, message) in cases {
            let err = parse(query).unwrap_err();
            assert_eq!(err.column, column, "{query}: {err}");
            assert!(err.message.starts_with(message), "{query}: {err}");
        }
    }

    #[test]
    fn queries_too_large_to_run_are_refused() {
        let many = vec!["x"; MAX_TERMS + 1].join(" ");
        assert!(parse(&many).unwrap_err().message.starts_with("too many terms"));
        let deep = format!("{}x{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).unwrap_err().message.contains("nest too deep"));
        let negations = format!("{}x", "-".repeat(10_000));
        assert!(parse(&negations).is_err(), "refused, not a stack overflow");
    }
}
