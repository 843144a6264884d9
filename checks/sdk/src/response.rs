//! Judging a response that was already received, for callers that must
//! look at the status first (404 means "gone", not "error").
//!
//! Owns: turning a [`Response`] into the same [`ApiError`]s that
//! [`Request::send_ok`] / [`Request::send_json`] produce, and the full body
//! text of an error for callers that match on it.
//!
//! Must never: send anything itself, or treat a non-2xx status as success.

use crate::bindings::scs::check::openstack::Response;
use crate::json::JsonError;
use crate::openstack::{ApiError, Request};
use serde_json::Value;

/// `Ok(resp)` for 2xx, else the [`ApiError::Status`] that `send_ok` gives.
pub fn ok(req: &Request, resp: Response) -> Result<Response, ApiError> {
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        let body = String::from_utf8_lossy(&resp.body);
        Err(ApiError::Status {
            what: req.describe(),
            status: resp.status,
            body: body.chars().take(200).collect(),
        })
    }
}

/// The JSON body of a 2xx response, else the error `send_json` gives.
pub fn json(req: &Request, resp: Response) -> Result<Value, ApiError> {
    let resp = ok(req, resp)?;
    serde_json::from_slice(&resp.body).map_err(|e| {
        ApiError::Json(JsonError {
            source: req.describe(),
            path: "(root)".to_string(),
            problem: format!("body is not valid JSON: {e}"),
        })
    })
}

/// The whole body as text (lossy UTF-8).
pub fn body_text(resp: &Response) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}
