//! A headless Chromium driven through chromedriver with the W3C WebDriver protocol: the handful
//! of commands the browser tests need (open a page, run a script, click, take a screenshot),
//! as JSON over [`crate::http`]. Debian's `chromium` and `chromium-driver` packages
//! (`scripts/test` installs them); a test that starts a [`Browser`] without them fails, naming
//! the install command.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::http as client;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// A browser session; chromedriver is killed when this is dropped.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session. Panics, naming the
    /// install command, when either is missing: the browser test never passes silently.
    pub async fn start() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "the dashboard's browser test needs Chromium at {CHROMIUM}: {INSTALL} (scripts/test does)"
        );
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the dashboard's browser test needs chromedriver ({e}): {INSTALL} (scripts/test does)")
            });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // From here on, dropping `browser` (a panic included) ends chromedriver.
        let mut browser = Browser { driver, addr, session: String::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok()
                && client::get(addr, "/status").await.json()["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        // Root in a container: no sandbox; a small /dev/shm: no shared memory.
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--window-size=1400,900",
                        ],
                    },
                },
            },
        });
        let created = browser.command("POST", "/session", Some(capabilities)).await;
        browser.session = created["sessionId"].as_str().expect("a session id").to_owned();
        browser
    }

    /// One WebDriver command; its `value`. Panics on an error answer.
    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let headers: &[(&str, &str)] =
            if body.is_some() { &[("Content-Type", "application/json")] } else { &[] };
        let response =
            client::request(self.addr, method, path, headers, body.as_deref().map(str::as_bytes)).await;
        let json = response.json();
        assert_eq!(response.status, 200, "WebDriver {method} {path}: {json}");
        json["value"].clone()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens a page and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.command("POST", &self.session_path("/url"), Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.command(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` until it returns something other than `null` or `false`, for at most
    /// `within`; that value.
    pub async fn wait_for(&self, what: &str, within: Duration, script: &str) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.eval(script).await;
            if !value.is_null() && value != false {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {within:?} for {what}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the element `css` selects, as a user would (the browser's own input events).
    pub async fn click(&self, css: &str) {
        let found = self
            .command(
                "POST",
                &self.session_path("/element"),
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        let element = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.command("POST", &self.session_path(&format!("/element/{element}/click")), Some(json!({}))).await;
    }

    /// Saves a screenshot of the window as `target/dashboard-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.command("GET", &self.session_path("/screenshot"), None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("valid base64");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write the screenshot");
        path
    }

    /// Ends the session (and chromedriver, on drop).
    pub async fn quit(mut self) {
        let path = self.session_path("");
        self.command("DELETE", &path, None).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed mid-way never called `quit`: end its session (which closes
        // Chromium, which would outlive a killed chromedriver) with a blocking request.
        if !self.session.is_empty() {
            if let Ok(mut stream) = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = format!(
                    "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.session, self.addr
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let _ = stream.read(&mut [0u8; 1024]);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/dashboard-screenshots`, in the build's target folder.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("dashboard-screenshots")
}
