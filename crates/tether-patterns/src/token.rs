//! Splitting a message into tokens and deciding which tokens are variables by their shape.

/// The kind of value a variable token holds, shown in templates as `<num>`, `<ip>`, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum VarKind {
    Num,
    Ip,
    Uuid,
    Hex,
    Time,
    Path,
    Url,
    Id,
    /// A word that varies between logs of one template (found by mining, not by shape).
    Any,
}

impl VarKind {
    pub(crate) fn placeholder(self) -> &'static str {
        match self {
            VarKind::Num => "<num>",
            VarKind::Ip => "<ip>",
            VarKind::Uuid => "<uuid>",
            VarKind::Hex => "<hex>",
            VarKind::Time => "<time>",
            VarKind::Path => "<path>",
            VarKind::Url => "<url>",
            VarKind::Id => "<id>",
            VarKind::Any => "<*>",
        }
    }

    pub(crate) fn from_placeholder(text: &str) -> Option<VarKind> {
        const ALL: [VarKind; 9] = [
            VarKind::Num,
            VarKind::Ip,
            VarKind::Uuid,
            VarKind::Hex,
            VarKind::Time,
            VarKind::Path,
            VarKind::Url,
            VarKind::Id,
            VarKind::Any,
        ];
        ALL.into_iter().find(|k| k.placeholder() == text)
    }
}

/// The tokens of a message: its first line's maximal runs of non-whitespace (ASCII). A
/// stack trace's or a dump's first line names it; the lines after it are its values.
/// Splitting only at whitespace keeps a template turnable into a pattern the stores can
/// match (`\S+` per variable).
pub(crate) fn tokens(message: &str) -> impl Iterator<Item = &str> {
    first_line(message).split_ascii_whitespace()
}

fn first_line(message: &str) -> &str {
    message.split('\n').next().unwrap_or_default()
}

/// The kind of a token that is a variable by its shape alone, or `None` for a word.
pub(crate) fn classify(token: &str) -> Option<VarKind> {
    let core = token.trim_matches(|c: char| {
        matches!(c, ',' | ';' | '.' | ')' | '(' | '[' | ']' | '"' | '\'' | '<' | '>' | '{' | '}')
    });
    if core.starts_with("http://") || core.starts_with("https://") {
        return Some(VarKind::Url);
    }
    if core.is_empty() && !token.is_empty() {
        // "()", "[]", "''": an empty value.
        return Some(VarKind::Any);
    }
    if !token.bytes().any(|b| b.is_ascii_digit()) {
        return is_date_word(core).then_some(VarKind::Time);
    }
    let core = core.trim_start_matches('/');
    Some(if is_number(core) {
        VarKind::Num
    } else if is_ip(core) {
        VarKind::Ip
    } else if is_uuid(core) {
        VarKind::Uuid
    } else if is_time(core) {
        VarKind::Time
    } else if is_hex(core) {
        VarKind::Hex
    } else if token.contains('/') {
        VarKind::Path
    } else {
        VarKind::Id
    })
}

/// Names of days and months, which dates in messages are written with.
fn is_date_word(s: &str) -> bool {
    const NAMES: [&str; 19] = [
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
        "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES.contains(&s)
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let s = s.strip_suffix(['%', 's']).unwrap_or(s);
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.matches('.').count() <= 1
        && s.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn is_ip(s: &str) -> bool {
    let host = match s.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && s.matches(':').count() == 1 => h,
        _ => s,
    };
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_time(s: &str) -> bool {
    let mut parts = s.split([':', '-', 'T', '.', ',']);
    let all_digits = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    all_digits && (s.contains(':') || s.matches('-').count() == 2)
}

fn is_hex(s: &str) -> bool {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    match digits {
        Some(d) => !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()),
        None => s.len() >= 8 && s.bytes().all(|b| b.is_ascii_hexdigit()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_name_their_kind() {
        let cases = [
            ("1234", Some(VarKind::Num)),
            ("-3.5,", Some(VarKind::Num)),
            ("10.0.0.1:8080", Some(VarKind::Ip)),
            ("10.0.0.25", Some(VarKind::Ip)),
            ("/10.250.19.102:54106", Some(VarKind::Ip)),
            ("550e8400-e29b-41d4-a716-446655440000", Some(VarKind::Uuid)),
            ("12:03:44.123", Some(VarKind::Time)),
            ("2024-05-01", Some(VarKind::Time)),
            ("0x1f", Some(VarKind::Hex)),
            ("deadbeef01", Some(VarKind::Hex)),
            ("/var/log/app1.log", Some(VarKind::Path)),
            ("https://example.com/a", Some(VarKind::Url)),
            ("blk_-1608999687919862906", Some(VarKind::Id)),
            ("Receiving", None),
            ("/usr/bin/env", None),
        ];
        for (token, kind) in cases {
            assert_eq!(classify(token), kind, "{token}");
        }
    }
}
