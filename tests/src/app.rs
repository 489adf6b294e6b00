//! The built desktop app, launched by `tauri-driver` (which drives WebKitWebDriver) inside an
//! [`IsolatedSession`], and a WebDriver client to act as the user.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::paths;
use crate::process::{free_port, log_file, ChildGuard};
use crate::session::IsolatedSession;

/// How long the UI may take to show something the test waits for.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start the app with.
pub struct AppLaunch<'a> {
    pub session: &'a IsolatedSession,
    /// The clinic server URL, given as `CONSULT_SERVER_URL` like an administrator would.
    pub server_url: String,
    /// Names the log file under `tests/artifacts/`.
    pub label: String,
    /// More environment for the app, e.g. `CONSULT_IDLE_LOGOFF_SECS` or
    /// `CONSULT_PUSH_STALL_SECS`; set after the defaults, so it may override them.
    pub env: Vec<(String, String)>,
}

pub struct App {
    client: Client,
    display: OsString,
    driver: ChildGuard,
    log: PathBuf,
    /// Where [`App::launch_recording_exit`]'s wrapper writes the app's exit status.
    exit_status: Option<(tempfile::TempDir, PathBuf)>,
}

impl App {
    pub async fn launch(launch: AppLaunch<'_>) -> App {
        App::start(launch, None).await
    }

    /// Like [`App::launch`], through a wrapper script that records the app's exit status
    /// (WebDriver starts the app, so its status is otherwise lost): see [`App::exit_code`].
    pub async fn launch_recording_exit(launch: AppLaunch<'_>) -> App {
        let dir = tempfile::tempdir().expect("a temp dir");
        let status = dir.path().join("exit-status");
        let wrapper = dir.path().join("consult-wrapper");
        let script = format!(
            "#!/bin/sh\n\"{}\" \"$@\"\ncode=$?\necho \"$code\" > \"{}.part\" && mv \"{}.part\" \"{}\"\nexit \"$code\"\n",
            paths::app_binary().display(),
            status.display(),
            status.display(),
            status.display()
        );
        std::fs::write(&wrapper, script).expect("the wrapper script");
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("mode 700");
        App::start(launch, Some((dir, wrapper, status))).await
    }

