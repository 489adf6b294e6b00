//! The signed-in session. The access token lives only in this struct's memory; the refresh
//! token lives in the [`SecretStore`] (the OS keychain) so the next start can sign in silently.
//! All changes go through one async mutex, so at most one refresh is ever in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use consult_types::{AppError, AuthResponse, SessionView, User};

use crate::clinic::ClinicClient;
use crate::secrets::SecretStore;

/// Refresh this long before the access token expires, so no request races its expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

pub struct SessionManager {
    client: ClinicClient,
    store: Arc<dyn SecretStore>,
    active: Mutex<Option<Active>>,
}

struct Active {
    user: User,
    access_token: String,
    access_expires_at: Instant,
    /// Kept in memory too, so a session whose keychain write failed still refreshes.
    refresh_token: String,
    /// `None` when the refresh token is in the keychain, else why it is not.
    remember_problem: Option<String>,
}

impl Active {
    fn view(&self) -> SessionView {
        SessionView {
            display_name: self.user.display_name(),
            user: self.user.clone(),
            remembered: self.remember_problem.is_none(),
            remember_problem: self.remember_problem.clone(),
        }
    }
}

/// What restoring a saved sign-in at start-up came to.
#[derive(Debug)]
pub enum Restored {
    /// Signed in again without asking for the password.
    SignedIn(SessionView),
    /// Nothing saved: show the login screen.
    NothingSaved,
    /// The keychain cannot be read, so nothing can be restored (or remembered) on this computer.
    KeychainUnavailable(AppError),
    /// A saved sign-in could not be used; the reason is worth showing on the login screen.
    Failed(AppError),
}

impl SessionManager {
    pub fn new(client: ClinicClient, store: Arc<dyn SecretStore>) -> SessionManager {
        SessionManager {
            client,
            store,
            active: Mutex::new(None),
        }
    }

    pub fn client(&self) -> &ClinicClient {
        &self.client
    }

