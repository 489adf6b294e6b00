//! IPC commands: one line each into the core. Arguments and replies are `consult-types`, so
//! the UI shares them; a failure is an `AppError` the UI deserializes as is.

use tauri::State;

use consult_core::session::Restored;
use consult_types::{AppError, LoginArgs, SessionView, StartupState};

use crate::core::Core;

/// What the first screen needs: the server, and the session restored from the keychain if any.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn startup(core: State<'_, Core>) -> Result<StartupState, AppError> {
    let (config, session) = core.ready()?;
    let (session, notice) = match session.restore().await {
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
    Ok(StartupState {
        server_url: config.server_origin(),
        session,
        notice,
    })
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn login(core: State<'_, Core>, args: LoginArgs) -> Result<SessionView, AppError> {
    core.ready()?.1.login(&args.email, &args.password).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn logout(core: State<'_, Core>) -> Result<(), AppError> {
    core.ready()?.1.logout().await
}
