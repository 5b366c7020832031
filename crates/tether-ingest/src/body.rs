//! Request body decompression with a hard output limit, checked while inflating so that a
//! small gzip bomb never allocates more than the limit.

use std::io::Read;

use crate::DecodeError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Returns the body as plain bytes: gunzipped when it starts with the gzip magic bytes or
/// `content_encoding` says gzip, otherwise as is. Fails when the result exceeds `limit`.
pub fn decompress(body: &[u8], content_encoding: Option<&str>, limit: usize) -> Result<Vec<u8>, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { limit, decompressed: false });
    }
    let declared_gzip = content_encoding
        .map(|e| e.trim().eq_ignore_ascii_case("gzip") || e.trim().eq_ignore_ascii_case("x-gzip"))
        .unwrap_or(false);
    if !body.starts_with(&GZIP_MAGIC) {
        if declared_gzip && !body.is_empty() {
            return Err(DecodeError::Malformed(
                "Content-Encoding is gzip but the body is not gzip data".into(),
            ));
        }
        return Ok(body.to_vec());
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    // MultiGzDecoder: concatenated gzip members are valid gzip (e.g. streamed uploads).
    let mut decoder = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| DecodeError::Malformed(format!("invalid gzip body: {e}")))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit, decompressed: true });
    }
    Ok(out)
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
        assert_eq!(decompress(&gzip(b"hello"), None, 100).unwrap(), b"hello");
        assert_eq!(decompress(b"plain", None, 100).unwrap(), b"plain");
    }

    #[test]
    fn gzip_bomb_stops_at_limit() {
        let bomb = gzip(&vec![0u8; 10_000_000]);
        assert!(bomb.len() < 20_000);
        let err = decompress(&bomb, Some("gzip"), 1_000_000).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { decompressed: true, .. }), "{err}");
    }

    #[test]
    fn oversized_and_corrupt_bodies() {
        assert!(matches!(
            decompress(&[1u8; 11], None, 10),
            Err(DecodeError::TooLarge { decompressed: false, .. })
        ));
        let mut truncated = gzip(b"some text that is long enough");
        truncated.truncate(truncated.len() - 6);
        assert!(matches!(decompress(&truncated, None, 100), Err(DecodeError::Malformed(_))));
        assert!(matches!(decompress(b"{}", Some("gzip"), 100), Err(DecodeError::Malformed(_))));
    }
}
