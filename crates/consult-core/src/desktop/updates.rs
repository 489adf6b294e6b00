//! The in-app updates' driver: carries out [`crate::updates`]'s decisions through the
//! [`Updater`] port. One task checks when a check is due, downloads and verifies what is offered,
//! and tells the UI the banner whenever it changes; the first paint, calls starting and ending,
//! and the banner's buttons wake it.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use consult_types::{AppError, UpdateAction, UpdateBanner};
use url::Url;

use super::{lock, Desktop, Inner};
use crate::config::UpdatesConfig;
use crate::ports::{UpdateError, Updater};
use crate::updates::{self, Checked, OnOffer, Updates};

/// How long one update request may take: the download of a package is a few megabytes.
pub const UPDATE_TIMEOUT: Duration = Duration::from_secs(300);

/// What the shell's updater needs: where to look, whose signatures to accept besides the
/// built-in key, and which certificate authorities to trust besides the built-in and system
/// roots (`server_ca_file`, as for the clinic server).
#[derive(Debug, Clone)]
pub struct UpdateSource {
    pub endpoint: Url,
    /// `[updates] public_key` of the machine-wide file, replacing the built-in one.
    pub public_key: Option<String>,
    /// The DER certificates of `server_ca_file`, already read and checked.
    pub ca_certificates: Vec<Vec<u8>>,
    /// How long one request may take.
    pub timeout: Duration,
}

/// The updates' part of the desktop.
pub(super) struct UpdatesLink {
    started: Instant,
    state: Mutex<Option<Updates>>,
    /// Why updates are off, once known (for the diagnostics).
    off: Mutex<Option<String>>,
    updater: OnceLock<Arc<dyn Updater>>,
    /// Wakes the driver: first paint, a call change, a button.
    pub(super) wake: Arc<Notify>,
    /// The banner last sent, so only changes are sent.
    shown: Mutex<UpdateBanner>,
    painted: Mutex<Option<Duration>>,
}

impl Default for UpdatesLink {
    fn default() -> UpdatesLink {
        UpdatesLink {
            started: Instant::now(),
            state: Mutex::new(None),
            off: Mutex::new(None),
            updater: OnceLock::new(),
            wake: Arc::new(Notify::new()),
            shown: Mutex::new(UpdateBanner::Hidden),
            painted: Mutex::new(None),
        }
    }
}

