//! What the clinic client trusts, over real TLS: a clinic server whose certificate a private CA
//! signed is reached with that CA in `server_ca_file`, and refused without it (or with another
//! CA) with the error that tells IT what to do. The OS store has its own binary,
//! `clinic_os_trust.rs`, since it sets the process's environment.

mod support;

use std::sync::Arc;
use std::time::Duration;

use consult_core::clinic::{ClinicClient, ServerTrust};
use consult_core::config::AppConfig;
use consult_core::desktop::Setup;
use consult_core::settings::{SettingsStore, UserSettings};
use consult_types::AppError;
use support::{clinic_behind, TestPki};
use url::Url;

fn ca_file(dir: &tempfile::TempDir, pem: &str) -> std::path::PathBuf {
    let file = dir.path().join("clinic-ca.pem");
    std::fs::write(&file, pem).unwrap();
    file
}

#[tokio::test]
async fn a_clinic_server_signed_by_the_server_ca_file_is_reached() {
    let pki = TestPki::generate();
    let base = clinic_behind(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let trust = ServerTrust::load(Some(&ca_file(&dir, &pki.ca_pem))).unwrap();
    let client = ClinicClient::with_trust(base, Duration::from_secs(5), &trust).unwrap();
    let me = client.me("token").await.unwrap();
    assert_eq!(me.email, "doctor@clinic.example");
}

#[tokio::test]
async fn without_its_ca_the_clinic_server_is_refused_with_what_it_must_do() {
    let pki = TestPki::generate();
    let base = clinic_behind(&pki).await;
    let server = base.origin().ascii_serialization();
    let unconfigured = ClinicClient::new(base.clone(), Duration::from_secs(5)).unwrap();
    // Another clinic's CA does not make this server trusted: verification stays on.
    let dir = tempfile::tempdir().unwrap();
    let other = ServerTrust::load(Some(&ca_file(&dir, &TestPki::generate().ca_pem))).unwrap();
    let wrong_ca = ClinicClient::with_trust(base, Duration::from_secs(5), &other).unwrap();
    for client in [unconfigured, wrong_ca] {
        let error = client.me("token").await.unwrap_err();
        let AppError::ServerUntrusted {
            server: named,
            reason,
        } = &error
        else {
            panic!("expected an untrusted server, got {error:?}");
        };
        assert_eq!(named, &server);
        assert!(reason.contains("certificate authority"), "{reason}");
        let message = error.to_string();
        assert!(message.contains("server_ca_file"), "{message}");
        assert!(message.contains("system certificate store"), "{message}");
    }
}

#[test]
fn an_unusable_server_ca_file_is_a_configuration_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let empty = ca_file(&dir, "");
    for path in [missing, empty] {
        match ServerTrust::load(Some(&path)) {
            Err(AppError::Config { detail }) => {
                assert!(detail.contains(&path.display().to_string()), "{detail}");
                assert!(detail.contains("server_ca_file"), "{detail}");
            }
            Err(other) => panic!("expected a configuration error, got {other:?}"),
            Ok(_) => panic!("{} was accepted", path.display()),
        }
    }
}

/// The user's settings, none saved.
struct NoSettings;

impl SettingsStore for NoSettings {
    fn load(&self) -> Result<UserSettings, AppError> {
        Ok(UserSettings::default())
    }
    fn save(&self, _: &UserSettings) -> Result<(), AppError> {
        Ok(())
    }
}

/// The configuration as the app loads it, with `server_ca_file` set in the machine-wide file.
fn configured(base: &Url, server_ca_file: &std::path::Path) -> Result<Setup, AppError> {
    let dir = tempfile::tempdir().unwrap();
    let machine = dir.path().join("machine.toml");
    std::fs::write(
        &machine,
        format!(
            "server_url = \"{base}\"\nkeychain = \"none\"\nserver_ca_file = \"{}\"\n",
            server_ca_file.display()
        ),
    )
    .unwrap();
    let config = AppConfig::load_with_machine(&dir.path().join("absent.toml"), Some(&machine))?;
    Setup::new(config, Arc::new(NoSettings))
}

#[tokio::test]
async fn the_apps_setup_uses_server_ca_file_and_refuses_one_it_cannot_use() {
    let pki = TestPki::generate();
    let base = clinic_behind(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let setup = configured(&base, &ca_file(&dir, &pki.ca_pem)).unwrap();
    let me = setup.session().client().me("token").await.unwrap();
    assert_eq!(me.email, "doctor@clinic.example");

    // Never a quiet fallback to the other roots: the app does not start with it.
    let missing = dir.path().join("missing.pem");
    match configured(&base, &missing) {
        Err(AppError::Config { detail }) => {
            assert!(detail.contains("server_ca_file"), "{detail}");
            assert!(detail.contains("missing.pem"), "{detail}");
        }
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(_) => panic!("a missing server_ca_file was accepted"),
    }
}
