//! Nova servers: create (boot from volume), show, list, delete, console
//! output, and the waits around them.
//!
//! Owns: the request bodies and decoding of the server calls a check needs
//! to boot a short-lived test VM through the mediated `compute` API, plus
//! the base64 encoding Nova wants for `user_data`.
//!
//! Must never: delete a server it was not asked to delete (callers pass ids
//! or name prefixes they own), retry a create, or sleep other than through a
//! [`Clock`].

use crate::json::Field;
use crate::openstack::{ApiError, Method, NextStyle, Request, list_all};
use crate::response;
use crate::wait::{Clock, PollError, poll};
use serde_json::{Value, json};

/// A Nova server, as far as checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Server id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `BUILD`, `ACTIVE`, `ERROR`, `DELETED`, ...
    pub status: String,
    /// `fault.message`, if Nova gives one.
    pub fault: Option<String>,
    /// `addresses` is a non-empty object (the server has an IP somewhere).
    pub has_addresses: bool,
}

fn decode_server(f: &Field<'_>) -> Result<Server, ApiError> {
    Ok(Server {
        id: f.get("id").string()?,
        name: f.get("name").opt_string()?.unwrap_or_default(),
        status: f.get("status").opt_string()?.unwrap_or_default(),
        fault: f.get("fault").get("message").opt_string()?,
        has_addresses: f
            .get("addresses")
            .value()
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty()),
    })
}

/// All servers of the project (`GET servers/detail`, paginated).
pub fn list_servers() -> Result<Vec<Server>, ApiError> {
    let first = Request::get("compute", "servers/detail");
    let what = first.describe();
    let raw = list_all(first, "servers", NextStyle::Links)?;
    raw.iter()
        .enumerate()
        .map(|(i, v)| decode_server(&Field::at(&what, format!("servers[{i}]"), v)))
        .collect()
}

/// One server; `None` if Nova answers 404.
pub fn get_server(id: &str) -> Result<Option<Server>, ApiError> {
    let req = Request::get("compute", &format!("servers/{id}"));
    let resp = req.send()?;
    if resp.status == 404 {
        return Ok(None);
    }
    let body = response::json(&req, resp)?;
    let what = req.describe();
    decode_server(&Field::root(&what, &body).get("server")).map(Some)
}

/// Where the root disk of a new server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFromVolume {
    /// Image to copy into the new volume.
    pub image_id: String,
    /// Volume size in GiB.
    pub volume_size_gib: u64,
    /// Delete the volume together with the server.
    pub delete_on_termination: bool,
}

/// What to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Server name.
    pub name: String,
    /// Flavor id.
    pub flavor_id: String,
    /// Root disk.
    pub boot: BootFromVolume,
    /// Network ids to attach (one port each).
    pub network_ids: Vec<String>,
    /// Raw user data (encoded here).
    pub user_data: Option<String>,
}

/// The `POST servers` body for `spec`: no key pair, no security group (the
/// project's default one applies), block_device_mapping_v2 for the root
/// volume, user data base64-encoded.
pub fn server_body(spec: &ServerSpec) -> Value {
    let mut server = json!({
        "name": spec.name,
        "flavorRef": spec.flavor_id,
        "min_count": 1,
        "max_count": 1,
        "block_device_mapping_v2": [{
            "boot_index": 0,
            "uuid": spec.boot.image_id,
            "source_type": "image",
            "destination_type": "volume",
            "volume_size": spec.boot.volume_size_gib,
            "delete_on_termination": spec.boot.delete_on_termination,
        }],
        "networks": spec.network_ids.iter().map(|id| json!({"uuid": id})).collect::<Vec<_>>(),
    });
    if let (Some(ud), Some(obj)) = (&spec.user_data, server.as_object_mut()) {
        obj.insert(
            "user_data".into(),
            Value::String(base64_encode(ud.as_bytes())),
        );
    }
    json!({ "server": server })
}

