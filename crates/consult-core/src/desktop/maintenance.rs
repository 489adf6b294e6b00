//! Kiosk mode's administrator exit and maintenance screen: the PIN typed on the kiosk is
//! checked by the server, or by the kiosk's [`ExitGate`] while the server is away; a right one
//! opens the maintenance screen (exit, reload, the self-test of `self_test.rs`) for at most
//! [`MAINTENANCE_TIMEOUT`]. The screen is an overlay on the kiosk's status: the sign-in loop
//! and the visits go on behind it.

use std::sync::Arc;
use std::time::Instant;

use consult_types::{AppError, KioskStatus, MaintenanceAction, SelfTestCheck};

use super::{lock, Desktop};
use crate::kiosk_exit::{self, ExitGate, MAINTENANCE_TIMEOUT};
use crate::session::SessionManager;

/// What the kiosk shows: its own status, or the maintenance screen over it.
#[derive(Debug)]
pub(super) struct KioskShown {
    /// What the sign-in loop and the visits last said.
    pub(super) status: KioskStatus,
    pub(super) maintenance: Option<Maintenance>,
}

impl Default for KioskShown {
    fn default() -> Self {
        KioskShown {
            status: KioskStatus::SigningIn,
            maintenance: None,
        }
    }
}

#[derive(Debug)]
pub(super) struct Maintenance {
    /// Tells this opening from a later one, so an old timeout does not close a new screen.
    opening: u64,
    checked_offline: bool,
    self_test: Option<Vec<SelfTestCheck>>,
}

impl KioskShown {
    pub(super) fn shown(&self) -> KioskStatus {
        match &self.maintenance {
            Some(open) => KioskStatus::Maintenance {
                checked_offline: open.checked_offline,
                self_test: open.self_test.clone(),
            },
            None => self.status.clone(),
        }
    }
}

/// The exit gate and a counter of maintenance openings.
#[derive(Debug, Default)]
pub(super) struct ExitState {
    gate: ExitGate,
    openings: u64,
}

impl Desktop {
    /// Fetches the exit PIN's hash after a kiosk's sign-in, for checking a PIN offline later.
    /// A server without a PIN, or one that cannot answer now, leaves the last one known.
    pub(super) async fn learn_exit_pin(&self, session: Arc<SessionManager>) {
        let client = session.client().clone();
        let fetched = session
            .authorized(|token| {
                let client = client.clone();
                async move { client.exit_pin_policy(&token).await }
            })
            .await;
        match fetched {
            Ok(policy) => lock(&self.0.exit).gate.learn(policy),
            Err(error) => {
                tracing::warn!(%error, "kiosk: the exit PIN could not be fetched for offline use");
            }
        }
    }

    /// A PIN typed on the kiosk's PIN pad. A right one opens the maintenance screen (as a
    /// `kiosk-changed` event); a wrong one says how many tries are left, or that the exit is
    /// locked. The server checks it when it can; otherwise the hash fetched at sign-in does.
    pub async fn kiosk_unlock(&self, pin: String) -> Result<(), AppError> {
        if self.setup()?.kiosk().is_none() {
            return Err(not_a_kiosk());
        }
        // Offline: not signed in (the server was away at sign-in), or the server is away now.
        let checked_offline = match self.session().await {
            Ok(session) => {
                let client = session.client().clone();
                let pin = pin.clone();
                let checked = session
                    .authorized(|token| {
                        let (client, pin) = (client.clone(), pin.clone());
                        async move { client.check_exit_pin(&token, &pin).await }
                    })
                    .await;
                match checked {
                    Ok(verdict) if verdict.granted => false,
                    Ok(verdict) => {
                        return Err(AppError::WrongPin {
                            tries_left: verdict.tries_left,
                        })
                    }
                    // An untrusted certificate is a server out of reach too: the
                    // administrator must be able to exit to fix the trust settings.
                    Err(
                        AppError::ServerUnreachable { .. }
                        | AppError::ServerUntrusted { .. }
                        | AppError::ServerTimeout { .. }
                        | AppError::ServerFailed { .. },
                    ) => true,
                    Err(other) => return Err(other),
                }
            }
            Err(_) => true,
        };
        if checked_offline {
            self.check_offline(pin).await?;
            tracing::info!("kiosk: exit PIN checked offline, against the server's hash");
        }
        self.open_maintenance(checked_offline);
        Ok(())
    }

    async fn check_offline(&self, pin: String) -> Result<(), AppError> {
        let hash = lock(&self.0.exit).gate.hash(Instant::now())?;
        // Argon2 is slow on purpose: off the runtime's threads.
        let right = tokio::task::spawn_blocking(move || kiosk_exit::matches(&pin, &hash))
            .await
            .map_err(|error| AppError::Internal {
                detail: format!("checking the PIN failed: {error}"),
            })?;
        lock(&self.0.exit).gate.record(right, Instant::now())
    }

    fn open_maintenance(&self, checked_offline: bool) {
        let opening = {
            let mut exit = lock(&self.0.exit);
            exit.openings += 1;
            exit.openings
        };
        // The last self-test (run at sign-in and on schedule) is there at once.
        let self_test = self.last_self_test_checks();
        self.change_kiosk(|shown| {
            shown.maintenance = Some(Maintenance {
                opening,
                checked_offline,
                self_test,
            });
        });
        tracing::info!("kiosk: maintenance screen opened");
        let desktop = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            tokio::time::sleep(MAINTENANCE_TIMEOUT).await;
            if let Some(inner) = desktop.upgrade() {
                Desktop(inner).change_kiosk(|shown| {
                    if shown
                        .maintenance
                        .as_ref()
                        .is_some_and(|open| open.opening == opening)
                    {
                        tracing::info!("kiosk: maintenance screen closed after its time");
                        shown.maintenance = None;
                    }
                });
            }
        });
    }

    /// What staff chose on the maintenance screen; refused unless it is open.
    pub async fn kiosk_maintenance(&self, action: MaintenanceAction) -> Result<(), AppError> {
        if lock(&self.0.kiosk).maintenance.is_none() {
            return Err(AppError::Config {
                detail: "The maintenance screen is not open: type the exit PIN first.".into(),
            });
        }
        match action {
            MaintenanceAction::Exit => {
                tracing::info!("kiosk: the administrator's exit");
                self.0.ports.ui.leave_kiosk();
            }
            MaintenanceAction::Reload => {
                self.change_kiosk(|shown| shown.maintenance = None);
                self.0.ports.ui.reload();
            }
            MaintenanceAction::Close => self.change_kiosk(|shown| shown.maintenance = None),
            MaintenanceAction::SelfTest => self.run_self_test().await,
        }
        Ok(())
    }

    /// Shows a self-test's lines on the maintenance screen, if it is open.
    pub(super) fn show_self_test(&self, checks: Vec<SelfTestCheck>) {
        if lock(&self.0.kiosk).maintenance.is_none() {
            return;
        }
        self.change_kiosk(|shown| {
            if let Some(open) = shown.maintenance.as_mut() {
                open.self_test = Some(checks);
            }
        });
    }

    /// Changes what the kiosk shows and sends it, stamped under the lock so changes reach the
    /// UI in their order.
    pub(super) fn change_kiosk(&self, change: impl FnOnce(&mut KioskShown)) {
        let mut shown = lock(&self.0.kiosk);
        change(&mut shown);
        self.0
            .ports
            .ui
            .kiosk_changed(&self.0.revisions.stamp(shown.shown()));
    }
}

fn not_a_kiosk() -> AppError {
    AppError::Config {
        detail: "This app does not run as a kiosk.".into(),
    }
}