impl UpdatesLink {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The source for `config` (the CA file read now: an unusable one is an error, never fewer
/// roots).
fn source(
    config: &UpdatesConfig,
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<UpdateSource, String> {
    let endpoint = config
        .endpoint
        .clone()
        .ok_or_else(|| updates::Off::NoEndpoint.to_string())?;
    let ca_certificates = match ca_file {
        Some(path) => crate::tls::read_ders(path)
            .map_err(|error| {
                format!(
                    "server_ca_file {} cannot be used for updates: {error}",
                    path.display()
                )
            })?
            .into_iter()
            .map(|der| der.as_ref().to_vec())
            .collect(),
        None => Vec::new(),
    };
    Ok(UpdateSource {
        endpoint,
        public_key: config.public_key.clone(),
        ca_certificates,
        timeout,
    })
}

impl Desktop {
    /// Starts in-app updates when the configuration allows them: `built_in_key` is the public
    /// key the app was built with (empty: none), `make` builds the shell's updater for the
    /// source. Off, it logs why once (and the diagnostics say it).
    pub fn start_updates(
        &self,
        built_in_key: &str,
        make: impl FnOnce(UpdateSource) -> Result<Arc<dyn Updater>, UpdateError>,
    ) {
        let link = &self.0.updates;
        let off = |why: String| {
            tracing::info!(why = %why, "in-app updates are off");
            *lock(&link.off) = Some(why);
        };
        let setup = match self.setup() {
            Ok(setup) => setup,
            Err(error) => return off(format!("the configuration is not usable: {error}")),
        };
        let (config, ca_file) = setup.updates();
        let mut plan = match updates::plan(config, built_in_key, setup.kiosk().is_some()) {
            Ok(plan) => plan,
            Err(why) => return off(why.to_string()),
        };
        if let Some(delay) = self.0.options.update_first_delay {
            plan.first_delay = delay;
        }
        let timeout = UPDATE_TIMEOUT;
        let updater = match source(config, ca_file, timeout)
            .and_then(|source| make(source).map_err(|error| error.to_string()))
        {
            Ok(updater) => updater,
            Err(why) => return off(why),
        };
        if link.updater.set(updater).is_err() {
            return;
        }
        let mut state = Updates::new(plan);
        {
            // The state's lock first, then the paint's, as in `first_paint`: no paint is missed.
            let mut slot = lock(&link.state);
            if let Some(painted) = *lock(&link.painted) {
                state.painted(painted);
            }
            *slot = Some(state);
        }
        tracing::info!(
            interval_hours = config.check_interval_hours,
            "in-app updates are on"
        );
        tokio::spawn(drive(Arc::downgrade(&self.0)));
    }

    /// The UI painted its first screen: start-up timing, and updates may check from now on.
    pub fn first_paint(&self, args: consult_types::FirstPaintArgs) {
        crate::startup::first_paint(args);
        let link = &self.0.updates;
        let now = link.now();
        {
            let mut state = lock(&link.state);
            lock(&link.painted).get_or_insert(now);
            if let Some(state) = state.as_mut() {
                state.painted(now);
            }
        }
        link.wake.notify_one();
    }

    /// The banner's buttons, and a page that asks for the banner again.
    pub async fn update(&self, action: UpdateAction) -> Result<(), AppError> {
        self.touch();
        let link = &self.0.updates;
        match action {
            UpdateAction::Show => {
                let banner = lock(&link.shown).clone();
                self.0.ports.ui.update_changed(&banner);
                Ok(())
            }
            UpdateAction::Later => {
                if let Some(state) = lock(&link.state).as_mut() {
                    state.later();
                    tracing::info!("update: later (until the next check)");
                }
                self.publish_update_banner();
                Ok(())
            }
            UpdateAction::Restart => self.install_update().await,
        }
    }

    /// "Restart to update": installs the verified update (never during a call), then restarts.
    async fn install_update(&self) -> Result<(), AppError> {
        let link = &self.0.updates;
        let Some(updater) = link.updater.get().cloned() else {
            return Err(AppError::Update {
                detail: "In-app updates are off.".into(),
            });
        };
        self.note_call().await;
        let version = {
            let mut guard = lock(&link.state);
            let state = guard.as_mut().ok_or_else(|| AppError::Update {
                detail: "In-app updates are off.".into(),
            })?;
            let version = state
                .may_restart()
                .map_err(|refusal| AppError::Update {
                    detail: refusal.to_string(),
                })?
                .to_owned();
            state.install_started();
            version
        };
        self.publish_update_banner();
        tracing::info!(%version, "update: installing");
        let installer = Arc::clone(&updater);
        let installed = tokio::task::spawn_blocking(move || installer.install())
            .await
            .unwrap_or_else(|error| Err(UpdateError::Other(error.to_string())));
        match installed {
            Ok(()) => {
                tracing::info!(%version, "update: installed, restarting");
                updater.restart();
            }
            Err(error) => {
                tracing::warn!(%version, %error, "update: the install failed; the app keeps running");
                if let Some(state) = lock(&link.state).as_mut() {
                    state.install_failed(error.to_string());
                }
                self.publish_update_banner();
            }
        }
        Ok(())
    }

    /// The diagnostics' lines about updates.
    pub(super) fn update_lines(&self) -> Vec<String> {
        let link = &self.0.updates;
        if let Some(off) = lock(&link.off).as_ref() {
            return vec![format!("in-app updates: off ({off})")];
        }
        match lock(&link.state).as_ref() {
            Some(state) => vec![
                "in-app updates: on".to_owned(),
                format!("last update check: {}", state.last_check()),
            ],
            None => vec!["in-app updates: not started".to_owned()],
        }
    }

    /// Tells the state whether a call runs now.
    async fn note_call(&self) {
        let running = self.0.calls.screen().await.is_some();
        if let Some(state) = lock(&self.0.updates.state).as_mut() {
            state.call_running(running);
        }
    }

    /// Sends the banner if it changed.
    fn publish_update_banner(&self) {
        let link = &self.0.updates;
        let Some(banner) = lock(&link.state).as_ref().map(Updates::banner) else {
            return;
        };
        let changed = {
            let mut shown = lock(&link.shown);
            let changed = *shown != banner;
            *shown = banner.clone();
            changed
        };
        if changed {
            self.0.ports.ui.update_changed(&banner);
        }
    }

    /// One check: ask, download and verify (or, on a kiosk, only log), record the outcome.
    async fn run_check(&self, updater: &Arc<dyn Updater>) {
        let link = &self.0.updates;
        let on_offer = {
            let mut guard = lock(&link.state);
            let Some(state) = guard.as_mut() else { return };
            state.check_started(link.now());
            state.on_offer()
        };
        tracing::info!("update check begins");
        let outcome = match updater.check().await {
            Ok(None) => Checked::UpToDate,
            Ok(Some(version)) => match on_offer {
                OnOffer::LogOnly => {
                    tracing::info!(%version, "update: a newer version is available; kiosks update through their package manager, so nothing is asked");
                    Checked::OfferedToKiosk { version }
                }
                OnOffer::Download => match updater.download().await {
                    Ok(version) => Checked::Ready { version },
                    Err(error) => Checked::Failed {
                        error: error.to_string(),
                    },
                },
            },
            Err(error) => Checked::Failed {
                error: error.to_string(),
            },
        };
        match &outcome {
            Checked::UpToDate => tracing::info!("update check: up to date"),
            Checked::Ready { version } => {
                tracing::info!(%version, "update check: downloaded and verified, ready to install")
            }
            Checked::OfferedToKiosk { .. } => {}
            Checked::Failed { error } => tracing::warn!(%error, "update check failed"),
        }
        if let Some(state) = lock(&link.state).as_mut() {
            state.checked(outcome);
        }
    }
}

/// The driver: waits for the next due check or a wake-up, keeps the call flag and the banner
/// current. Ends with the desktop.
async fn drive(desktop: Weak<Inner>) {
    loop {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        let desktop_now = Desktop(inner);
        let link = &desktop_now.0.updates;
        let Some(updater) = link.updater.get().cloned() else {
            return;
        };
        let wake = Arc::clone(&link.wake);
        desktop_now.note_call().await;
        desktop_now.publish_update_banner();
        let due = lock(&link.state)
            .as_ref()
            .and_then(|state| state.next_check(link.now()));
        match due {
            Some(wait) if wait.is_zero() => {
                desktop_now.run_check(&updater).await;
                continue;
            }
            Some(wait) => {
                drop(desktop_now);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = wake.notified() => {}
                }
            }
            None => {
                drop(desktop_now);
                wake.notified().await;
            }
        }
    }
}
