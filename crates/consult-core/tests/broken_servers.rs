//! The clinic client against servers that misbehave over real HTTP: each failure becomes the
//! specific error the user is shown, and none of them panics or hangs.

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use consult_core::clinic::ClinicClient;
use consult_types::AppError;
use url::Url;

/// Serves `router` on a free loopback port and returns its base URL.
async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Url::parse(&format!("http://{address}/")).unwrap()
}

/// Signs in against `base` and returns the error it must fail with.
async fn login_error(base: Url, timeout: Duration) -> AppError {
    ClinicClient::new(base, timeout)
        .unwrap()
        .login("a@b.c", "pw")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_internal_server_error_is_reported_with_its_status() {
    let base = serve(Router::new().route(
        "/auth/login",
        post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "Traceback: boom") }),
    ))
    .await;
    let error = login_error(base, Duration::from_secs(5)).await;
    assert_eq!(error, AppError::ServerFailed { status: 500 });
}

#[tokio::test]
async fn a_server_answering_garbage_is_not_mistaken_for_a_clinic_server() {
    let base = serve(Router::new().route(
        "/auth/login",
        post(|| async { "<html><body>Welcome to nginx!</body></html>" }),
    ))
    .await;
    let error = login_error(base, Duration::from_secs(5)).await;
    assert!(
        matches!(error, AppError::UnexpectedResponse { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("server URL"), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_a_clear_error() {
    let base = serve(Router::new().route(
        "/auth/login",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }),
    ))
    .await;
    let started = std::time::Instant::now();
    let error = login_error(base.clone(), Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        error,
        AppError::ServerTimeout {
            server: base.origin().ascii_serialization(),
            seconds: 1
        }
    );
}

#[tokio::test]
async fn a_closed_port_is_an_unreachable_server() {
    // Bind and drop to find a port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let error = login_error(base, Duration::from_secs(5)).await;
    assert_eq!(
        error,
        AppError::ServerUnreachable {
            server: format!("http://127.0.0.1:{port}")
        }
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_credentials_stay_with_the_server() {
    let base = serve(Router::new().route(
        "/auth/login",
        post(|| async {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", "http://127.0.0.1:9/steal")],
            )
        }),
    ))
    .await;
    let error = login_error(base, Duration::from_secs(5)).await;
    assert!(
        matches!(error, AppError::UnexpectedResponse { .. }),
        "{error:?}"
    );
}
