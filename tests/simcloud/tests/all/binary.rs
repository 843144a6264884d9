//! The `simcloud` binary: first stdout line, clouds.yaml, serving, SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    reply
}

#[test]
fn binary_prints_url_writes_clouds_yaml_and_stops_on_sigterm() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simcloud-binary-test");
    std::fs::create_dir_all(&dir).expect("tmpdir");
    let clouds = dir.join("clouds.yaml");
    let _ = std::fs::remove_file(&clouds);
    let mut child = Command::new(env!("CARGO_BIN_EXE_simcloud"))
        .args([
            "--fixture",
            &fixture("compliant.yaml"),
            "--cloud-name",
            "sim",
        ])
        .arg("--write-clouds-yaml")
        .arg(&clouds)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn simcloud");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let url = first
        .trim_end()
        .strip_prefix("simcloud listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected url {url}"));
    assert!(port > 0);

    let text = std::fs::read_to_string(&clouds).expect("clouds.yaml written before the line");
    assert!(text.starts_with("clouds:\n  sim:\n"), "{text}");
    assert!(
        text.contains(&format!("auth_url: {url}/identity/v3")),
        "{text}"
    );
    assert!(text.contains("username: member"), "{text}");

    let reply = http_get(&format!("127.0.0.1:{port}"), "/_sim/health");
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("simcloud did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn binary_fails_cleanly_on_a_bad_fixture() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simcloud-binary-test");
    std::fs::create_dir_all(&dir).expect("tmpdir");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "users: [{name: a}]\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_simcloud"))
        .arg("--fixture")
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("simcloud: invalid fixture YAML"),
        "{stderr}"
    );
    assert!(stderr.contains("missing field `password`"), "{stderr}");
}
