//! A real browser for the web pages' tests: Debian's headless Chromium, driven over WebDriver
//! by its chromedriver (both from the `chromium` and `chromium-driver` packages, which
//! `make test` installs), each test with its own driver, profile and window.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::process::{Child, Command};

/// Where chromedriver is installed.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Chromium is installed.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium session, with its driver, until dropped.
pub struct Chromium {
    /// The WebDriver session.
    pub client: Client,
    _driver: Driver,
    _profile: tempdir::Profile,
}

/// chromedriver's process, ended with the session.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Chromium {
    /// A new browser with a window `width` by `height` pixels.
    pub async fn start(width: u32, height: u32) -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "the browser tests need Debian's chromium and chromium-driver: `make test` installs them \
             (apt-get install chromium chromium-driver)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Driver)
            .expect("chromedriver starts");
        let profile = tempdir::Profile::new();
        // Chromium's own background traffic is cut: this machine's network is closed.
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.0.display()),
            format!("--window-size={width},{height}"),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        _driver: driver,
                        _profile: profile,
                    };
                }
                Err(err) => last = Some(err.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver never took a session: {last:?}");
    }

    /// Ends the session and its browser.
    pub async fn close(self) {
        self.client.clone().close().await.expect("the session ends");
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// The page's HTML as the browser holds it now.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page's source")
    }

    /// The visible text of the page's body (a page between two loads has none yet).
    pub async fn text(&self) -> String {
        for _ in 0..40 {
            if let Ok(body) = self.client.find(Locator::Css("body")).await
                && let Ok(text) = body.text().await
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never had a body");
    }

    /// Clicks the element `css` names.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{css}: {err}"))
            .click()
            .await
            .unwrap_or_else(|err| panic!("clicking {css}: {err}"));
    }

    /// Types `text` into the field `css` names.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{css}: {err}"));
        field.clear().await.expect("cleared");
        field.send_keys(text).await.expect("typed");
    }

    /// A script's answer in the page (tried again while the page is between two loads).
    pub async fn script(&self, script: &str) -> Value {
        let mut last = None;
        for _ in 0..40 {
            match self.client.execute(script, Vec::new()).await {
                Ok(answer) => return answer,
                Err(err) => last = Some(err.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the script never ran: {last:?}");
    }

    /// Waits (up to `seconds`) until the page's text holds `wanted`, the page reloading itself
    /// as it does; the text then.
    pub async fn wait_for_text(&self, wanted: &str, seconds: u64) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let text = self.text().await;
            if text.contains(wanted) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{wanted:?} never appeared; the page says:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Saves a screenshot as `target/screenshots/<name>.png` (the tests' artifacts); its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshots' folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// The window's new size.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window resizes");
    }
}

mod tempdir {
    /// A fresh Chromium profile folder, removed when dropped.
    pub struct Profile(pub std::path::PathBuf);

    impl Profile {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("m365-chromium-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("a profile folder");
            Self(path)
        }
    }

    impl Drop for Profile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
