//! The in-app update banner, rendered through Yew's server-side renderer.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::UpdateBanner;
use consult_ui::pages::update::{UpdateBannerView, UpdateBannerViewProps};
use yew::{Callback, LocalServerRenderer};

async fn render(banner: UpdateBanner, error: Option<&str>) -> String {
    LocalServerRenderer::<UpdateBannerView>::with_props(UpdateBannerViewProps {
        banner,
        error: error.map(Into::into),
        on_restart: Callback::noop(),
        on_later: Callback::noop(),
    })
    .render()
    .await
}

#[tokio::test]
async fn a_ready_update_asks_restart_or_later_without_covering_the_window() {
    let html = render(
        UpdateBanner::Ready {
            version: "0.2.0".into(),
        },
        None,
    )
    .await;
    assert!(html.contains("Consult 0.2.0 is ready."), "{html}");
    assert!(html.contains(r#"id="update-restart""#), "{html}");
    assert!(html.contains("Restart to update"), "{html}");
    assert!(html.contains(r#"id="update-later""#), "{html}");
    // Non-modal: a status strip, not a dialog.
    assert!(html.contains(r#"role="status""#), "{html}");
    assert!(!html.contains("dialog"), "{html}");
}

#[tokio::test]
async fn hidden_draws_nothing() {
    let html = render(UpdateBanner::Hidden, None).await;
    assert!(!html.contains("update-banner"), "{html}");
}

#[tokio::test]
async fn a_failed_install_says_what_happened_and_offers_to_try_again() {
    let html = render(
        UpdateBanner::InstallFailed {
            version: "0.2.0".into(),
            message:
                "Consult 0.2.0 could not be installed: dpkg failed. Consult keeps running as it is."
                    .into(),
        },
        Some("Consult cannot restart during a call."),
    )
    .await;
    assert!(html.contains("dpkg failed"), "{html}");
    assert!(html.contains(r#"role="alert""#), "{html}");
    assert!(html.contains("Try again"), "{html}");
    assert!(html.contains("cannot restart during a call"), "{html}");
}

#[tokio::test]
async fn installing_offers_no_button() {
    let html = render(
        UpdateBanner::Installing {
            version: "0.2.0".into(),
        },
        None,
    )
    .await;
    assert!(html.contains("Installing Consult 0.2.0"), "{html}");
    assert!(!html.contains("<button"), "{html}");
}
