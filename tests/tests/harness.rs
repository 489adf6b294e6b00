//! The harness's own promises that the doctor's-desk scenarios rely on: a restarted server keeps
//! its port, data and signing key, and the API helpers do what they say.

use std::time::Duration;

use consult_e2e::clinic::{id_of, DEMO_AGENCY_NAME};
use consult_e2e::{ClinicApi, ClinicServer};

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_server_keeps_its_address_data_and_sessions() {
    let mut server = ClinicServer::start_demo("harness-restart");
    let url = server.url().to_owned();
    let api = ClinicApi::new(&url);
    let doctor = api.doctor().await;
    let agency = api.agency().await;
    let appointments = api.appointments(&doctor).await;
    assert_eq!(appointments.len(), 4, "demo mode seeds four appointments");
    let with_agency = appointments
        .iter()
        .find(|a| a["agencyId"].is_string())
        .expect("a demo appointment with the agency on it");
    let request = api.ask_to_join(&agency, &id_of(with_agency)).await;
    assert_eq!(request["status"], "pending");
    assert_eq!(request["requesterName"], DEMO_AGENCY_NAME);
    let old_pid = server.pid();

    server.restart();
    assert_ne!(server.pid(), old_pid, "a new process");
    assert_eq!(server.url(), url, "the same address");
    // Same database (no second demo schedule) and signing key (old access tokens still work).
    assert_eq!(api.appointments(&doctor).await.len(), 4);
    assert_eq!(
        api.join_request_status(&doctor, &id_of(&request)).await,
        "pending"
    );
    api.reject(&doctor, &id_of(&request)).await;
    assert_eq!(
        api.join_request_status(&agency, &id_of(&request)).await,
        "rejected"
    );
    // A stopped server refuses connections; started again it answers.
    server.stop();
    let refused = reqwest::Client::new()
        .get(format!("{url}/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "nothing listens while stopped");
    server.start_again();
    assert_eq!(api.appointments(&doctor).await.len(), 4);
}