    /// Signs in with the refresh token saved by an earlier run, if there is one. A token the
    /// server refuses is deleted; one that could not be tried (server down) is kept for later.
    pub async fn restore(&self) -> Restored {
        let mut active = self.active.lock().await;
        if let Some(session) = active.as_ref() {
            return Restored::SignedIn(session.view());
        }
        let saved = match self.blocking_store(|store| store.load()).await {
            Ok(Some(token)) => token,
            Ok(None) => return Restored::NothingSaved,
            Err(error) => return Restored::KeychainUnavailable(error),
        };
        match self.client.refresh(&saved).await {
            Ok(auth) => {
                let session = self.start(auth).await;
                let view = session.view();
                *active = Some(session);
                tracing::info!("restored the saved sign-in");
                Restored::SignedIn(view)
            }
            Err(AppError::SessionExpired) => {
                tracing::info!("the saved sign-in was refused by the server; forgetting it");
                if let Err(error) = self.blocking_store(|store| store.delete()).await {
                    tracing::warn!(%error, "could not delete the refused refresh token");
                }
                Restored::Failed(AppError::SessionExpired)
            }
            Err(error) => Restored::Failed(error),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<SessionView, AppError> {
        let mut active = self.active.lock().await;
        let auth = self.client.login(email.trim(), password).await?;
        let session = self.start(auth).await;
        let view = session.view();
        *active = Some(session);
        tracing::info!("signed in");
        Ok(view)
    }

    /// Signs in as a kiosk device. Nothing is remembered: the next start signs in with the
    /// device secret again.
    pub async fn device_login(
        &self,
        device_id: &str,
        secret: &crate::kiosk::DeviceSecret,
    ) -> Result<SessionView, AppError> {
        let mut active = self.active.lock().await;
        let auth = self.client.device_login(device_id, secret.expose()).await?;
        let session = self.start(auth).await;
        let view = session.view();
        *active = Some(session);
        tracing::info!("signed in as a kiosk device");
        Ok(view)
    }

    /// Signs out: the server revokes the session, the keychain entry and the memory are wiped.
    /// Local wiping happens even when the server cannot be reached; then the error is
    /// [`AppError::SignOutNotConfirmed`], since the session may live on there.
    pub async fn logout(&self) -> Result<(), AppError> {
        let session = self.active.lock().await.take();
        let told = match session {
            Some(session) => self.revoke(&session).await.map_err(|error| {
                tracing::warn!(%error, "the server could not be told about the sign-out");
                AppError::SignOutNotConfirmed {
                    cause: error.to_string(),
                }
            }),
            None => Ok(()),
        };
        self.blocking_store(|store| store.delete()).await?;
        tracing::info!(server_told = told.is_ok(), "signed out");
        told
    }

    /// Ends `session` on the server. An expired access token (401) is no reason to leave the
    /// refresh family alive for its 30 days: refresh once, without saving the new pair, and sign
    /// out with the fresh token. A refused refresh means the server already ended the session.
    async fn revoke(&self, session: &Active) -> Result<(), AppError> {
        match self.client.logout(&session.access_token).await {
            Err(AppError::SessionExpired) => {}
            other => return other,
        }
        match self.client.refresh(&session.refresh_token).await {
            Ok(auth) => self.client.logout(&auth.tokens.access_token).await,
            Err(AppError::SessionExpired) => {
                tracing::info!("the refresh token was refused: the server had ended the session");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    pub async fn current(&self) -> Option<SessionView> {
        self.active.lock().await.as_ref().map(Active::view)
    }

    /// A valid access token, refreshed first when it is about to expire. When the refresh is
    /// refused the session ends and the caller gets [`AppError::SessionExpired`].
    pub async fn access_token(&self) -> Result<String, AppError> {
        let mut active = self.active.lock().await;
        let session = active.as_ref().ok_or(AppError::NotSignedIn)?;
        if session.access_expires_at > Instant::now() + REFRESH_MARGIN {
            return Ok(session.access_token.clone());
        }
        let refresh_token = session.refresh_token.clone();
        self.refresh_locked(&mut active, &refresh_token).await
    }

    /// A token to use after the server refused `rejected` (401): refreshes now, unless another
    /// caller already did (the current token differs). A refused refresh ends the session.
    pub async fn refreshed_token(&self, rejected: &str) -> Result<String, AppError> {
        let mut active = self.active.lock().await;
        let session = active.as_ref().ok_or(AppError::NotSignedIn)?;
        if session.access_token != rejected {
            return Ok(session.access_token.clone());
        }
        let refresh_token = session.refresh_token.clone();
        self.refresh_locked(&mut active, &refresh_token).await
    }

    /// Runs an authenticated call; on a 401 it refreshes once and tries again, so a revoked or
    /// expired access token costs one retry, and a refused refresh ends the session
    /// ([`AppError::SessionExpired`]).
    pub async fn authorized<T, F, Fut>(&self, call: F) -> Result<T, AppError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        let token = self.access_token().await?;
        match call(token.clone()).await {
            Err(AppError::SessionExpired) => {
                let fresh = self.refreshed_token(&token).await?;
                call(fresh).await
            }
            other => other,
        }
    }

    /// Fetches the signed-in user from the server (also proves the access token works).
    pub async fn me(&self) -> Result<User, AppError> {
        let token = self.access_token().await?;
        self.client.me(&token).await
    }

    /// Refreshes the session whose lock the caller holds and returns the new access token. A
    /// refused refresh ends the session and forgets its keychain entry.
    async fn refresh_locked(
        &self,
        active: &mut Option<Active>,
        refresh_token: &str,
    ) -> Result<String, AppError> {
        match self.client.refresh(refresh_token).await {
            Ok(auth) => {
                let refreshed = self.start(auth).await;
                let token = refreshed.access_token.clone();
                *active = Some(refreshed);
                Ok(token)
            }
            Err(AppError::SessionExpired) => {
                *active = None;
                if let Err(error) = self.blocking_store(|store| store.delete()).await {
                    tracing::warn!(%error, "could not delete the refused refresh token");
                }
                Err(AppError::SessionExpired)
            }
            Err(error) => Err(error),
        }
    }

    /// Turns a fresh token pair into a session, saving the refresh token in the keychain.
    async fn start(&self, auth: AuthResponse) -> Active {
        let refresh_token = auth.tokens.refresh_token;
        let to_save = refresh_token.clone();
        let remember_problem = match self.blocking_store(move |store| store.save(&to_save)).await {
            Ok(()) => None,
            Err(error) => {
                tracing::warn!(%error, "the sign-in cannot be remembered");
                Some(error.to_string())
            }
        };
        Active {
            user: auth.user,
            access_token: auth.tokens.access_token,
            access_expires_at: Instant::now() + Duration::from_secs(auth.tokens.expires_in),
            refresh_token,
            remember_problem,
        }
    }

    async fn blocking_store<T, F>(&self, operation: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn SecretStore) -> Result<T, AppError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || operation(store.as_ref()))
            .await
            .map_err(|error| AppError::Internal {
                detail: format!("keychain task failed: {error}"),
            })?
    }
}
