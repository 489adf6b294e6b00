//! IPC commands: one line each into the core's [`Desktop`]. Arguments and replies are
//! `consult-types`, so the UI shares them; a failure is an `AppError` the UI deserializes as is.
//! A command's argument is always named `args` (JSON `{"args": …}`). Commands that change the
//! dashboard or the call answer nothing: the new state follows as an event.

use std::sync::Arc;

use tauri::{AppHandle, Manager, Runtime, State};

use consult_core::desktop::Desktop;
use consult_core::watchdog::{self, Watchdog};
use consult_types::{
    AdmitAllArgs, AppError, CallControl, CallSupport, ClaimKioskArgs, DecideArgs, DeviceStatus,
    FirstPaintArgs, JoinCallArgs, KioskCommandArgs, KioskUnlockArgs, LoginArgs, MaintenanceAction,
    SessionView, SettingsChange, SettingsView, StartupState, UpdateAction, WaitingRoomAction,
};

type Reply<T = ()> = Result<T, AppError>;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn startup(desktop: State<'_, Desktop>) -> Reply<StartupState> {
    desktop.startup().await
}

/// The UI painted its first screen (start-up timing; in-app updates may check from now on).
#[tauri::command]
pub fn first_paint(desktop: State<'_, Desktop>, args: FirstPaintArgs) {
    desktop.first_paint(args);
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn login(desktop: State<'_, Desktop>, args: LoginArgs) -> Reply<SessionView> {
    desktop.login(args).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn logout(desktop: State<'_, Desktop>) -> Reply {
    desktop.logout().await
}

/// Sends the dashboard again as an event (the page just started listening).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn dashboard(desktop: State<'_, Desktop>) -> Reply {
    desktop.republish_dashboard().await
}

#[tauri::command]
#[tracing::instrument(skip_all, fields(decision = ?args.decision))]
pub async fn decide_join_request(desktop: State<'_, Desktop>, args: DecideArgs) -> Reply {
    desktop.decide(args).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn admit_all(desktop: State<'_, Desktop>, args: AdmitAllArgs) -> Reply {
    desktop.admit_all(args).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn waiting_room(desktop: State<'_, Desktop>, args: WaitingRoomAction) -> Reply {
    desktop.waiting_room(args).await
}

/// Kiosk mode: sends the kiosk's status again as an event (the page just started listening).
#[tauri::command]
pub fn kiosk(desktop: State<'_, Desktop>) {
    desktop.republish_kiosk();
}

/// Kiosk mode: a PIN typed on the administrator's PIN pad (never logged).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn kiosk_unlock(desktop: State<'_, Desktop>, args: KioskUnlockArgs) -> Reply {
    desktop.kiosk_unlock(args.pin).await
}

#[tauri::command]
#[tracing::instrument(skip_all, fields(action = ?args))]
pub async fn kiosk_maintenance(desktop: State<'_, Desktop>, args: MaintenanceAction) -> Reply {
    desktop.kiosk_maintenance(args).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn kiosk_dismiss_message(desktop: State<'_, Desktop>) {
    desktop.dismiss_room_message();
}

/// The page is alive; while a service manager's watchdog watches the app, when to say so again.
#[tauri::command]
pub fn ui_pulse<R: Runtime>(app: AppHandle<R>) -> Option<u64> {
    let watchdog = app.try_state::<Arc<Watchdog>>()?;
    watchdog.pulse();
    u64::try_from(watchdog::UI_PULSE.as_millis()).ok()
}

/// The user pressed a key or moved the pointer (the UI throttles this to one call per 10 s).
#[tauri::command]
pub fn user_active(desktop: State<'_, Desktop>) {
    desktop.touch();
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn settings(desktop: State<'_, Desktop>) -> Reply<SettingsView> {
    desktop.settings()
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn save_settings(
    desktop: State<'_, Desktop>,
    args: SettingsChange,
) -> Reply<SettingsView> {
    desktop.save_settings(args).await
}

#[tauri::command]
pub fn call_support(desktop: State<'_, Desktop>) -> Reply<CallSupport> {
    desktop.call_support()
}

/// "Copy diagnostics" in the settings dialog.
#[tauri::command]
pub fn diagnostics(desktop: State<'_, Desktop>) -> String {
    desktop.diagnostics()
}

/// The update banner: shown again, "Later", or "Restart to update".
#[tauri::command]
#[tracing::instrument(skip_all, fields(action = ?args))]
pub async fn update(desktop: State<'_, Desktop>, args: UpdateAction) -> Reply {
    desktop.update(args).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn join_call(desktop: State<'_, Desktop>, args: JoinCallArgs) -> Reply {
    desktop.join_call(args).await
}

#[tauri::command]
#[tracing::instrument(skip_all, fields(control = ?args))]
pub async fn call_control(desktop: State<'_, Desktop>, args: CallControl) -> Reply {
    desktop.call_control(args).await
}

/// Sends the call's state again as an event (the page just started listening).
#[tauri::command]
pub async fn call_screen(desktop: State<'_, Desktop>) -> Reply {
    desktop.republish_call().await;
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn retry_call(desktop: State<'_, Desktop>) -> Reply {
    desktop.retry_call().await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn leave_call(desktop: State<'_, Desktop>) -> Reply {
    desktop.leave_call().await;
    Ok(())
}

/// Administrators' Kiosks screen: claims the code a kiosk shows (the code is not logged).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn claim_kiosk(desktop: State<'_, Desktop>, args: ClaimKioskArgs) -> Reply<DeviceStatus> {
    desktop.claim_kiosk(args).await
}

/// Administrators' Kiosks screen: one command to one kiosk.
#[tauri::command]
#[tracing::instrument(skip_all, fields(device_id = %args.device_id, command = args.command.as_str()))]
pub async fn send_kiosk_command(
    desktop: State<'_, Desktop>,
    args: KioskCommandArgs,
) -> Reply<String> {
    desktop.send_kiosk_command(args).await
}
