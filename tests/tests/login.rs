//! A doctor signs in from the desktop app against the clinic server: the walking skeleton,
//! real all the way through (app binary, WebKitGTK, IPC, core, keychain, HTTP, server, SQLite).

use consult_e2e::{
    App, AppLaunch, ClinicServer, IsolatedSession, DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_NAME,
    DEMO_PASSWORD,
};

/// The refresh token the app saved for `server`, read as any Secret Service client would:
/// service is the app's bundle identifier, username the server's origin.
fn saved_refresh_token(session: &IsolatedSession, server: &ClinicServer) -> Option<String> {
    session.keychain_lookup(&[
        ("service", "app.consult.desktop"),
        ("username", server.url()),
    ])
}

async fn launch(session: &IsolatedSession, server_url: &str, label: &str) -> App {
    App::launch(AppLaunch {
        session,
        server_url: server_url.to_owned(),
        label: label.to_owned(),
        env: Vec::new(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_signs_in_is_remembered_in_the_keychain_and_signs_out() {
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("sign-in");
    let app = launch(&session, server.url(), "sign-in").await;

    // The app shows the configured URL in its normalized form (with the root path's slash).
    app.wait_for_text("#server-url", |text| {
        text.trim_end_matches('/') == server.url().trim_end_matches('/')
    })
    .await;
    app.sign_in(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    let name = app.signed_in_name().await;
    assert_eq!(name, DEMO_DOCTOR_NAME);
    assert!(
        !app.is_present("#not-remembered").await,
        "the keychain is available, so the sign-in must be remembered"
    );
    app.screenshot("signed-in").await;

    // The refresh token is in the OS keychain, keyed by the server's origin...
    let refresh_token = saved_refresh_token(&session, &server)
        .expect("the refresh token should be in the keychain");
    assert!(refresh_token.len() >= 32, "implausible refresh token");
    // ...and nowhere on disk in the clear, nor in any log.
    assert_eq!(
        session.files_containing(&refresh_token),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(
        !app.logs().contains(&refresh_token),
        "refresh token in the app's log"
    );
    assert!(
        !server.log().contains(&refresh_token),
        "refresh token in the server's log"
    );
    assert!(
        !app.logs().contains(DEMO_PASSWORD),
        "password in the app's log"
    );
    app.quit().await;

    // A new start signs in silently with the keychain's refresh token, which rotates.
    let app = launch(&session, server.url(), "sign-in-restart").await;
    let name = app.signed_in_name().await;
    assert_eq!(name, DEMO_DOCTOR_NAME);
    let rotated = saved_refresh_token(&session, &server)
        .expect("the rotated refresh token should be in the keychain");
    assert_ne!(rotated, refresh_token, "refresh tokens rotate on use");

    // Signing out forgets the keychain entry and returns to the login screen.
    app.click("#sign-out").await;
    app.wait_for("#email").await;
    assert_eq!(saved_refresh_token(&session, &server), None);
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_explained_and_the_form_stays_usable() {
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("wrong-password");
    let app = launch(&session, server.url(), "wrong-password").await;

    app.sign_in(DEMO_DOCTOR_EMAIL, "not-the-password").await;
    let error = app
        .wait_for_text("#login-error", |text| !text.is_empty())
        .await;
    assert!(
        error.contains("email or password is not correct"),
        "{error}"
    );
    assert!(!app.is_present("#signed-in-name").await);
    // What was typed is kept, and the corrected password signs in.
    assert_eq!(app.value_of("#email").await, DEMO_DOCTOR_EMAIL);
    app.screenshot("wrong-password").await;

    app.fill("#password", DEMO_PASSWORD).await;
    app.click("#sign-in").await;
    let name = app.signed_in_name().await;
    assert_eq!(name, DEMO_DOCTOR_NAME);
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_named_and_the_form_stays_usable() {
    let session = IsolatedSession::start();
    // A free port with nothing listening on it.
    let port = consult_e2e::process::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let app = launch(&session, &url, "unreachable").await;

    app.sign_in(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    let error = app
        .wait_for_text("#login-error", |text| !text.is_empty())
        .await;
    assert!(error.contains("Cannot reach the clinic server"), "{error}");
    assert!(
        error.contains(&url),
        "the message should name the server: {error}"
    );
    assert_eq!(app.value_of("#email").await, DEMO_DOCTOR_EMAIL);
    let button = app.wait_for("#sign-in").await;
    assert!(
        button.is_enabled().await.unwrap_or(false),
        "the form must stay usable"
    );
    app.screenshot("unreachable").await;
    app.quit().await;
}

/// A stand-in for a broken or wrong server: raw HTTP over TCP, answering each request with the
/// next canned response in turn.
async fn serve_canned(responses: Vec<&'static str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for response in responses.into_iter().cycle() {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut request = vec![0u8; 16 * 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_or_foreign_server_is_explained_and_the_form_stays_usable() {
    let session = IsolatedSession::start();
    let url = serve_canned(vec![
        "HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\ncontent-length: 4\r\n\r\noops",
        "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/html\r\ncontent-length: 29\r\n\r\n<html>Welcome to nginx</html>",
    ])
    .await;
    let app = launch(&session, &url, "broken-server").await;

    app.sign_in(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    let error = app
        .wait_for_text("#login-error", |text| text.contains("HTTP 500"))
        .await;
    assert!(error.contains("internal problem"), "{error}");

    // Trying again reaches the next answer: a page that is not the clinic API.
    app.click("#sign-in").await;
    let error = app
        .wait_for_text("#login-error", |text| text.contains("does not understand"))
        .await;
    assert!(error.contains("server URL"), "{error}");
    assert_eq!(app.value_of("#email").await, DEMO_DOCTOR_EMAIL);
    assert!(!app.is_present("#signed-in-name").await);
    app.screenshot("foreign-server").await;
    app.quit().await;
}
