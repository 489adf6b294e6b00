//! IPC commands: one line each into the core (through [`Live`] for the running desk).
//! Arguments and replies are `consult-types`, so the UI shares them; a failure is an `AppError`
//! the UI deserializes as is. A command's argument is always named `args` (JSON `{"args": …}`).
//! Every command counts as user activity for the idle sign-out.

use tauri::State;

use consult_core::call::CallHub;
use consult_core::session::Restored;
use consult_types::{
    AdmitAllArgs, AppError, CallControl, CallScreen, CallSupport, Dashboard, DecideArgs,
    JoinCallArgs, LoginArgs, SessionView, SettingsChange, SettingsView, StartupState,
};

use crate::core::Core;
use crate::live::Live;

/// What the first screen needs: the server, and the session restored from the keychain if any.
/// A restored session starts the desk.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn startup(
    core: State<'_, Core>,
    live: State<'_, Live>,
) -> Result<StartupState, AppError> {
    live.touch();
    let ready = core.ready()?;
    let (session, settings) = (ready.session(), ready.settings());
    let (view, notice) = match session.restore().await {
        Restored::SignedIn(view) => (Some(view), None),
        Restored::NothingSaved => (None, None),
        Restored::KeychainUnavailable(error) => (
            None,
            Some(format!(
                "Your sign-in will not be remembered on this computer. {error}"
            )),
        ),
        Restored::Failed(error) => (
            None,
            Some(format!("Your saved sign-in could not be used. {error}")),
        ),
    };
    // A reload of the page finds the desk already running for this session.
    if view.is_some() && !live.is_running().await {
        live.start(session, &settings).await;
    }
    Ok(StartupState {
        server_url: settings.server_url,
        session: view,
        notice,
    })
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn login(
    core: State<'_, Core>,
    live: State<'_, Live>,
    args: LoginArgs,
) -> Result<SessionView, AppError> {
    live.touch();
    let ready = core.ready()?;
    let session = ready.session();
    let view = session.login(&args.email, &args.password).await?;
    live.start(session, &ready.settings()).await;
    Ok(view)
}

/// Signs out: the desk stops, the server is told, the keychain entry and memory are wiped.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn logout(
    core: State<'_, Core>,
    live: State<'_, Live>,
    calls: State<'_, CallHub>,
) -> Result<(), AppError> {
    calls.leave().await;
    live.stop().await;
    core.ready()?.session().logout().await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn dashboard(live: State<'_, Live>) -> Result<Dashboard, AppError> {
    live.touch();
    let dashboard = live.dashboard().await?;
    live.deliver_pending_focus();
    Ok(dashboard)
}

#[tauri::command]
#[tracing::instrument(skip_all, fields(decision = ?args.decision))]
pub async fn decide_join_request(
    live: State<'_, Live>,
    args: DecideArgs,
) -> Result<Dashboard, AppError> {
    live.touch();
    live.decide(&args.join_request_id, args.decision).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn admit_all(live: State<'_, Live>, args: AdmitAllArgs) -> Result<Dashboard, AppError> {
    live.touch();
    live.admit_all(args.appointment_id.as_deref()).await
}

/// The user pressed a key or moved the pointer (the UI throttles this to one call per 10 s).
#[tauri::command]
pub fn user_active(live: State<'_, Live>) {
    live.touch();
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn settings(core: State<'_, Core>, live: State<'_, Live>) -> Result<SettingsView, AppError> {
    live.touch();
    Ok(core.ready()?.settings())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn save_settings(
    core: State<'_, Core>,
    live: State<'_, Live>,
    args: SettingsChange,
) -> Result<SettingsView, AppError> {
    live.touch();
    let view = core.ready()?.save_settings(args, live.is_running().await)?;
    live.apply_settings(&view).await;
    Ok(view)
}

/// How a call would be carried on this machine; the UI shows it before Join.
#[tauri::command]
pub fn call_support(core: State<'_, Core>) -> Result<CallSupport, AppError> {
    Ok(core.ready()?.call_support())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn join_call(
    core: State<'_, Core>,
    live: State<'_, Live>,
    calls: State<'_, CallHub>,
    args: JoinCallArgs,
) -> Result<CallScreen, AppError> {
    live.touch();
    let ready = core.ready()?;
    let screen = calls
        .join(ready.session(), args, ready.call_options()?)
        .await?;
    live.stay_active_during_call(calls.inner().clone());
    Ok(screen)
}

/// One control of the running call; the new state follows as a `call-changed` event.
#[tauri::command]
#[tracing::instrument(skip_all, fields(control = ?args))]
pub async fn call_control(
    live: State<'_, Live>,
    calls: State<'_, CallHub>,
    args: CallControl,
) -> Result<(), AppError> {
    live.touch();
    calls.control(args).await
}

#[tauri::command]
pub async fn call_screen(calls: State<'_, CallHub>) -> Result<Option<CallScreen>, AppError> {
    Ok(calls.screen().await)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn retry_call(
    live: State<'_, Live>,
    calls: State<'_, CallHub>,
) -> Result<CallScreen, AppError> {
    live.touch();
    calls.retry().await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn leave_call(live: State<'_, Live>, calls: State<'_, CallHub>) -> Result<(), AppError> {
    live.touch();
    calls.leave().await;
    Ok(())
}
