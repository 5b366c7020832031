//! Capture bodies in every encoding posthog-js uses: raw gzip (sniffed by magic bytes,
//! whatever the content type), `data=<base64>` forms, and plain JSON.

use base64::Engine;

use crate::{Budget, DecodeError, decompress};

/// Decodes a capture request body into its JSON text (parsed by the caller, which knows
/// what it reads of it). `query_compression` is the `compression` query parameter (older
/// SDKs name the encoding there). What decoding produces is charged to `budget`: the
/// form's field, its base64 bytes, the inflated text, and twice the text again for what
/// the caller makes of it, the events' copies of their properties and the records stored
/// (measured: an 18 MB batch of large events raised the server's peak memory by ~140 MB,
/// DuckDB's copies included).
pub fn decode_capture_body(
    body: &[u8],
    content_type: Option<&str>,
    query_compression: Option<&str>,
    budget: &mut Budget,
) -> Result<Vec<u8>, DecodeError> {
    let is_form = content_type
        .map(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
        .unwrap_or(false)
        || body.starts_with(b"data=");
    let owned;
    let mut bytes: &[u8] = body;
    if is_form {
        let mut data = None;
        for (key, value) in form_urlencoded::parse(body) {
            if key == "data" {
                budget.charge(value.len())?;
                data = Some(value.into_owned());
            }
        }
        let data = data.ok_or_else(|| DecodeError::Malformed("form body has no data field".into()))?;
        budget.charge(data.len() / 4 * 3 + 3)?;
        // Form decoding turns the base64 '+' into spaces; put them back.
        let data = data.trim().replace(' ', "+");
        owned = base64::engine::general_purpose::STANDARD
            .decode(data.as_bytes())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(data.trim_end_matches('=')))
            .map_err(|_| DecodeError::Malformed("data field is not base64".into()))?;
        bytes = &owned;
    }
    let gzip_hint = matches!(query_compression, Some("gzip" | "gzip-js"));
    let plain = decompress(bytes, gzip_hint.then_some("gzip"), budget)?;
    if plain.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Malformed("empty body".into()));
    }
    budget.charge(plain.len().saturating_mul(2))?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn every_encoding_decodes_to_the_same_json() {
        let json = br#"{"api_key":"phc_x","batch":[{"event":"e+1"}]}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        // A '+' in base64 arrives as a space after form decoding: cover it with a body that has one.
        let form = format!("data={}", b64.replace('+', " "));
        let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
            (json.to_vec(), Some("application/json")),
            (gzip(json), Some("text/plain")),
            (gzip(json), None),
            (form.into_bytes(), Some("application/x-www-form-urlencoded")),
            (format!("data={}", urlencode(&b64)).into_bytes(), Some("application/x-www-form-urlencoded")),
        ];
        for (body, ct) in cases {
            assert_eq!(
                decode_capture_body(&body, ct, None, &mut Budget::new(1 << 20)).unwrap(),
                json,
                "{ct:?}"
            );
        }
    }

    fn urlencode(s: &str) -> String {
        form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[test]
    fn bad_bodies_are_malformed_or_too_large() {
        // (Whether the text is JSON is for its reader: `parse_capture`, the flags handler.)
        let cases: [(&[u8], Option<&str>); 3] = [
            (b"", None),
            (b"data=!!!", Some("application/x-www-form-urlencoded")),
            (b"other=1", Some("application/x-www-form-urlencoded")),
        ];
        for (body, ct) in cases {
            let decoded = decode_capture_body(body, ct, None, &mut Budget::new(1000));
            assert!(matches!(decoded, Err(DecodeError::Malformed(_))));
        }
        let big = gzip(&vec![b' '; 5000]);
        let decoded = decode_capture_body(&big, None, None, &mut Budget::new(1000));
        assert!(matches!(decoded, Err(DecodeError::TooLarge { .. })));
    }
}