/// `POST servers`; returns the new server's id.
pub fn create_server(spec: &ServerSpec) -> Result<String, ApiError> {
    let req = Request::new("compute", Method::Post, "servers").json(&server_body(spec));
    let body = req.send_json()?;
    let what = req.describe();
    Ok(Field::root(&what, &body).get("server").get("id").string()?)
}

/// `DELETE servers/{id}`; `Ok(false)` if it was already gone (404).
pub fn delete_server(id: &str) -> Result<bool, ApiError> {
    let req = Request::new("compute", Method::Delete, &format!("servers/{id}"));
    let resp = req.send()?;
    if resp.status == 404 {
        return Ok(false);
    }
    response::ok(&req, resp)?;
    Ok(true)
}

/// The serial console log (`os-getConsoleOutput`, whole log).
pub fn console_output(id: &str) -> Result<String, ApiError> {
    let req = Request::new("compute", Method::Post, &format!("servers/{id}/action"))
        .json(&json!({"os-getConsoleOutput": {}}));
    let body = req.send_json()?;
    let what = req.describe();
    Ok(Field::root(&what, &body)
        .get("output")
        .opt_string()?
        .unwrap_or_default())
}

/// Why a server wait ended without success.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitError {
    /// Not there in time.
    Timeout(String),
    /// The server went to ERROR (or came up without an address).
    Failed(String),
    /// The API failed.
    Api(ApiError),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::Timeout(m) | WaitError::Failed(m) => write!(f, "{m}"),
            WaitError::Api(e) => write!(f, "{e}"),
        }
    }
}

/// Wait like openstacksdk's `create_server(..., wait=True)`: poll the
/// server every `interval_ms` for at most `timeout_ms`. A failing GET or a
/// 404 just means "not yet" (openstacksdk swallows both and polls on).
/// `ERROR` fails at once with Nova's fault message; `ACTIVE` without any
/// address fails too (openstacksdk deletes such a server and raises);
/// `ACTIVE` with an address is done.
pub fn wait_for_active(
    clock: &mut dyn Clock,
    id: &str,
    timeout_ms: u64,
    interval_ms: u64,
) -> Result<Server, WaitError> {
    wait_for_active_with(clock, id, timeout_ms, interval_ms, || get_server(id))
}

/// [`wait_for_active`] with the GET supplied (for tests).
pub fn wait_for_active_with(
    clock: &mut dyn Clock,
    id: &str,
    timeout_ms: u64,
    interval_ms: u64,
    mut fetch: impl FnMut() -> Result<Option<Server>, ApiError>,
) -> Result<Server, WaitError> {
    let r = poll(clock, timeout_ms, interval_ms, || match fetch() {
        Err(_) | Ok(None) => Ok(None),
        Ok(Some(s)) => match s.status.as_str() {
            "ACTIVE" if s.has_addresses => Ok(Some(s)),
            "ACTIVE" => Err(WaitError::Failed(
                "Server reached ACTIVE state without being allocated an IP address.".to_string(),
            )),
            "ERROR" => Err(WaitError::Failed(match &s.fault {
                Some(m) => {
                    format!("Error in creating the server. Compute service reports fault: {m}")
                }
                None => {
                    "Error in creating the server (no further information available)".to_string()
                }
            })),
            _ => Ok(None),
        },
    });
    r.map_err(|e| match e {
        PollError::Failed(w) => w,
        PollError::Timeout { waited_ms } => WaitError::Timeout(format!(
            "Timeout waiting for the server to come up ({id}, {} s).",
            waited_ms / 1000
        )),
    })
}

