//! The clinic client and the Jitsi check trust the operating system's store: a server whose CA
//! is only in the bundle `SSL_CERT_FILE` names (what rustls-native-certs reads on Linux, each
//! time a client is built) is reached with no CA file configured.
//!
//! One test in its own binary: it sets `SSL_CERT_FILE` for this process, which no other test
//! may see.

mod support;

use std::time::Duration;

use consult_core::call::deployment::{self, Trust};
use consult_core::clinic::ClinicClient;
use consult_types::AppError;
use support::{clinic_behind, FakeJitsi, TestPki};

#[test]
fn servers_whose_ca_is_in_the_system_bundle_are_reached() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pki = TestPki::generate();
    let (base, jitsi) =
        runtime.block_on(async { (clinic_behind(&pki).await, FakeJitsi::start().await) });
    let me = || {
        let client = ClinicClient::new(base.clone(), Duration::from_secs(5)).unwrap();
        runtime.block_on(client.me("token"))
    };
    let check = || {
        runtime.block_on(deployment::check(
            &jitsi.origin,
            &Trust::default(),
            Duration::from_secs(5),
        ))
    };

    // The machine's own store does not know these CAs.
    assert!(
        matches!(me(), Err(AppError::ServerUntrusted { .. })),
        "{:?}",
        me()
    );
    assert!(
        matches!(check(), Err(deployment::DeploymentError::Untrusted { .. })),
        "{:?}",
        check()
    );

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca-certificates.crt");
    let jitsi_ca = std::fs::read_to_string(&jitsi.ca_file).unwrap();
    std::fs::write(&bundle, format!("{}{jitsi_ca}", pki.ca_pem)).unwrap();
    // Before any other thread reads the environment: the runtime runs on this thread only.
    std::env::set_var("SSL_CERT_FILE", &bundle);

    assert_eq!(me().unwrap().email, "doctor@clinic.example");
    let deployment = check().unwrap();
    // Trusted by the system, not by the clinic's CA file: nothing to pin.
    assert_eq!(deployment.pinned_certificate, None);
}
