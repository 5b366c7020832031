//! Log attributes as two ClickHouse maps: `attributes` holds every value's text (what
//! filters and facets compare: strings as they are, numbers and booleans as written in JSON,
//! lists and maps as JSON), `attribute_types` the type of each value that is not a string,
//! so reading them back gives ints as ints and lists as lists.

use tether_model::{AttrValue, Attributes};

const INT: u8 = 1;
const DOUBLE: u8 = 2;
const BOOL: u8 = 3;
const BYTES: u8 = 4;
/// Lists and maps, and doubles, are stored as JSON text.
const JSON: u8 = 5;
const EMPTY: u8 = 6;

/// A ClickHouse `Map` as its rows see it: (key, value) pairs in order.
pub(crate) type MapOf<V> = Vec<(String, V)>;

/// The two maps of `attributes` (a repeated key: the first value wins, as in JSON).
pub(crate) fn encode(attributes: &Attributes) -> (MapOf<String>, MapOf<u8>) {
    let mut seen = std::collections::HashSet::with_capacity(attributes.len());
    let mut texts = Vec::with_capacity(attributes.len());
    let mut types = Vec::new();
    for (key, value) in &attributes.0 {
        if !seen.insert(key.as_str()) {
            continue;
        }
        let (text, kind) = match value {
            AttrValue::String(s) => (s.clone(), None),
            AttrValue::Int(i) => (i.to_string(), Some(INT)),
            AttrValue::Double(_) => (json(value), Some(DOUBLE)),
            AttrValue::Bool(b) => (b.to_string(), Some(BOOL)),
            AttrValue::Bytes(b) => (b.clone(), Some(BYTES)),
            AttrValue::Array(_) | AttrValue::KvList(_) => (json(value), Some(JSON)),
            AttrValue::Empty => (String::new(), Some(EMPTY)),
        };
        texts.push((key.clone(), text));
        if let Some(kind) = kind {
            types.push((key.clone(), kind));
        }
    }
    (texts, types)
}

fn json(value: &AttrValue) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The attributes back from their two maps.
pub(crate) fn decode(texts: MapOf<String>, types: &[(String, u8)]) -> Attributes {
    let type_of = |key: &str| types.iter().find(|(k, _)| k == key).map(|(_, t)| *t);
    Attributes(
        texts
            .into_iter()
            .map(|(key, text)| {
                let value = match type_of(&key) {
                    None => AttrValue::String(text),
                    Some(INT) => text.parse().map_or(AttrValue::String(text), AttrValue::Int),
                    Some(BOOL) => AttrValue::Bool(text == "true"),
                    Some(BYTES) => AttrValue::Bytes(text),
                    Some(EMPTY) => AttrValue::Empty,
                    // DOUBLE and JSON: the value's JSON text.
                    Some(_) => {
                        serde_json::from_str(&text).map_or(AttrValue::String(text), AttrValue::from_json)
                    }
                };
                (key, value)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_survives_the_two_maps() {
        let attrs = Attributes(vec![
            ("s".into(), AttrValue::String("42".into())),
            ("i".into(), AttrValue::Int(42)),
            ("d".into(), AttrValue::Double(2.0)),
            ("b".into(), AttrValue::Bool(true)),
            ("bytes".into(), AttrValue::Bytes("AAE=".into())),
            ("a".into(), AttrValue::Array(vec![AttrValue::Int(1), AttrValue::String("two".into())])),
            ("kv".into(), AttrValue::KvList(Attributes(vec![("k".into(), AttrValue::Empty)]))),
            ("e".into(), AttrValue::Empty),
            ("s".into(), AttrValue::String("second".into())),
        ]);
        let (texts, types) = encode(&attrs);
        assert_eq!(texts[0], ("s".to_owned(), "42".to_owned()), "strings are stored as they are");
        assert_eq!(texts[1], ("i".to_owned(), "42".to_owned()), "ints compare as their decimal text");
        assert_eq!(texts.len(), 8, "a repeated key keeps its first value");
        let back = decode(texts, &types);
        assert_eq!(back.get("s"), Some(&AttrValue::String("42".into())));
        assert_eq!(back.get("i"), Some(&AttrValue::Int(42)));
        assert_eq!(back.get("d"), Some(&AttrValue::Double(2.0)));
        assert_eq!(back.get("bytes"), Some(&AttrValue::Bytes("AAE=".into())));
        assert_eq!(back.to_json(), attrs.to_json());
    }
}
