//! The S3 face of the object store: a signed request to the host root (`/`), as the
//! scs-0123-swift-s3 probe sends it (ListBuckets with a bogus access key), answers with the
//! S3 error the fixture names (`object_store.s3_error`), as RGW or Swift's s3api would.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fixture::S3Error;
use crate::http::header_str;
use crate::server::Req;

/// True if the request is S3-signed (SigV4 or SigV2 header, or a presigned SigV4 query).
pub(crate) fn is_s3_signed(req: &Req) -> bool {
    let header = header_str(&req.headers, "authorization").unwrap_or("");
    header.starts_with("AWS4-HMAC-SHA256")
        || header.starts_with("AWS ")
        || req
            .query
            .iter()
            .any(|(k, v)| k == "X-Amz-Algorithm" && v == "AWS4-HMAC-SHA256")
}

/// The access key id of a signed request (`Credential=<key>/...` or `AWS <key>:...`).
fn access_key(req: &Req) -> String {
    let header = header_str(&req.headers, "authorization").unwrap_or("");
    if let Some(rest) = header.strip_prefix("AWS ") {
        return rest.split(':').next().unwrap_or("").to_owned();
    }
    if let Some((_, cred)) = header.split_once("Credential=") {
        return cred.split('/').next().unwrap_or("").to_owned();
    }
    req.query
        .iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v.split('/').next().unwrap_or("").to_owned())
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn xml(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = (status, Body::from(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}

/// Answer a signed request to `/`.
pub(crate) fn handle(error: S3Error, req: &Req) -> Response {
    let request_id = format!("tx{}", &uuid::Uuid::new_v4().simple().to_string()[..21]);
    let key = access_key(req);
    let (status, code, message) = match error {
        S3Error::InvalidAccessKeyId => (
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        S3Error::AccessDenied => (StatusCode::FORBIDDEN, "AccessDenied", "Access Denied."),
        S3Error::SignatureDoesNotMatch => (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        ),
        S3Error::NoSuchKey => (
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
        S3Error::None => {
            if req.method != "GET" && req.method != "HEAD" {
                return xml(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>MethodNotAllowed</Code>\
                         <Message>The specified method is not allowed against this resource.</Message>\
                         <RequestId>{request_id}</RequestId></Error>"
                    ),
                    &request_id,
                );
            }
            return xml(
                StatusCode::OK,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult \
                     xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>{0}</ID>\
                     <DisplayName>{0}</DisplayName></Owner><Buckets></Buckets>\
                     </ListAllMyBucketsResult>",
                    escape(&key)
                ),
                &request_id,
            );
        }
    };
    let key_element = if code == "InvalidAccessKeyId" {
        format!("<AWSAccessKeyId>{}</AWSAccessKeyId>", escape(&key))
    } else {
        String::new()
    };
    xml(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message>{key_element}<RequestId>{request_id}</RequestId>\
             </Error>"
        ),
        &request_id,
    )
}
