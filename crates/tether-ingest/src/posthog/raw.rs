//! Reading a few fields out of large JSON without building a tree of the rest: capture
//! bodies are mostly properties and rrweb data that Tether stores as sent, so they are kept
//! as text (`RawValue`) and only the fields Tether reads are parsed.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A field parsed when it has the expected type, `None` otherwise (a wrong type is the
/// sender's quirk, not a reason to refuse the whole event). Only for `serde_json` text input.
#[derive(Debug)]
pub(crate) struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&RawValue>::deserialize(d)?;
        Ok(Lenient(serde_json::from_str(raw.get()).ok()))
    }
}

/// The first character of a JSON value's text: `{` for an object, `[` for an array.
pub(crate) fn starts(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(b' ')
}

/// An object's members in order, their values as text (keys are few: what is inside the
/// values is not parsed).
pub(crate) struct Members<'a>(pub Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Members<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((key, value));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl Members<'_> {
    /// The object's text with `replace`'s members swapped in (by key) and `drop` left out.
    pub(crate) fn write(&self, replace: &[(&str, &str)], drop: &str) -> String {
        let mut out = String::from("{");
        for (key, value) in &self.0 {
            if key == drop {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            // A key is a string: serializing it cannot fail.
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            match replace.iter().find(|(k, _)| k == key) {
                Some((_, text)) => out.push_str(text),
                None => out.push_str(value.get()),
            }
        }
        out.push('}');
        out
    }

    pub(crate) fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_fields_and_members() {
        #[derive(Deserialize)]
        struct Head {
            #[serde(default)]
            n: Lenient<i64>,
            #[serde(default)]
            s: Lenient<String>,
        }
        let h: Head =
            serde_json::from_str(r#"{"n": "not a number", "s": "x", "other": [1, {"a": 2}]}"#).unwrap();
        assert_eq!((h.n.0, h.s.0.as_deref()), (None, Some("x")));
        let h: Head = serde_json::from_str(r#"{"n": 7}"#).unwrap();
        assert_eq!((h.n.0, h.s.0), (Some(7), None));

        let text = r#"{"a": 1, "b\"q": {"deep": [1, 2]}, "c": "x"}"#;
        let m: Members = serde_json::from_str(text).unwrap();
        assert_eq!(m.get("b\"q").map(RawValue::get), Some(r#"{"deep": [1, 2]}"#));
        let out = m.write(&[("c", "[3]")], "a");
        assert_eq!(out, r#"{"b\"q":{"deep": [1, 2]},"c":[3]}"#);
        assert_eq!(starts(serde_json::from_str::<&RawValue>(" [1]").unwrap()), b'[');
    }
}
