//! The session manager against the real clinic server (in-process, SQLite in a temp dir).
//! The keychain is replaced by an in-memory store here: what is under test is what the session
//! does with the server and the store; the real keychain is covered end to end in `tests/`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use consult_core::clinic::ClinicClient;
use consult_core::secrets::SecretStore;
use consult_core::session::{Restored, SessionManager};
use consult_server::config::ServerConfig;
use consult_server::RunningServer;
use consult_types::AppError;
use tempfile::TempDir;
use url::Url;

const DOCTOR: &str = "doctor@demo.clinic";
const PASSWORD: &str = "consult-demo";

#[derive(Default)]
struct MemoryStore {
    secret: Mutex<Option<String>>,
    broken: bool,
}

impl MemoryStore {
    fn broken() -> MemoryStore {
        MemoryStore {
            secret: Mutex::new(None),
            broken: true,
        }
    }

    fn get(&self) -> Option<String> {
        self.secret.lock().unwrap().clone()
    }
}

impl SecretStore for MemoryStore {
    fn load(&self) -> Result<Option<String>, AppError> {
        Ok(self.get())
    }

    fn save(&self, secret: &str) -> Result<(), AppError> {
        if self.broken {
            return Err(AppError::Keychain {
                detail: "no usable keychain (test)".into(),
            });
        }
        *self.secret.lock().unwrap() = Some(secret.to_owned());
        Ok(())
    }

    fn delete(&self) -> Result<(), AppError> {
        *self.secret.lock().unwrap() = None;
        Ok(())
    }
}

struct World {
    server: RunningServer,
    _data: TempDir,
}

impl World {
    async fn start(access_token_ttl_secs: u64) -> World {
        let data = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::with_data_dir(data.path());
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.demo = true;
        config.access_token_ttl_secs = access_token_ttl_secs;
        let server = consult_server::serve(config).await.unwrap();
        World {
            server,
            _data: data,
        }
    }

    fn client(&self) -> ClinicClient {
        let base = Url::parse(&format!("{}/", self.server.base_url())).unwrap();
        ClinicClient::new(base, Duration::from_secs(10)).unwrap()
    }

    fn session(&self, store: &Arc<MemoryStore>) -> SessionManager {
        SessionManager::new(self.client(), Arc::clone(store) as Arc<dyn SecretStore>)
    }
}

#[tokio::test]
async fn login_keeps_the_refresh_token_in_the_store_and_the_access_token_works() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::default());
    let session = world.session(&store);

    let view = session.login(DOCTOR, PASSWORD).await.unwrap();
    assert_eq!(view.display_name, "Ada Lovelace");
    assert!(view.remembered && view.remember_problem.is_none());
    assert!(store.get().is_some_and(|token| token.len() >= 32));
    assert_eq!(session.me().await.unwrap().email, DOCTOR);
}

#[tokio::test]
async fn a_new_start_restores_the_session_and_rotates_the_saved_token() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::default());
    world.session(&store).login(DOCTOR, PASSWORD).await.unwrap();
    let first = store.get().unwrap();

    let restarted = world.session(&store);
    match restarted.restore().await {
        Restored::SignedIn(view) => assert_eq!(view.user.email, DOCTOR),
        other => panic!("expected a restored session, got {other:?}"),
    }
    let second = store.get().unwrap();
    assert_ne!(first, second, "the refresh token must rotate");
    assert_eq!(restarted.me().await.unwrap().email, DOCTOR);
}

#[tokio::test]
async fn a_refused_saved_token_is_forgotten_and_reported() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::default());
    world.session(&store).login(DOCTOR, PASSWORD).await.unwrap();
    let stale = store.get().unwrap();
    // Use it elsewhere and its successor too, so presenting it again is reuse (not the retry
    // of a lost reply, which the server answers with the same successor for a few seconds).
    let next = world.client().refresh(&stale).await.unwrap();
    world
        .client()
        .refresh(&next.tokens.refresh_token)
        .await
        .unwrap();

    let restarted = world.session(&store);
    match restarted.restore().await {
        Restored::Failed(AppError::SessionExpired) => {}
        other => panic!("expected an expired session, got {other:?}"),
    }
    assert_eq!(store.get(), None, "a refused token must not be kept");
    assert!(restarted.current().await.is_none());
}

#[tokio::test]
async fn nothing_saved_means_the_login_screen() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::default());
    assert!(matches!(
        world.session(&store).restore().await,
        Restored::NothingSaved
    ));
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh_at_a_time() {
    // Access tokens shorter than the refresh margin: every access_token() call refreshes.
    let world = World::start(30).await;
    let store = Arc::new(MemoryStore::default());
    let session = Arc::new(world.session(&store));
    session.login(DOCTOR, PASSWORD).await.unwrap();
    let before = store.get().unwrap();

    let calls: Vec<_> = (0..5)
        .map(|_| {
            let session = Arc::clone(&session);
            tokio::spawn(async move { session.access_token().await })
        })
        .collect();
    for call in calls {
        // Two refreshes racing with the same token would be reuse, revoking the family.
        call.await
            .unwrap()
            .expect("every caller gets a valid token");
    }
    assert_ne!(store.get().unwrap(), before);
    assert_eq!(session.me().await.unwrap().email, DOCTOR);
}

