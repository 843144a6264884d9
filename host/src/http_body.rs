//! Reading the body of an HTTP answer from a server the host does not control (a cloud, the
//! compliance monitor, a data source) within a byte limit.
//!
//! Owns: the limit's two checks, in order: an announced `Content-Length` over the limit is
//! refused before a byte is read; a body that grows past it while streaming is refused at the
//! chunk that would cross it, before that chunk is stored.
//!
//! Must never: hold more than `limit` body bytes, or decide what a refusal means (each caller
//! turns [`BodyError`] into its own error).

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Longer than the limit: announced by `Content-Length` (`Some(length)`), or found while
    /// reading (`None`).
    TooLarge(Option<u64>),
    /// The connection failed or timed out while reading.
    Transport(reqwest::Error),
}

/// The whole body of `resp`, at most `limit` bytes.
pub(crate) async fn read_capped(
    resp: &mut reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    if let Some(n) = resp.content_length()
        && n > limit
    {
        return Err(BodyError::TooLarge(Some(n)));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge(None));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
