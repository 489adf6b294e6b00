//! A kiosk's remote commands, carried out: for each signed-in life a task takes the commands
//! its desk hears on the kiosk's event stream and does what [`device_commands::plan`] says. A
//! command carried out is acknowledged in the next heartbeat, which it sends at once; one that
//! failed is not, and its error goes out as the heartbeat's `lastError`. Also what the heartbeat reports besides:
//! the last error, and where the kiosk's credential lives (a new secret is written there).

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use time::OffsetDateTime;
use tokio::sync::mpsc;

use consult_types::{AppError, DeviceCommand, RoomMessage};

use super::{lock, Desktop, Inner};
use crate::device_commands::{self, Action, MESSAGE_SHOWN_FOR};
use crate::kiosk::{Credential, CredentialStore};

/// What the kiosk's device side remembers across its lives.
#[derive(Debug, Default)]
pub(super) struct DeviceState {
    /// The signed-in device and where its credential lives (a rotated secret is written there).
    pub(super) signed_in: Option<(String, CredentialStore)>,
    /// Commands carried out since the last heartbeat that reached the server.
    pub(super) acknowledged: Vec<String>,
    /// Every command carried out while the app runs: a replayed event runs nothing twice.
    done: HashSet<String>,
    /// The last error the kiosk met, in words (never patient data), for the heartbeat.
    pub(super) last_error: Option<String>,
    /// The message on the room's screen, if any.
    message: Option<RoomMessage>,
    /// Visits (by session id) whose call the clinic told the kiosk to leave: not joined again.
    pub(super) left_by_clinic: HashSet<String>,
}

impl Desktop {
    /// Notes an error for the heartbeat's `lastError`.
    pub(super) fn kiosk_error(&self, error: &AppError) {
        lock(&self.0.device).last_error = Some(error.to_string());
    }

    /// Sends the room message again (a page that just started listening).
    pub(super) fn republish_room_message(&self) {
        self.change_message(|_| {});
    }

    /// Someone tapped the room message away.
    pub fn dismiss_room_message(&self) {
        self.change_message(|message| *message = None);
    }

    fn change_message(&self, change: impl FnOnce(&mut Option<RoomMessage>)) {
        let mut device = lock(&self.0.device);
        change(&mut device.message);
        self.0
            .ports
            .ui
            .kiosk_message(&self.0.revisions.stamp(device.message.clone()));
    }

    /// Carries out one command for life `generation`.
    async fn carry_out(&self, generation: u64, command: DeviceCommand) {
        let already_done = lock(&self.0.device).done.contains(&command.id);
        let action = device_commands::plan(&command, already_done, OffsetDateTime::now_utc());
        tracing::info!(command_id = %command.id, ?action, "kiosk: a command from the clinic");
        let outcome = match action {
            Action::Skip { why, acknowledge } => {
                tracing::info!(command_id = %command.id, why, "kiosk: command not run");
                if acknowledge {
                    Ok(())
                } else {
                    return;
                }
            }
            Action::Reload => {
                self.0.ports.ui.reload();
                Ok(())
            }
            Action::Restart => {
                // The restarted app will not know this command: acknowledged now, in a beat of
                // its own, before the app ends.
                self.note_done(&command.id);
                self.send_heartbeat_now(generation).await;
                self.0.ports.ui.restart_kiosk();
                return;
            }
            Action::SelfTest => {
                self.run_self_test().await;
                Ok(())
            }
            Action::LeaveCall => {
                if let Some(call) = self.0.calls.screen().await {
                    lock(&self.0.device)
                        .left_by_clinic
                        .insert(call.session_id.clone());
                }
                self.0.calls.leave().await;
                self.0.ports.call_window.forget_visit();
                Ok(())
            }
            Action::ShowMessage(message) => {
                self.show_room_message(message);
                Ok(())
            }
            Action::RotateSecret => self.rotate_secret(generation).await,
        };
        match outcome {
            Ok(()) => self.acknowledge(&command.id),
            Err(error) => {
                tracing::warn!(command_id = %command.id, %error, "kiosk: the command failed");
                self.kiosk_error(&error);
            }
        }
    }

    /// Notes `command_id` carried out and wakes the heartbeat to say so.
    fn acknowledge(&self, command_id: &str) {
        self.note_done(command_id);
        self.0.kiosk_beat.notify_one();
    }

    fn note_done(&self, command_id: &str) {
        let mut device = lock(&self.0.device);
        device.done.insert(command_id.to_owned());
        device.acknowledged.push(command_id.to_owned());
    }

    /// Shows `message` to the room until tapped away or [`MESSAGE_SHOWN_FOR`] passes.
    fn show_room_message(&self, message: RoomMessage) {
        let id = message.id.clone();
        self.change_message(|shown| *shown = Some(message));
        let desktop = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            tokio::time::sleep(MESSAGE_SHOWN_FOR).await;
            if let Some(inner) = desktop.upgrade() {
                Desktop(inner).change_message(|shown| {
                    if shown.as_ref().is_some_and(|shown| shown.id == id) {
                        *shown = None;
                    }
                });
            }
        });
    }

    /// Takes a new device secret: the server makes it, the kiosk writes it where its credential
    /// lives, then signs in with it, which makes it the one that works. If writing fails the
    /// kiosk keeps the old secret, which still works, and says why.
    async fn rotate_secret(&self, generation: u64) -> Result<(), AppError> {
        let (device_id, store) =
            lock(&self.0.device)
                .signed_in
                .clone()
                .ok_or_else(|| AppError::Internal {
                    detail: "a new secret before the kiosk signed in".into(),
                })?;
        let session = self
            .life_session(generation)
            .await
            .ok_or_else(|| AppError::Internal {
                detail: "the kiosk's session ended before its new secret".into(),
            })?;
        let client = session.client().clone();
        let rotated = session
            .authorized(|token| {
                let client = client.clone();
                async move { client.rotate_secret(&token).await }
            })
            .await?;
        let credential = Credential {
            device_id,
            secret: rotated.device_secret.into(),
        };
        let credential = store_credential(store, credential).await?;
        session
            .device_login(&credential.device_id, &credential.secret)
            .await?;
        tracing::info!("kiosk: signed in with its new secret; the old one no longer works");
        Ok(())
    }
}

/// Writes `credential` into `store` off the runtime's threads (a file or the keychain).
pub(super) async fn store_credential(
    store: CredentialStore,
    credential: Credential,
) -> Result<Credential, AppError> {
    tokio::task::spawn_blocking(move || store.save(&credential).map(|()| credential))
        .await
        .map_err(|error| AppError::Internal {
            detail: format!("storing the device credential failed: {error}"),
        })?
}

/// Kiosk mode's commands for life `generation`, one at a time as they come; ends with the life.
pub(super) async fn commands_run(
    desktop: Weak<Inner>,
    generation: u64,
    mut commands: mpsc::UnboundedReceiver<DeviceCommand>,
) {
    while let Some(command) = commands.recv().await {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        Desktop(inner).carry_out(generation, command).await;
    }
}
