//! Headless Chromium for the browser tests, through chromedriver and fantoccini: finding them
//! (a missing browser skips the test, except in CI), the driver process, a session with the
//! flags every test uses, screenshots, and waiting for elements and URLs.
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const WAIT: Duration = Duration::from_secs(10);

/// chromedriver and Chromium, or why the test cannot run.
pub fn find_browser() -> Result<(PathBuf, PathBuf), String> {
    let driver = Some(PathBuf::from("/usr/bin/chromedriver"))
        .filter(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("chromedriver"))
                    .find(|p| p.is_file())
            })
        })
        .ok_or("chromedriver is neither at /usr/bin/chromedriver nor on PATH")?;
    let chromium = PathBuf::from(CHROMIUM);
    if !chromium.is_file() {
        return Err(format!("Chromium is not at {CHROMIUM}"));
    }
    Ok((driver, chromium))
}

/// A port nobody listens on (right now).
pub fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// chromedriver, killed (with the browsers it started, its process group) when dropped, even
/// when the test panics.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start(path: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + WAIT;
        while StdStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = driver.child.try_wait().unwrap() {
                panic!("chromedriver exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium left behind by a failed test.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn capabilities(chromium: &Path, profile: &Path) -> serde_json::Map<String, Value> {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.to_str().unwrap(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    caps.as_object().unwrap().clone()
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Waits (at most `WAIT`) for an element matching the CSS `selector`.
pub async fn wait_for(browser: &Client, selector: &str) -> fantoccini::elements::Element {
    match browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let url = browser.current_url().await.map(String::from);
            let html = browser.source().await.unwrap_or_default();
            panic!("no {selector} within {WAIT:?} ({e}); at {url:?}:\n{html}");
        }
    }
}

/// Waits (at most `WAIT`) until the browser's URL starts with `prefix`; returns the URL.
pub async fn wait_for_url(browser: &Client, prefix: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.unwrap().to_string();
        if url.starts_with(prefix) {
            return url;
        }
        assert!(
            Instant::now() < deadline,
            "still at {url} after {WAIT:?}, expected {prefix}…"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Chromium session with its chromedriver and profile directory, torn down in that order.
pub struct Session {
    pub client: Client,
    _driver: Driver,
    _profile: TempDir,
}

/// Starts chromedriver and a Chromium session; `None` (with the reason on stderr) when either
/// is missing, except in CI (`CI` set), where that fails the test.
pub async fn start() -> Option<Session> {
    let (driver_path, chromium) = match find_browser() {
        Ok(found) => found,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the browser test: {why}"
            );
            eprintln!("browser test skipped: {why}");
            return None;
        }
    };
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&driver_path);
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities(&chromium, profile.path()))
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    Some(Session {
        client,
        _driver: driver,
        _profile: profile,
    })
}

impl Session {
    /// Ends the WebDriver session; the driver and the profile go on drop.
    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

/// Fills and submits our login form (`username`, `password`), which must be on the page.
pub async fn submit_login(browser: &Client, email: &str, password: &str) {
    let form = wait_for(browser, "#login-form").await;
    for (name, value) in [("username", email), ("password", password)] {
        form.find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}