    /// The app's exit status once it has exited by itself (waits up to [`UI_TIMEOUT`]); only
    /// for an app started with [`App::launch_recording_exit`].
    pub async fn exit_code(&self) -> i32 {
        let (_, status) = self
            .exit_status
            .as_ref()
            .expect("launched with launch_recording_exit");
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(status) {
                return text.trim().parse().expect("a number");
            }
            assert!(
                Instant::now() < deadline,
                "the app did not exit within {UI_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn start(
        launch: AppLaunch<'_>,
        wrapped: Option<(tempfile::TempDir, PathBuf, PathBuf)>,
    ) -> App {
        let port = free_port();
        let native_port = free_port();
        let log = paths::artifacts_dir().join(format!("{}-app.log", launch.label));
        let mut env: Vec<(OsString, OsString)> = launch.session.env();
        let display = launch.session.display().into();
        env.push(("CONSULT_SERVER_URL".into(), launch.server_url.into()));
        env.push(("CONSULT_LOG".into(), "info".into()));
        env.extend(
            launch
                .env
                .into_iter()
                .map(|(key, value)| (key.into(), value.into())),
        );
        let mut driver = ChildGuard::spawn(
            "tauri-driver",
            Command::new("tauri-driver")
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native_port.to_string(),
                ])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .envs(env)
                .stdout(log_file(&log))
                .stderr(log_file(&log.with_extension("stderr.log"))),
        );
        let application = wrapped
            .as_ref()
            .map_or_else(paths::app_binary, |(_, wrapper, _)| wrapper.clone());
        let client = connect(&mut driver, port, &application).await;
        App {
            client,
            display,
            driver,
            log,
            exit_status: wrapped.map(|(dir, _, status)| (dir, status)),
        }
    }

    /// The process id of `tauri-driver`; the app and its WebKit processes descend from it.
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until an element matching `css` exists and is displayed.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if element.is_displayed().await.unwrap_or(false) {
                    return element;
                }
            }
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!("{css} did not appear within {UI_TIMEOUT:?}; page was:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element's text satisfies `check`, and returns that text.
    pub async fn wait_for_text(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if check(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never had the expected text; last seen: {last:?}");
    }

    pub async fn is_present(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|found| found.len())
            .unwrap_or(0)
    }

    /// Every element matching `css` now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + UI_TIMEOUT;
        while self.is_present(css).await {
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!("{css} was still there after {UI_TIMEOUT:?}; page was:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until exactly `count` elements match `css`, and returns them.
    pub async fn wait_for_count(&self, css: &str, count: usize) -> Vec<Element> {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let found = self.find_all(css).await;
            if found.len() == count {
                return found;
            }
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!(
                    "{} elements matched {css} after {UI_TIMEOUT:?}, expected {count}; page was:\n{source}",
                    found.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The attribute `name` of the first element matching `css`, if both exist.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.attr(name).await.ok().flatten()
    }

    /// Waits until the attribute `name` of the element matching `css` satisfies `check`, and
    /// returns its value.
    pub async fn wait_for_attr(
        &self,
        css: &str,
        name: &str,
        timeout: Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.attr(css, name).await;
            if let Some(value) = &last {
                if check(value) {
                    return value.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{css}[{name}] never had the expected value within {timeout:?}; last seen: {last:?}"
        );
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|error| panic!("cannot clear {css}: {error}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|error| panic!("cannot type into {css}: {error}"));
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    pub async fn value_of(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .prop("value")
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Signs in through the login form as a user would.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#sign-in").await;
    }

    /// Waits until the header says who is signed in, and returns that name.
    pub async fn signed_in_name(&self) -> String {
        self.wait_for_text("#signed-in-name", |text| !text.is_empty())
            .await
    }

    /// Signs the demo doctor in from the login screen and waits for the schedule; the header
    /// must name the demo doctor.
    pub async fn sign_in_demo_doctor(&self) {
        self.sign_in(crate::DEMO_DOCTOR_EMAIL, crate::DEMO_PASSWORD)
            .await;
        assert_eq!(self.signed_in_name().await, crate::DEMO_DOCTOR_NAME);
        self.wait_for("#schedule").await;
    }

    /// Saves a screenshot of the whole virtual display under `tests/artifacts/` and returns its
    /// path. Taken at the X level (ImageMagick's `import`), so it shows what a person would see;
    /// WebKitWebDriver's own screenshot command hangs under Xvfb.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = paths::artifacts_dir().join(format!("{name}.png"));
        let status = tokio::process::Command::new("import")
            .args(["-window", "root"])
            .arg(&path)
            .env("DISPLAY", &self.display)
            .status()
            .await
            .unwrap_or_else(|error| panic!("cannot run import (ImageMagick): {error}"));
        assert!(
            status.success(),
            "import failed to capture {}",
            path.display()
        );
        println!("screenshot: {}", path.display());
        path
    }

    /// Everything the app and its driver wrote to their logs so far.
    pub fn logs(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(
            &std::fs::read_to_string(self.log.with_extension("stderr.log")).unwrap_or_default(),
        );
        text
    }

    /// Starts the app binary a second time in `session`, as a desktop launcher or a clicked
    /// `consult://` link would, with `args`; returns how it exited. A second instance is
    /// expected to hand its arguments to the running one and exit at once.
    pub fn launch_again(
        session: &IsolatedSession,
        server_url: &str,
        label: &str,
        args: &[&str],
    ) -> std::process::ExitStatus {
        let log = paths::artifacts_dir().join(format!("{label}-second-launch.log"));
        let mut second = ChildGuard::spawn(
            "second app instance",
            Command::new(paths::app_binary())
                .args(args)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .envs(session.env())
                .env("CONSULT_SERVER_URL", server_url)
                .env("CONSULT_LOG", "info")
                .stdout(log_file(&log))
                .stderr(log_file(&log)),
        );
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if let Some(status) = second.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the second instance was still running after {UI_TIMEOUT:?}: it did not hand over to the first"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ends the WebDriver session, which closes the app, and makes sure the app is gone: a
    /// leftover instance would hold the single-instance name and turn this session's next
    /// launch into a hand-over that never opens a window. One seen still running 10 s after the
    /// session closed (it happened once in a full run) is reported and killed.
    pub async fn quit(self) {
        let _ = self.client.close().await;
        let apps = || {
            crate::process::descendants(self.driver.id())
                .into_iter()
                .filter(|pid| crate::process::name_of(*pid) == "consult")
                .collect::<Vec<_>>()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !apps().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for pid in apps() {
            eprintln!(
                "the app (pid {pid}) was still running 10 s after its session closed: killed"
            );
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// tauri-driver can accept connections before WebKitWebDriver is ready, so session creation
/// is retried until it works or the deadline passes.
async fn connect(driver: &mut ChildGuard, port: u16, application: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": application }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        driver.assert_running();
        let attempt = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&url)
            .await;
        match attempt {
            Ok(client) => return client,
            Err(error) if Instant::now() > deadline => {
                panic!("no WebDriver session with the app: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
