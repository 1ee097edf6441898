//! SIGTERM under load: the server stops accepting, answers every request it has read (with
//! `Connection: close`, so keep-alive clients move on), and exits within its drain time. A
//! request on a kept-alive connection, or in flight at the signal, must get its answer; a new
//! connection after the listener closed is refused (or reset from the kernel's backlog), which a
//! client sees before the server read anything.
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::keys::portcullis;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_answers_every_request_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::browser::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let env = |c: &mut Command| {
        c.current_dir(dir.path())
            .env("PORTCULLIS_ISSUER", &issuer)
            .env("PORTCULLIS_DATABASE_URL", "sqlite://portcullis.db")
            .env("PORTCULLIS_WORKERS", "2")
            .env("PORTCULLIS_SHUTDOWN_TIMEOUT_SECS", "5");
    };
    let mut create = portcullis();
    create.args([
        "client",
        "create",
        "--name",
        "svc",
        "--grant",
        "client_credentials",
    ]);
    env(&mut create);
    let out = create.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_string(),
        client["client_secret"].as_str().unwrap().to_string(),
    );
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let mut serve = portcullis();
    serve.arg("serve").stdout(Stdio::null()).stderr(log);
    env(&mut serve);
    let mut child = serve.spawn().unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http
        .get(format!("{issuer}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 16 keep-alive clients, each sending requests back to back.
    let (answered, unanswered, closes) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (answered, unanswered, closes, stop) = (
            answered.clone(),
            unanswered.clone(),
            closes.clone(),
            stop.clone(),
        );
        let (url, id, secret) = (format!("{issuer}/token"), id.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            // Whether the next request goes on a new connection because the last answer said
            // `Connection: close`.
            let mut reconnecting = false;
            while !stop.load(Ordering::SeqCst) {
                let sent = http
                    .post(&url)
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match sent {
                    Ok(resp) => {
                        reconnecting = resp
                            .headers()
                            .get("connection")
                            .is_some_and(|v| v == "close");
                        if reconnecting {
                            closes.fetch_add(1, Ordering::SeqCst);
                        }
                        assert_eq!(resp.status(), 200);
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    // Refused: the server no longer accepts (it never read the request). A new
                    // connection the kernel completed but the server never accepted (its
                    // listener closed) is reset: not a request the server read either.
                    Err(e) if e.is_connect() || reconnecting => break,
                    Err(e) => {
                        eprintln!("unanswered: {e:?}");
                        unanswered.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = answered.load(Ordering::SeqCst);
    assert!(before > 20, "load is flowing ({before})");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let sent_term = Instant::now();
    let exited = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            sent_term.elapsed() < Duration::from_secs(10),
            "no exit within the drain time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(exited.success(), "exit {exited:?}: {log}");
    assert_eq!(
        unanswered.load(Ordering::SeqCst),
        0,
        "requests closed without a response; answered {}",
        answered.load(Ordering::SeqCst)
    );
    assert!(
        closes.load(Ordering::SeqCst) > 0,
        "draining answers say Connection: close"
    );
}
