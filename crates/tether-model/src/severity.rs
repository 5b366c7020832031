//! Severity normalization, following the OTel log data model's severity number ranges
//! (<https://opentelemetry.io/docs/specs/otel/logs/data-model/#field-severitynumber>).

use serde::{Deserialize, Serialize};

/// The six severities every log is normalized to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Trace = 1,
    Debug = 2,
    Info = 3,
    Warn = 4,
    Error = 5,
    Fatal = 6,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 6] =
        [Severity::Trace, Severity::Debug, Severity::Info, Severity::Warn, Severity::Error, Severity::Fatal];

    /// Normalizes an OTLP record's severity: a number in 1..=24 wins over the text;
    /// unknown or empty text means `info`.
    pub fn from_otlp(number: i32, text: &str) -> Severity {
        Self::from_number(number).unwrap_or_else(|| Self::from_text(text).unwrap_or(Severity::Info))
    }

    /// Maps an OTel severity number (1–24) to its range; 0 and out-of-range numbers are unset.
    pub fn from_number(number: i32) -> Option<Severity> {
        match number {
            1..=4 => Some(Severity::Trace),
            5..=8 => Some(Severity::Debug),
            9..=12 => Some(Severity::Info),
            13..=16 => Some(Severity::Warn),
            17..=20 => Some(Severity::Error),
            21..=24 => Some(Severity::Fatal),
            _ => None,
        }
    }

    /// Recognizes the level names logging libraries commonly emit, case-insensitively.
    pub fn from_text(text: &str) -> Option<Severity> {
        let lower = text.trim().to_ascii_lowercase();
        // Texts like "INFO2" or "ERROR3" carry an OTel sub-level; the word decides.
        let word = lower.trim_end_matches(|c: char| c.is_ascii_digit());
        match word {
            "trace" | "trc" | "verbose" => Some(Severity::Trace),
            "debug" | "dbug" | "dbg" => Some(Severity::Debug),
            "info" | "information" | "informational" | "notice" | "inf" => Some(Severity::Info),
            "warn" | "warning" | "wrn" => Some(Severity::Warn),
            "error" | "err" | "eror" | "severe" => Some(Severity::Error),
            "fatal" | "critical" | "crit" | "alert" | "emerg" | "emergency" | "panic" => {
                Some(Severity::Fatal)
            }
            _ => None,
        }
    }

    /// The lowercase name used in the API and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Trace => "trace",
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }

    /// The compact code stored in the analytics store.
    /// The OTLP short name of this level (`INFO`): the severity text most SDKs send.
    pub fn otlp_text(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
        }
    }

    /// The first OTLP severity number of this level (`INFO` is 9 to 12): the number most
    /// SDKs send.
    pub fn otlp_number(self) -> i32 {
        4 * i32::from(self.code()) - 3
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`Severity::code`].
    pub fn from_code(code: u8) -> Option<Severity> {
        Severity::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// Parses an API filter value: exactly one of the six lowercase names.
    pub fn parse_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_text_and_number_name_the_same_level() {
        for s in Severity::ALL {
            assert_eq!(Severity::from_otlp(s.otlp_number(), ""), s);
            assert_eq!(Severity::from_text(s.otlp_text()), Some(s));
        }
    }

    #[test]
    fn number_wins_over_text() {
        let cases = [
            (0, "", Severity::Info),
            (0, "nonsense", Severity::Info),
            (0, "WARNING", Severity::Warn),
            (0, "Err", Severity::Error),
            (0, "critical", Severity::Fatal),
            (0, "INFO2", Severity::Info),
            (1, "error", Severity::Trace),
            (8, "", Severity::Debug),
            (9, "fatal", Severity::Info),
            (13, "", Severity::Warn),
            (17, "info", Severity::Error),
            (24, "", Severity::Fatal),
            (25, "debug", Severity::Debug),
            (-3, "", Severity::Info),
        ];
        for (number, text, want) in cases {
            assert_eq!(Severity::from_otlp(number, text), want, "{number} {text:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::from_code(s.code()), Some(s));
            assert_eq!(Severity::parse_name(s.as_str()), Some(s));
        }
        assert_eq!(Severity::from_code(0), None);
        assert_eq!(Severity::from_code(7), None);
    }
}
