//! The README's walkthroughs, run as written: every `sh` block after the Quick start, in order,
//! in one fresh bash (`set -euo pipefail`), next to a real `portcullis serve` started in an empty
//! directory, with the `portcullis` binary on `PATH`. The only change is the server's address
//! (`http://127.0.0.1:8080` → this test's port). Where the reader opens a URL in a browser and
//! pastes back where it landed, the test does the same with a cookie-keeping HTTP client.
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::web::{fill, form_fields, get, post_form};

const README: &str = include_str!("../../README.md");
const README_ADDRESS: &str = "http://127.0.0.1:8080";

/// The walkthrough commands: `sh` blocks from the first walkthrough on.
fn walkthrough_script(address: &str) -> String {
    let start = README
        .find("## Walkthrough")
        .expect("the README has walkthroughs");
    let mut script = String::from("set -euo pipefail\n");
    let mut in_block = false;
    for line in README[start..].lines() {
        match (in_block, line.trim_end()) {
            (false, "```sh") => in_block = true,
            (true, "```") => in_block = false,
            (true, _) => {
                script.push_str(&line.replace(README_ADDRESS, address));
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

/// A portcullis command with no settings from the developer's environment.
fn portcullis(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PORTCULLIS_") {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(dir).kill_on_drop(true);
    cmd
}

async fn start_server(dir: &std::path::Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let child = portcullis(dir)
        .arg("serve")
        .env("PORTCULLIS_ISSUER", &address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{address}/readyz")).send().await {
            if r.status() == 200 {
                return (child, address);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not become ready");
}

/// What a person does in the browser: sign in, allow, and read where the browser landed.
async fn browser_sign_in(
    browser: &reqwest::Client,
    address: &str,
    url: &str,
    email: &str,
    password: &str,
) -> String {
    let mut next = url.to_string();
    for _ in 0..6 {
        let resp = if next.contains("/login?") {
            let (_, _, html) = get(browser, &next).await;
            let form = fill(
                form_fields(&html, "#login-form"),
                &[("username", email), ("password", password)],
            );
            post_form(browser, &format!("{address}/login"), &form).await
        } else if next.contains("/consent?") {
            let (_, _, html) = get(browser, &next).await;
            let form = fill(
                form_fields(&html, "#consent-form"),
                &[("decision", "allow")],
            );
            post_form(browser, &format!("{address}/consent"), &form).await
        } else {
            browser.get(&next).send().await.unwrap()
        };
        let location = resp
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect from {next}: {}", resp.status()))
            .to_str()
            .unwrap()
            .to_string();
        next = reqwest::Url::parse(address)
            .unwrap()
            .join(&location)
            .unwrap()
            .into();
        if !next.starts_with(address) {
            return next;
        }
    }
    panic!("the sign-in did not end at the app: {next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthroughs_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = start_server(dir.path()).await;
    let script = walkthrough_script(&address);
    assert!(script.contains("portcullis client create"), "{script}");
    std::fs::write(dir.path().join("walkthrough.sh"), &script).unwrap();

    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_portcullis"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = Command::new("bash");
    shell
        .arg("walkthrough.sh")
        .current_dir(dir.path())
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, _) in std::env::vars() {
        if name.starts_with("PORTCULLIS_") {
            shell.env_remove(name);
        }
    }
    let mut shell = shell.spawn().unwrap();
    let mut stdin = shell.stdin.take().unwrap();
    let mut lines = BufReader::new(shell.stdout.take().unwrap()).lines();
    let stderr = shell.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });

    let browser = crate::web::browser();
    let mut transcript = String::new();
    let mut logout_url = None;
    let run = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            transcript.push_str(&line);
            transcript.push('\n');
            if line.starts_with(&format!("{address}/authorize?")) {
                let landed = browser_sign_in(
                    &browser,
                    &address,
                    &line,
                    "grace@example.com",
                    "Grace-Hopper-1906",
                )
                .await;
                stdin
                    .write_all(format!("{landed}\n").as_bytes())
                    .await
                    .unwrap();
            }
            if line.starts_with(&format!("{address}/logout?")) {
                logout_url = Some(line.clone());
            }
        }
        shell.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the walkthroughs finish within 2 minutes");
    let errors = errors.await.unwrap();
    assert!(
        status.success(),
        "the walkthrough failed ({status}):\n{transcript}\nstderr:\n{errors}"
    );

    // What the README promises along the way.
    for expected in [
        r#""token_type":"Bearer","expires_in":900,"scope":"read""#,
        r#""email":"bob@example.com""#,
        r#""email":"grace@example.com""#,
        r#""active":true"#,
        r#""username":"grace@example.com""#,
    ] {
        assert!(
            transcript.contains(expected),
            "{expected} missing:\n{transcript}"
        );
    }
    // The printed logout URL signs the browser out and returns to the app.
    let resp = browser
        .get(logout_url.expect("the walkthrough prints a logout URL"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        "http://localhost:3000/?state=bye"
    );
}
