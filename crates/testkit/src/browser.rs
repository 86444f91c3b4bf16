//! A headless Chromium driven through chromedriver with the W3C WebDriver protocol, by
//! fantoccini: the handful of commands the browser tests need (open a page, run a script, click,
//! take a screenshot). Debian's `chromium` and `chromium-driver` packages (`scripts/test`
//! installs them); a test that starts a [`Browser`] without them fails, naming the install
//! command.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::time::Instant;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// A browser session; chromedriver (and with it Chromium) is killed when this is dropped.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    client: Option<Client>,
    /// chromedriver's address and the session's id, to end the session from `drop`.
    addr: SocketAddr,
    session: String,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session. Panics, naming the
    /// install command, when either is missing: the browser tests never pass silently.
    pub async fn start() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "the browser tests need Chromium at {CHROMIUM}: {INSTALL} (scripts/test does)"
        );
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the browser tests need chromedriver ({e}): {INSTALL} (scripts/test does)")
            });
        // From here on, dropping `browser` (a panic included) ends chromedriver.
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut browser = Browser { driver, client: None, addr, session: String::new() };
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                // Root in a container: no sandbox; a small /dev/shm: no shared memory.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"],
            }),
        );
        let url = format!("http://{addr}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // chromedriver takes a moment to listen: until it does, connecting fails.
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    browser.session = client.session_id().await.ok().flatten().unwrap_or_default();
                    browser.client = Some(client);
                    return browser;
                }
                Err(e) => assert!(Instant::now() < deadline, "no WebDriver session within 30 s: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session until quit")
    }

    /// Opens a page and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.client().execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("run {script}: {e}"))
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
        let element =
            self.client().find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Saves a screenshot of the window as `target/dashboard-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let bytes = self.client().screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write the screenshot");
        path
    }

    /// Ends the session (and chromedriver, on drop).
    pub async fn quit(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.unwrap_or_else(|e| panic!("end the WebDriver session: {e}"));
        }
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
