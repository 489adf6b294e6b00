//! Typed calls into the desktop core. Every command's reply and error are `consult-types`, so
//! a failed command arrives as the same [`AppError`] the core raised.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use consult_types::{
    commands, AdmitAllArgs, AppError, CallControl, CallSupport, ClaimKioskArgs, DecideArgs,
    Decision, DeviceStatus, FirstPaintArgs, JoinCallArgs, KioskCommandArgs, KioskUnlockArgs,
    LoginArgs, MaintenanceAction, SessionView, SettingsChange, SettingsView, StartupState,
    UpdateAction, WaitingRoomAction,
};

#[wasm_bindgen]
extern "C" {
    // Tauri injects this bridge into the app's own top-level page only.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

pub async fn startup() -> Result<StartupState, AppError> {
    invoke(commands::STARTUP, &()).await
}

/// The first screen has been painted at `at_unix_ms` (the page's `Date.now()`).
pub async fn first_paint(at_unix_ms: f64) -> Result<(), AppError> {
    invoke(
        commands::FIRST_PAINT,
        &Args {
            args: FirstPaintArgs { at_unix_ms },
        },
    )
    .await
}

pub async fn login(email: String, password: String) -> Result<SessionView, AppError> {
    invoke(
        commands::LOGIN,
        &Args {
            args: LoginArgs { email, password },
        },
    )
    .await
}

pub async fn logout() -> Result<(), AppError> {
    invoke(commands::LOGOUT, &()).await
}

/// Asks for the dashboard; it arrives as a `dashboard-changed` event.
pub async fn dashboard() -> Result<(), AppError> {
    invoke(commands::DASHBOARD, &()).await
}

pub async fn decide_join_request(
    join_request_id: String,
    decision: Decision,
) -> Result<(), AppError> {
    invoke(
        commands::DECIDE_JOIN_REQUEST,
        &Args {
            args: DecideArgs {
                join_request_id,
                decision,
            },
        },
    )
    .await
}

pub async fn admit_all(appointment_id: Option<String>) -> Result<(), AppError> {
    invoke(
        commands::ADMIT_ALL,
        &Args {
            args: AdmitAllArgs { appointment_id },
        },
    )
    .await
}

pub async fn waiting_room(action: WaitingRoomAction) -> Result<(), AppError> {
    invoke(commands::WAITING_ROOM, &Args { args: action }).await
}

/// Kiosk mode: asks for the kiosk's status again (it arrives as a `kiosk-changed` event).
pub async fn kiosk() -> Result<(), AppError> {
    invoke(commands::KIOSK, &()).await
}

/// A PIN typed on the kiosk's PIN pad; a right one opens the maintenance screen (an event).
pub async fn kiosk_unlock(pin: String) -> Result<(), AppError> {
    invoke(
        commands::KIOSK_UNLOCK,
        &Args {
            args: KioskUnlockArgs { pin },
        },
    )
    .await
}

pub async fn kiosk_maintenance(action: MaintenanceAction) -> Result<(), AppError> {
    invoke(commands::KIOSK_MAINTENANCE, &Args { args: action }).await
}

/// The room message was tapped away.
pub async fn kiosk_dismiss_message() -> Result<(), AppError> {
    invoke(commands::KIOSK_DISMISS_MESSAGE, &()).await
}

/// The page is alive; the answer is when to say so again (`None`: nobody watches).
pub async fn ui_pulse() -> Result<Option<u64>, AppError> {
    invoke(commands::UI_PULSE, &()).await
}

pub async fn user_active() -> Result<(), AppError> {
    invoke(commands::USER_ACTIVE, &()).await
}

pub async fn settings() -> Result<SettingsView, AppError> {
    invoke(commands::SETTINGS, &()).await
}

pub async fn save_settings(change: SettingsChange) -> Result<SettingsView, AppError> {
    invoke(commands::SAVE_SETTINGS, &Args { args: change }).await
}

/// The diagnostics report for IT support ("Copy diagnostics").
pub async fn diagnostics() -> Result<String, AppError> {
    invoke(commands::DIAGNOSTICS, &()).await
}

/// The update banner's buttons, and asking for it again (it arrives as an `update-changed` event).
pub async fn update(action: UpdateAction) -> Result<(), AppError> {
    invoke(commands::UPDATE, &Args { args: action }).await
}

/// How this machine would carry a call, asked once after sign-in so Join can say so.
pub async fn call_support() -> Result<CallSupport, AppError> {
    invoke(commands::CALL_SUPPORT, &()).await
}

pub async fn join_call(session_id: String, appointment_id: Option<String>) -> Result<(), AppError> {
    invoke(
        commands::JOIN_CALL,
        &Args {
            args: JoinCallArgs {
                session_id,
                appointment_id,
            },
        },
    )
    .await
}

/// The new state arrives as a `call-changed` event once Jitsi confirms the control.
pub async fn call_control(control: CallControl) -> Result<(), AppError> {
    invoke(commands::CALL_CONTROL, &Args { args: control }).await
}

/// Asks for the call's state (after a reload the UI goes back to a running call); it arrives as
/// a `call-changed` event.
pub async fn call_screen() -> Result<(), AppError> {
    invoke(commands::CALL_SCREEN, &()).await
}

pub async fn retry_call() -> Result<(), AppError> {
    invoke(commands::RETRY_CALL, &()).await
}

pub async fn leave_call() -> Result<(), AppError> {
    invoke(commands::LEAVE_CALL, &()).await
}

/// Administrators: claims the code a kiosk shows; the fleet follows in the dashboard.
pub async fn claim_kiosk(args: ClaimKioskArgs) -> Result<DeviceStatus, AppError> {
    invoke(commands::CLAIM_KIOSK, &Args { args }).await
}

/// Administrators: one command to one kiosk.
/// The command's id, which the kiosk acknowledges in a heartbeat.
pub async fn send_kiosk_command(args: KioskCommandArgs) -> Result<String, AppError> {
    invoke(commands::SEND_KIOSK_COMMAND, &Args { args }).await
}

/// Every command takes its argument under the key `args`.
#[derive(Serialize)]
struct Args<T> {
    args: T,
}

pub(crate) async fn invoke<A: Serialize, R: DeserializeOwned>(
    command: &str,
    args: &A,
) -> Result<R, AppError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args
        .serialize(&serializer)
        .map_err(|error| AppError::Internal {
            detail: format!("cannot encode the arguments of {command}: {error}"),
        })?;
    match tauri_invoke(command, args).await {
        Ok(reply) => serde_wasm_bindgen::from_value(reply).map_err(|error| AppError::Internal {
            detail: format!("cannot read the reply of {command}: {error}"),
        }),
        Err(rejection) => Err(
            serde_wasm_bindgen::from_value(rejection.clone()).unwrap_or_else(
                // Not an AppError: Tauri itself refused (e.g. a permission), with a plain message.
                |_| AppError::Internal {
                    detail: rejection
                        .as_string()
                        .unwrap_or_else(|| format!("{command} failed")),
                },
            ),
        ),
    }
}