#[tokio::test]
async fn logout_revokes_on_the_server_and_forgets_locally() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::default());
    let session = world.session(&store);
    session.login(DOCTOR, PASSWORD).await.unwrap();
    let saved = store.get().unwrap();

    session.logout().await.unwrap();
    assert_eq!(store.get(), None);
    assert!(session.current().await.is_none());
    assert_eq!(session.me().await.unwrap_err(), AppError::NotSignedIn);
    assert_eq!(
        world.client().refresh(&saved).await.unwrap_err(),
        AppError::SessionExpired,
        "the server must have revoked the session"
    );
}

/// The `auth.logout` audit rows of `user_id`, read by the demo administrator.
async fn logouts_of(world: &World, user_id: &str) -> usize {
    let admin = world
        .client()
        .login("admin@demo.clinic", PASSWORD)
        .await
        .unwrap();
    let url = format!("{}/audit?action=auth.logout", world.server.base_url());
    let body: serde_json::Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(&admin.tokens.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["actorUserId"] == user_id)
        .count()
}

#[tokio::test]
async fn logout_with_an_expired_access_token_still_ends_the_session_on_the_server() {
    let world = World::start(1).await;
    let store = Arc::new(MemoryStore::default());
    let session = world.session(&store);
    let view = session.login(DOCTOR, PASSWORD).await.unwrap();
    let saved = store.get().unwrap();
    // The access token (1 s) expires on the server's clock; the refresh token does not.
    world.server.clock().advance(Duration::from_secs(2));

    session.logout().await.expect("the server was reachable");
    assert_eq!(store.get(), None);
    assert!(session.current().await.is_none());
    assert_eq!(
        world.client().refresh(&saved).await.unwrap_err(),
        AppError::SessionExpired,
        "the old refresh token must be refused"
    );
    assert_eq!(
        logouts_of(&world, &view.user.id).await,
        1,
        "the server must have been told, not just the token rotated"
    );
}

#[tokio::test]
async fn logout_without_the_server_wipes_locally_and_says_the_server_was_not_told() {
    let World {
        server,
        _data: data,
    } = World::start(900).await;
    let base = Url::parse(&format!("{}/", server.base_url())).unwrap();
    let store = Arc::new(MemoryStore::default());
    let client = ClinicClient::new(base, Duration::from_secs(10)).unwrap();
    let session = SessionManager::new(client, Arc::clone(&store) as Arc<dyn SecretStore>);
    session.login(DOCTOR, PASSWORD).await.unwrap();
    server.shutdown().await.unwrap();

    let error = session.logout().await.unwrap_err();
    assert!(
        matches!(error, AppError::SignOutNotConfirmed { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("could not be told"), "{error}");
    assert_eq!(store.get(), None, "wiped locally all the same");
    assert!(session.current().await.is_none());
    drop(data);
}

#[tokio::test]
async fn without_a_keychain_the_session_works_and_says_it_is_not_remembered() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::broken());
    let session = world.session(&store);
    let view = session.login(DOCTOR, PASSWORD).await.unwrap();
    assert!(!view.remembered);
    assert!(view
        .remember_problem
        .as_deref()
        .is_some_and(|problem| problem.contains("keychain")));
    assert_eq!(session.me().await.unwrap().email, DOCTOR);
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials_and_changes_nothing() {
    let world = World::start(900).await;
    let store = Arc::new(MemoryStore::default());
    let session = world.session(&store);
    assert_eq!(
        session.login(DOCTOR, "wrong").await.unwrap_err(),
        AppError::InvalidCredentials
    );
    assert_eq!(store.get(), None);
    assert!(session.current().await.is_none());
}

#[tokio::test]
async fn an_unreadable_keychain_at_start_is_not_mistaken_for_a_refused_sign_in() {
    struct Unreadable;
    impl SecretStore for Unreadable {
        fn load(&self) -> Result<Option<String>, AppError> {
            Err(AppError::Keychain {
                detail: "no usable keychain (test)".into(),
            })
        }
        fn save(&self, _: &str) -> Result<(), AppError> {
            self.load().map(drop)
        }
        fn delete(&self) -> Result<(), AppError> {
            self.load().map(drop)
        }
    }
    let world = World::start(900).await;
    let session = SessionManager::new(world.client(), Arc::new(Unreadable));
    match session.restore().await {
        Restored::KeychainUnavailable(AppError::Keychain { .. }) => {}
        other => panic!("expected an unavailable keychain, got {other:?}"),
    }
    // Signing in still works; it is just not remembered.
    assert!(!session.login(DOCTOR, PASSWORD).await.unwrap().remembered);
}
