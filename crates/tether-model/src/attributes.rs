//! Typed attribute values, mirroring OTLP's `AnyValue` so that ints stay ints and lists
//! stay lists from ingestion to the API.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// One attribute value with its OTLP type kept.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    String(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// Raw bytes; rendered as base64 in JSON, as OTLP/JSON does.
    Bytes(String),
    Array(Vec<AttrValue>),
    KvList(Attributes),
    Empty,
}

/// Attributes in their original order. Keys may repeat in OTLP; the first one wins on lookup.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes(pub Vec<(String, AttrValue)>);

impl Attributes {
    /// The first value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&AttrValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Reads attributes back from the JSON object text [`Attributes::to_json`] writes.
    /// Types survive except bytes, which come back as their base64 string.
    pub fn from_json(text: &str) -> Attributes {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Attributes::from_json_map(map),
            _ => Attributes::default(),
        }
    }

    fn from_json_map(map: serde_json::Map<String, serde_json::Value>) -> Attributes {
        Attributes(map.into_iter().map(|(k, v)| (k, AttrValue::from_json(v))).collect())
    }

    /// The attributes as a JSON object text (duplicate keys: first wins), the form the
    /// stores keep and the API returns.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

impl AttrValue {
    /// A value from its JSON form (the inverse of serializing it; bytes become strings).
    pub fn from_json(value: serde_json::Value) -> AttrValue {
        use serde_json::Value;
        match value {
            Value::Null => AttrValue::Empty,
            Value::Bool(b) => AttrValue::Bool(b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => AttrValue::Int(i),
                None => AttrValue::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => AttrValue::String(s),
            Value::Array(items) => AttrValue::Array(items.into_iter().map(AttrValue::from_json).collect()),
            Value::Object(map) => AttrValue::KvList(Attributes::from_json_map(map)),
        }
    }

    /// The value as text when it is a scalar that can identify something (a session or a
    /// person): strings as they are, integers in decimal. Other types cannot be ids.
    pub fn as_id_text(&self) -> Option<String> {
        match self {
            AttrValue::String(s) => Some(s.trim().to_owned()),
            AttrValue::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }
}

impl Serialize for AttrValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AttrValue::String(s) | AttrValue::Bytes(s) => serializer.serialize_str(s),
            AttrValue::Int(i) => serializer.serialize_i64(*i),
            // JSON has no NaN or infinity; those become null rather than failing the record.
            AttrValue::Double(d) if d.is_finite() => serializer.serialize_f64(*d),
            AttrValue::Double(_) | AttrValue::Empty => serializer.serialize_unit(),
            AttrValue::Bool(b) => serializer.serialize_bool(*b),
            AttrValue::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            AttrValue::KvList(kv) => kv.serialize(serializer),
        }
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seen = std::collections::HashSet::with_capacity(self.0.len());
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in &self.0 {
            if seen.insert(key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_value_types_and_first_duplicate() {
        let attrs = Attributes(vec![
            ("s".into(), AttrValue::String("x".into())),
            ("i".into(), AttrValue::Int(7)),
            ("d".into(), AttrValue::Double(1.5)),
            ("whole".into(), AttrValue::Double(2.0)),
            ("b".into(), AttrValue::Bool(true)),
            ("a".into(), AttrValue::Array(vec![AttrValue::Int(1), AttrValue::String("two".into())])),
            ("kv".into(), AttrValue::KvList(Attributes(vec![("k".into(), AttrValue::Empty)]))),
            ("nan".into(), AttrValue::Double(f64::NAN)),
            ("s".into(), AttrValue::String("ignored".into())),
        ]);
        assert_eq!(
            attrs.to_json(),
            r#"{"s":"x","i":7,"d":1.5,"whole":2.0,"b":true,"a":[1,"two"],"kv":{"k":null},"nan":null}"#
        );
        let back = Attributes::from_json(&attrs.to_json());
        assert_eq!(back.to_json(), attrs.to_json());
        assert_eq!(back.get("whole"), Some(&AttrValue::Double(2.0)));
        assert_eq!(back.get("i"), Some(&AttrValue::Int(7)));
    }
}
