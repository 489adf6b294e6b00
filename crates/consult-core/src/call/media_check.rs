//! The kiosk self-test's media check: the self-test page of the loopback channel
//! ([`super::channel`], the same key and origin checks as the call page) opened in a headless
//! Chromium with a throw-away private profile ([`super::browser`]), the browser the kiosk's
//! calls use, so the real media stack is what is tested. The page measures; the core decides
//! ([`crate::self_test::judge`]).

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;
use url::Url;

use super::browser::{BrowserLaunch, BrowserWindow};
use super::channel::{CallChannel, ChannelEvent, PageMessage};
use crate::self_test::MediaReport;

/// Why no report came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmeasured {
    /// The check could not start (no browser, refused as root, no loopback).
    #[error("{0}")]
    NotRun(String),
    /// It started but gave no report: a hung device or a crashed browser.
    #[error("{0}")]
    Failed(String),
}

/// What runs the check.
#[derive(Debug, Clone, Copy)]
pub struct MediaCheck<'a> {
    pub program: &'a Path,
    /// The administrator's `browser_args` (a proxy, or the test's fake devices).
    pub extra_args: &'a [String],
    pub allow_root: bool,
    /// For the whole check, browser start included.
    pub timeout: Duration,
}

/// Measures the camera, microphone and speaker; the browser is ended when this returns (or is
/// dropped: a visit's call takes over).
pub async fn measure(check: MediaCheck<'_>) -> Result<MediaReport, Unmeasured> {
    let (events, mut received) = mpsc::unbounded_channel();
    let own = Url::parse("http://127.0.0.1")
        .map_err(|error| Unmeasured::NotRun(format!("loopback address: {error}")))?;
    let channel = CallChannel::start(&own, events)
        .await
        .map_err(|error| Unmeasured::NotRun(error.to_string()))?;
    let page_url = channel.self_test_url();
    let (window, exited) = BrowserWindow::open(&BrowserLaunch {
        program: check.program,
        page_url: &page_url,
        pinned_spki: None,
        extra_args: check.extra_args,
        allow_root: check.allow_root,
        locked: false,
        headless: true,
    })
    .map_err(|error| Unmeasured::NotRun(error.to_string()))?;
    let report = async {
        while let Some(event) = received.recv().await {
            match event {
                ChannelEvent::Message(PageMessage::SelfTest { report }) => return Ok(report),
                ChannelEvent::Disconnected => {
                    return Err(Unmeasured::Failed(
                        "The self-test page closed before it finished: run the self-test again; if it keeps failing, restart the kiosk".into(),
                    ))
                }
                ChannelEvent::Refused { reason } => {
                    tracing::warn!(reason, "self-test: refused a connection to its page");
                }
                _ => {}
            }
        }
        Err(Unmeasured::Failed(
            "The self-test page's channel stopped".into(),
        ))
    };
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(check.timeout, report) => outcome.unwrap_or_else(|_| {
            Err(Unmeasured::Failed(format!(
                "The camera and microphone gave no answer within {} s: a device may hang; unplug it and plug it in again, or restart the kiosk",
                check.timeout.as_secs()
            )))
        }),
        crashed = exited.wait() => Err(Unmeasured::Failed(if crashed {
            "The browser ended during the self-test: run it again; if it keeps failing, reinstall Chromium".into()
        } else {
            "The self-test was stopped".into()
        })),
    };
    drop(window);
    drop(channel);
    outcome
}