/// Poll until the server is gone (404 or status DELETED).
pub fn wait_for_gone(
    clock: &mut dyn Clock,
    id: &str,
    timeout_ms: u64,
    interval_ms: u64,
) -> Result<(), WaitError> {
    let r = poll(clock, timeout_ms, interval_ms, || match get_server(id) {
        Err(e) => Err(WaitError::Api(e)),
        Ok(None) => Ok(Some(())),
        Ok(Some(s)) if s.status == "DELETED" => Ok(Some(())),
        Ok(Some(_)) => Ok(None),
    });
    r.map_err(|e| match e {
        PollError::Failed(w) => w,
        PollError::Timeout { waited_ms } => WaitError::Timeout(format!(
            "server {id} was not deleted within {} s",
            waited_ms / 1000
        )),
    })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4), as Nova expects `user_data`.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc, "{plain:?}");
        }
        assert_eq!(base64_encode(&[0xff, 0xfe, 0xfd]), "//79");
    }

    fn srv(status: &str, has_addresses: bool) -> Server {
        Server {
            id: "s".into(),
            name: "n".into(),
            status: status.into(),
            fault: None,
            has_addresses,
        }
    }

    #[test]
    fn waiting_for_active() {
        use crate::wait::FakeClock;
        // errors and 404 are "not yet", as in openstacksdk
        let mut answers = vec![
            Err(ApiError::Host("transport".into())),
            Ok(None),
            Ok(Some(srv("BUILD", false))),
            Ok(Some(srv("ACTIVE", true))),
        ]
        .into_iter();
        let mut clock = FakeClock::default();
        let r = wait_for_active_with(&mut clock, "s", 500_000, 2_000, || {
            answers.next().unwrap_or(Ok(None))
        });
        assert_eq!(r.map(|s| s.status), Ok("ACTIVE".to_string()));
        assert_eq!(clock.sleeps, vec![2000, 2000, 2000]);
        // ERROR: at once, with the fault
        let mut clock = FakeClock::default();
        let mut e = srv("ERROR", false);
        e.fault = Some("No valid host was found.".into());
        let r = wait_for_active_with(&mut clock, "s", 500_000, 2_000, || Ok(Some(e.clone())));
        assert_eq!(
            r.map_err(|e| e.to_string()),
            Err("Error in creating the server. Compute service reports fault: No valid host was found.".to_string())
        );
        // ACTIVE without an address: an error too
        let r = wait_for_active_with(&mut clock, "s", 500_000, 2_000, || {
            Ok(Some(srv("ACTIVE", false)))
        });
        assert!(matches!(r, Err(WaitError::Failed(_))));
        // never ACTIVE: timeout after the budget
        let mut clock = FakeClock::default();
        let r = wait_for_active_with(&mut clock, "s", 500_000, 2_000, || {
            Ok(Some(srv("BUILD", false)))
        });
        assert!(matches!(r, Err(WaitError::Timeout(_))));
        assert_eq!(clock.sleeps.iter().sum::<u64>(), 500_000);
    }

    #[test]
    fn boot_from_volume_body() {
        let spec = ServerSpec {
            name: "_scs-0101-server".into(),
            flavor_id: "42".into(),
            boot: BootFromVolume {
                image_id: "img".into(),
                volume_size_gib: 8,
                delete_on_termination: true,
            },
            network_ids: vec!["net".into()],
            user_data: Some("#cloud-config\n".into()),
        };
        let b = server_body(&spec);
        let s = &b["server"];
        assert_eq!(s["name"], "_scs-0101-server");
        assert_eq!(s["flavorRef"], "42");
        assert!(s.get("imageRef").is_none());
        assert!(s.get("key_name").is_none());
        assert!(s.get("security_groups").is_none());
        let bdm = &s["block_device_mapping_v2"][0];
        assert_eq!(bdm["boot_index"], 0);
        assert_eq!(bdm["uuid"], "img");
        assert_eq!(bdm["source_type"], "image");
        assert_eq!(bdm["destination_type"], "volume");
        assert_eq!(bdm["volume_size"], 8);
        assert_eq!(bdm["delete_on_termination"], true);
        assert_eq!(s["networks"][0]["uuid"], "net");
        assert_eq!(s["user_data"], base64_encode(b"#cloud-config\n"));
    }
}
