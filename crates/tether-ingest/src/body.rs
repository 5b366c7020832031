//! Request body decompression within the request's [`Budget`], charged while inflating so
//! that a small bomb never allocates more than the budget: gzip, deflate and zstd, the
//! encodings the OpenTelemetry Collector and SDKs send.

use std::io::Read;

use crate::{Budget, DecodeError};

/// Bytes inflated between two charges of the budget.
const STEP: usize = 64 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Returns the body as plain bytes, decoded as `content_encoding` says (`gzip`, `deflate`,
/// `zstd`, `identity`; a list is undone last first), or gunzipped when no encoding is
/// declared and it starts with the gzip magic bytes (browsers' `sendBeacon` cannot set the
/// header). Every decoded byte (the plain body too, which is copied) is charged to
/// `budget`; fails when it runs out, and with [`DecodeError::UnsupportedEncoding`] for any
/// other encoding.
pub fn decompress(
    body: &[u8],
    content_encoding: Option<&str>,
    budget: &mut Budget,
) -> Result<Vec<u8>, DecodeError> {
    let encodings: Vec<String> = content_encoding
        .unwrap_or("")
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect();
    if encodings.is_empty() {
        if body.starts_with(&GZIP_MAGIC) {
            return decode(body, "gzip", budget);
        }
        budget.charge(body.len())?;
        return Ok(body.to_vec());
    }
    let mut plain = decode(body, &encodings[encodings.len() - 1], budget)?;
    for encoding in encodings.iter().rev().skip(1) {
        plain = decode(&plain, encoding, budget)?;
    }
    Ok(plain)
}

/// Undoes one encoding, charging its output to `budget` as it is produced.
fn decode(body: &[u8], encoding: &str, budget: &mut Budget) -> Result<Vec<u8>, DecodeError> {
    let reader: Box<dyn Read + '_> = match encoding {
        "gzip" | "x-gzip" => {
            if !body.starts_with(&GZIP_MAGIC) {
                return Err(DecodeError::Malformed(
                    "Content-Encoding is gzip but the body is not gzip data".into(),
                ));
            }
            // MultiGzDecoder: concatenated gzip members are valid gzip (e.g. streamed uploads).
            Box::new(flate2::read::MultiGzDecoder::new(body))
        }
        // HTTP's "deflate" is zlib-wrapped (RFC 9110); some clients send raw deflate. A zlib
        // header names the deflate method in its low 4 bits and its check bits make the
        // first two bytes a multiple of 31.
        "deflate"
            if body.len() >= 2
                && body[0] & 0x0f == 8
                && u16::from_be_bytes([body[0], body[1]]).is_multiple_of(31) =>
        {
            Box::new(flate2::read::ZlibDecoder::new(body))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(body)),
        "zstd" => Box::new(
            zstd::stream::read::Decoder::new(body)
                .map_err(|e| DecodeError::Malformed(format!("invalid zstd body: {e}")))?,
        ),
        other => return Err(DecodeError::UnsupportedEncoding(other.to_owned())),
    };
    inflate(reader, budget).map_err(|e| match e {
        InflateError::Budget(e) => e,
        InflateError::Io(e) => DecodeError::Malformed(format!("invalid {encoding} body: {e}")),
    })
}

/// Why [`inflate`] stopped.
pub(crate) enum InflateError {
    Budget(DecodeError),
    Io(std::io::Error),
}

/// Reads a decoder to its end, charging `budget` for the memory its output takes (what the
/// buffer allocates as it grows, doubling as a `Vec` does, not only what it fills) before
/// that memory is allocated.
pub(crate) fn inflate(mut reader: impl Read, budget: &mut Budget) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    let mut charged = 0usize;
    loop {
        if out.len() == out.capacity() {
            let granted = out.capacity().max(STEP).min(budget.remaining());
            budget.charge(granted).map_err(InflateError::Budget)?;
            charged += granted;
            // With nothing left, room for one byte tells a stream that ends from one that
            // goes on past the budget.
            out.reserve_exact(granted.max(1));
        }
        let start = out.len();
        out.resize(out.capacity(), 0);
        let n = loop {
            match reader.read(&mut out[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(InflateError::Io(e)),
            }
        };
        out.truncate(start + n);
        if n == 0 {
            return Ok(out);
        }
        if out.len() > charged {
            let limit = budget.limit();
            return Err(InflateError::Budget(DecodeError::TooLarge { limit, decompressed: true }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_detected_by_magic_without_header() {
        assert_eq!(decompress(&gzip(b"hello"), None, &mut Budget::new(100)).unwrap(), b"hello");
        assert_eq!(decompress(b"plain", None, &mut Budget::new(100)).unwrap(), b"plain");
    }

    #[test]
    fn gzip_bomb_stops_at_limit() {
        let bomb = gzip(&vec![0u8; 10_000_000]);
        assert!(bomb.len() < 20_000);
        let err = decompress(&bomb, Some("gzip"), &mut Budget::new(1_000_000)).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { decompressed: true, .. }), "{err}");
    }

    #[test]
    fn oversized_and_corrupt_bodies() {
        assert!(matches!(
            decompress(&[1u8; 11], None, &mut Budget::new(10)),
            Err(DecodeError::TooLarge { .. })
        ));
        let mut truncated = gzip(b"some text that is long enough");
        truncated.truncate(truncated.len() - 6);
        let budget = || Budget::new(100);
        assert!(matches!(decompress(&truncated, None, &mut budget()), Err(DecodeError::Malformed(_))));
        assert!(matches!(decompress(b"{}", Some("gzip"), &mut budget()), Err(DecodeError::Malformed(_))));
        assert!(matches!(decompress(b"{}", Some("zstd"), &mut budget()), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn deflate_and_zstd_are_decoded_with_the_same_limit() {
        let data = b"hello hello hello hello".repeat(100);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(&data).unwrap();
        let zlib = zlib.finish().unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(&data).unwrap();
        let raw = raw.finish().unwrap();
        let zstd = zstd::encode_all(&data[..], 3).unwrap();
        for (body, encoding) in
            [(&zlib, "deflate"), (&raw, "deflate"), (&zstd, "zstd"), (&zstd, "ZSTD, identity")]
        {
            assert_eq!(
                decompress(body, Some(encoding), &mut Budget::new(10_000)).unwrap(),
                data,
                "{encoding}"
            );
            assert!(
                matches!(
                    decompress(body, Some(encoding), &mut Budget::new(1000)),
                    Err(DecodeError::TooLarge { decompressed: true, .. })
                ),
                "{encoding} output is limited"
            );
        }
        let bomb = zstd::encode_all(&vec![0u8; 10_000_000][..], 19).unwrap();
        assert!(matches!(
            decompress(&bomb, Some("zstd"), &mut Budget::new(1_000_000)),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn unknown_encodings_are_refused_not_parsed() {
        let err = decompress(b"\x28\xb5", Some("br"), &mut Budget::new(100)).unwrap_err();
        assert!(matches!(&err, DecodeError::UnsupportedEncoding(e) if e == "br"), "{err}");
        assert_eq!(
            err.to_string(),
            "unsupported Content-Encoding br (accepted: gzip, deflate, zstd, identity)"
        );
        assert_eq!(decompress(b"plain", Some("identity"), &mut Budget::new(100)).unwrap(), b"plain");
    }
}
