//! The binary: first stdout line, defaults, certificate flag.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

#[tokio::test]
async fn binary_prints_its_url_first_and_serves() {
    let cert = format!("{}/tests/fixtures/app-cert.pem", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "my-app",
            "--client-secret",
            "s3cret",
            "--certificate",
            &cert,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("line");
    let url = line
        .trim()
        .strip_prefix("m365-sim listening on ")
        .expect("prefix")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/_sim/tenants"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 201);
    let tenant = r.json::<serde_json::Value>().await.expect("json")["tenant_id"]
        .as_str()
        .expect("t")
        .to_owned();
    let tok = http
        .post(format!("{url}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "my-app"),
            ("client_secret", "s3cret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(tok.status().as_u16(), 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn binary_refuses_non_loopback() {
    let out = Command::new(env!("CARGO_BIN_EXE_m365-sim"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn config_file_sets_credentials_and_certificate_path() {
    let dir = std::env::temp_dir().join(format!("m365-sim-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("sim.json");
    let cert = format!("{}/tests/fixtures/app-cert.pem", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        &cfg,
        serde_json::json!({"client_id": "from-file", "certificate_path": cert}).to_string(),
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365-sim"))
        .args(["--config", cfg.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    assert!(
        line.starts_with("m365-sim listening on http://127.0.0.1:"),
        "{line}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"certificate_path": "/nonexistent.pem"}"#).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_m365-sim"))
        .args(["--config", bad.to_str().expect("utf8")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
