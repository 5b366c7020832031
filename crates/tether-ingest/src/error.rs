//! The one error type of decoding, split by how the server answers it.

/// Why a request body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not valid in any accepted encoding (answered 400).
    #[error("{0}")]
    Malformed(String),
    /// The body, before or after decompression, exceeds the limit (answered 413).
    #[error("body exceeds the limit of {limit} bytes{}", if *.decompressed { " after decompression" } else { "" })]
    TooLarge { limit: usize, decompressed: bool },
    /// Requests in flight hold all the memory Tether allows them; this one may be sent again
    /// shortly (answered 503 with `Retry-After`).
    #[error("too much data is being decoded at once, retry shortly")]
    Overloaded,
    /// A `Content-Encoding` Tether does not decode (answered 415).
    #[error("unsupported Content-Encoding {0} (accepted: gzip, deflate, zstd, identity)")]
    UnsupportedEncoding(String),
}
