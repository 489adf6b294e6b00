//! The app as the `.deb` installs it: `/usr/bin/consult`, started under Xvfb, signs a doctor in,
//! and a `consult://` link opened the way a desktop opens links (GIO finds the handler by the
//! desktop entry's `MimeType` and runs its `Exec` line) reaches the running app with the URL.
//!
//! Run by `scripts/check-package` after `apt-get install` of the package, together with the
//! sign-in tests of `login.rs`, with `CONSULT_E2E_APP=/usr/bin/consult` (the nextest profile
//! `installed`); the default profile leaves this file out and reports it skipped.

use std::path::Path;
use std::process::{Command, Stdio};

use consult_e2e::clinic::{id_of, ClinicApi};
use consult_e2e::{paths, App, AppLaunch, ClinicServer, IsolatedSession};

const INSTALLED: &str = "/usr/bin/consult";

#[tokio::test(flavor = "multi_thread")]
async fn the_installed_app_signs_in_and_a_link_opened_by_the_desktop_reaches_it() {
    assert_eq!(
        paths::app_binary(),
        Path::new(INSTALLED),
        "run with CONSULT_E2E_APP={INSTALLED} after installing the package (scripts/check-package)"
    );
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("installed");
    let api = ClinicApi::new(server.url());
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "installed".to_owned(),
        env: Vec::new(),
    })
    .await;
    app.sign_in_demo_doctor().await;
    app.screenshot("installed-schedule").await;

    // A link clicked in a mail or a browser: GIO picks the handler of x-scheme-handler/consult
    // from the installed desktop entry and runs its Exec line with the URL in place of %u.
    let doctor = api.doctor().await;
    let appointments = api.appointments_earliest_first(&doctor).await;
    let target = appointments.last().expect("demo appointments");
    let session_id = target["sessionId"].as_str().expect("sessionId");
    let detail = format!(
        "#appointment-detail[data-appointment-id=\"{}\"]",
        id_of(target)
    );
    assert!(!app.is_present(&detail).await);
    let opened = Command::new("gio")
        .args(["open", &format!("consult://join/{session_id}")])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(session.env())
        .env("CONSULT_SERVER_URL", server.url())
        .stdin(Stdio::null())
        .output()
        .expect("gio runs");
    assert!(
        opened.status.success(),
        "gio open failed: {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    app.wait_for(&detail).await;
    // The first instance's session: signed in, nothing asked again.
    assert!(app.is_present("#signed-in-name").await);
    app.screenshot("installed-link-opened").await;

    app.click("#sign-out").await;
    app.wait_for("#email").await;
    app.quit().await;
}
