//! Administration endpoints: /users, /users/{id}/disable|enable, /devices, /audit, with the
//! role rules tried by every kind of caller.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::accounts::{
    actions, audit, created, device_login, post_as, sign_in, Caller, ADMIN, AGENCY, DEMO_DEVICE_ID,
    DEMO_DEVICE_SECRET,
};
use crate::common::{Reply, TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

async fn user_id(server: &TestServer, admin: &str, email: &str) -> String {
    let reply = server
        .get(&format!("/users?email={email}"), Some(admin))
        .await;
    reply.data()[0]["id"].as_str().expect("id").to_owned()
}

/// The status every caller must get from one endpoint.
struct Rule {
    name: &'static str,
    admin: StatusCode,
    doctor: StatusCode,
}

#[tokio::test]
async fn only_admins_may_administer_and_doctors_may_list() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let target = post_as(
        &server,
        Some(&admin),
        "/users",
        json!({"email": "target@example.org", "role": "patient"}),
    )
    .await;
    let target_id = created(&target)["id"].as_str().expect("id").to_owned();

    for caller in Caller::ALL {
        let token = sign_in(&server, caller).await;
        let token = token.as_deref();
        let label = format!("{caller:?}").to_lowercase();
        let attempts: Vec<(Rule, Reply)> = vec![
            (
                Rule {
                    name: "POST /users",
                    admin: StatusCode::CREATED,
                    doctor: StatusCode::FORBIDDEN,
                },
                post_as(
                    &server,
                    token,
                    "/users",
                    json!({"email": format!("by-{label}@example.org"), "role": "patient"}),
                )
                .await,
            ),
            (
                Rule {
                    name: "GET /users",
                    admin: StatusCode::OK,
                    doctor: StatusCode::OK,
                },
                server.get("/users", token).await,
            ),
            (
                Rule {
                    name: "POST /users/{id}/disable",
                    admin: StatusCode::OK,
                    doctor: StatusCode::FORBIDDEN,
                },
                post_as(
                    &server,
                    token,
                    &format!("/users/{target_id}/disable"),
                    json!({}),
                )
                .await,
            ),
            (
                Rule {
                    name: "POST /users/{id}/enable",
                    admin: StatusCode::OK,
                    doctor: StatusCode::FORBIDDEN,
                },
                post_as(
                    &server,
                    token,
                    &format!("/users/{target_id}/enable"),
                    json!({}),
                )
                .await,
            ),
            (
                Rule {
                    name: "POST /devices",
                    admin: StatusCode::CREATED,
                    doctor: StatusCode::FORBIDDEN,
                },
                post_as(&server, token, "/devices", json!({"location": "Room 1"})).await,
            ),
            (
                Rule {
                    name: "GET /devices",
                    admin: StatusCode::OK,
                    doctor: StatusCode::FORBIDDEN,
                },
                server.get("/devices", token).await,
            ),
            (
                Rule {
                    name: "GET /audit",
                    admin: StatusCode::OK,
                    doctor: StatusCode::FORBIDDEN,
                },
                server.get("/audit", token).await,
            ),
            // The role is checked before the body: a malformed one still gets 401/403.
            (
                Rule {
                    name: "POST /users with a bad body",
                    admin: StatusCode::UNPROCESSABLE_ENTITY,
                    doctor: StatusCode::FORBIDDEN,
                },
                post_as(&server, token, "/users", json!({"nonsense": true})).await,
            ),
        ];
        for (rule, reply) in attempts {
            let expected = match caller {
                Caller::Admin => rule.admin,
                Caller::Doctor => rule.doctor,
                Caller::Anonymous => StatusCode::UNAUTHORIZED,
                Caller::Patient | Caller::Agency | Caller::Kiosk => StatusCode::FORBIDDEN,
            };
            assert_eq!(
                reply.status, expected,
                "{} by {caller:?}: {}",
                rule.name, reply.body
            );
            match expected {
                StatusCode::UNAUTHORIZED => reply.assert_error(expected, "unauthenticated"),
                StatusCode::FORBIDDEN => reply.assert_error(expected, "forbidden"),
                StatusCode::UNPROCESSABLE_ENTITY => reply.assert_error(expected, "invalid_value"),
                _ => assert_eq!(reply.body["success"], true),
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn admins_create_accounts_that_can_sign_in() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let password = "correct horse battery";
    let reply = post_as(
        &server,
        Some(&admin),
        "/users",
        json!({"email": " Jane.Doe@Example.org", "password": password,
            "firstName": " Jane ", "lastName": "Doe", "role": "doctor"}),
    )
    .await;
    let user = created(&reply).clone();
    assert!(user["id"].as_str().is_some_and(|id| id.starts_with("usr_")));
    assert_eq!(
        user,
        json!({"id": user["id"], "email": "jane.doe@example.org", "firstName": "Jane",
            "lastName": "Doe", "role": "doctor", "disabled": false})
    );
    let login = server.login("jane.doe@example.org", password).await;
    assert_eq!(login.data()["user"]["id"], user["id"]);

    // Without a password the account exists but cannot sign in with one.
    let no_password = post_as(
        &server,
        Some(&admin),
        "/users",
        json!({"email": "nopass@example.org", "role": "agency"}),
    )
    .await;
    assert_eq!(created(&no_password)["firstName"], json!(null));
    server
        .login("nopass@example.org", "")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Exactly twelve characters is enough.
    let twelve = post_as(
        &server,
        Some(&admin),
        "/users",
        json!({"email": "twelve@example.org", "password": "123456789012", "role": "patient"}),
    )
    .await;
    created(&twelve);

    post_as(
        &server,
        Some(&admin),
        "/users",
        json!({"email": "JANE.DOE@example.org", "role": "patient"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    for bad in [
        json!({"email": "not-an-email", "role": "patient"}),
        json!({"email": "short@example.org", "password": "12345678901", "role": "patient"}),
        json!({"email": "kiosk@example.org", "role": "kiosk"}),
        json!({"email": "root@example.org", "role": "root"}),
        json!({"email": "x@example.org", "role": "patient", "disabled": true}),
        json!({"email": "x@example.org", "firstName": "n".repeat(101), "role": "patient"}),
        json!({"role": "patient"}),
    ] {
        post_as(&server, Some(&admin), "/users", bad.clone())
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }

    let trail = audit(&server, &admin, "?action=user.created").await;
    assert_eq!(trail.len(), 3);
    assert_eq!(
        trail[2]["detail"],
        json!({"userId": user["id"], "role": "doctor"})
    );
    let admin_id = server.login(ADMIN, DEMO_PASSWORD).await.data()["user"]["id"].clone();
    assert_eq!(trail[2]["actorUserId"], admin_id);
    let everything = audit(&server, &admin, "?limit=1000").await;
    let text = serde_json::to_string(&everything).expect("json");
    assert!(!text.contains(password) && !text.contains("123456789012"));
    assert!(!text.contains("$argon2"), "no password hash");
    server.stop().await;
}

#[tokio::test]
async fn listing_accounts_by_role_and_email() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let doctor = sign_in(&server, Caller::Doctor).await.expect("doctor");
    let emails = |reply: &Reply| -> Vec<String> {
        reply
            .data()
            .as_array()
            .expect("array")
            .iter()
            .map(|u| u["email"].as_str().expect("email").to_owned())
            .collect()
    };

    let all = server.get("/users", Some(&admin)).await;
    assert_eq!(
        emails(&all),
        [ADMIN, AGENCY, DOCTOR, "kiosk@demo.clinic", PATIENT]
    );
    assert!(all.data()[0]["disabled"] == false);
    let patients = server.get("/users?role=patient", Some(&admin)).await;
    assert_eq!(emails(&patients), [PATIENT]);
    let by_email = server
        .get("/users?email=Doctor%40Demo.Clinic", Some(&admin))
        .await;
    assert_eq!(emails(&by_email), [DOCTOR]);
    assert_eq!(by_email.data()[0]["role"], "doctor");

    // Doctors see the people they book with, and nobody else.
    assert_eq!(
        emails(&server.get("/users", Some(&doctor)).await),
        [AGENCY, PATIENT]
    );
    assert_eq!(
        emails(&server.get("/users?role=agency", Some(&doctor)).await),
        [AGENCY]
    );
    for hidden in [
        "role=admin",
        "role=doctor",
        "role=kiosk",
        "email=admin%40demo.clinic",
    ] {
        let reply = server.get(&format!("/users?{hidden}"), Some(&doctor)).await;
        assert_eq!(reply.data(), &json!([]), "{hidden}");
    }
    // A disabled patient drops out of the doctor's list but not the administrator's.
    let patient_id = user_id(&server, &admin, PATIENT).await;
    post_as(
        &server,
        Some(&admin),
        &format!("/users/{patient_id}/disable"),
        json!({}),
    )
    .await
    .data();
    assert_eq!(emails(&server.get("/users", Some(&doctor)).await), [AGENCY]);
    let listed = server.get("/users?role=patient", Some(&admin)).await;
    assert_eq!(listed.data()[0]["disabled"], true);

    for bad in ["role=root", "bogus=1", "role="] {
        server
            .get(&format!("/users?{bad}"), Some(&admin))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    server.stop().await;
}

#[tokio::test]
async fn disabling_ends_every_session_at_once_and_enabling_allows_new_ones() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let first = server.login(PATIENT, DEMO_PASSWORD).await;
    let second = server.login(PATIENT, DEMO_PASSWORD).await;
    let rotated = server.refresh(&second.refresh_token()).await;
    server.me(&first.access_token()).await.data();
    server.me(&rotated.access_token()).await.data();
    let patient_id = first.data()["user"]["id"].as_str().expect("id").to_owned();

    let reply = post_as(
        &server,
        Some(&admin),
        &format!("/users/{patient_id}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(reply.data()["disabled"], true);
    assert_eq!(reply.data()["email"], PATIENT);

    // Every access token stops working immediately, long before it expires.
    for access in [
        first.access_token(),
        second.access_token(),
        rotated.access_token(),
    ] {
        server
            .me(&access)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    for refresh in [first.refresh_token(), rotated.refresh_token()] {
        server
            .refresh(&refresh)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    server
        .login(PATIENT, DEMO_PASSWORD)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Disabling again is harmless; yourself and unknown accounts are refused.
    post_as(
        &server,
        Some(&admin),
        &format!("/users/{patient_id}/disable"),
        json!({}),
    )
    .await
    .data();
    let admin_id = user_id(&server, &admin, ADMIN).await;
    post_as(
        &server,
        Some(&admin),
        &format!("/users/{admin_id}/disable"),
        json!({}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict");
    server.me(&admin).await.data();
    for action in ["disable", "enable"] {
        post_as(
            &server,
            Some(&admin),
            &format!("/users/usr_00000000000000000000000000000000/{action}"),
            json!({}),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    }

    let enabled = post_as(
        &server,
        Some(&admin),
        &format!("/users/{patient_id}/enable"),
        json!({}),
    )
    .await;
    assert_eq!(enabled.data()["disabled"], false);
    let again = server.login(PATIENT, DEMO_PASSWORD).await;
    server.me(&again.access_token()).await.data();
    // Sessions ended by the disabling stay ended.
    server
        .me(&first.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let trail = audit(&server, &admin, "?limit=1000").await;
    let changes: Vec<(&str, &Value)> = trail
        .iter()
        .filter(|e| e["action"] == "user.disabled" || e["action"] == "user.enabled")
        .map(|e| (e["action"].as_str().expect("action"), &e["detail"]))
        .collect();
    assert_eq!(
        changes,
        [
            ("user.enabled", &json!({"userId": patient_id})),
            (
                "user.disabled",
                &json!({"userId": patient_id, "revokedSessions": 0})
            ),
            (
                "user.disabled",
                &json!({"userId": patient_id, "revokedSessions": 2})
            ),
        ]
    );
    assert!(trail
        .iter()
        .filter(|e| e["action"] == "user.disabled")
        .all(|e| e["actorUserId"] == admin_id));
    server.stop().await;
}

#[tokio::test]
async fn the_audit_trail_records_auth_events_newest_first_and_never_a_secret() {
    let server = TestServer::demo().await;
    let started = OffsetDateTime::now_utc().unix_timestamp();
    let mut secrets: Vec<String> = Vec::new();
    fn keep(reply: &Reply, secrets: &mut Vec<String>) {
        secrets.push(reply.access_token());
        secrets.push(reply.refresh_token());
    }

    server
        .login(DOCTOR, "wrong password here")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let doctor = server.login(DOCTOR, DEMO_PASSWORD).await;
    keep(&doctor, &mut secrets);
    let rotated = server.refresh(&doctor.refresh_token()).await;
    keep(&rotated, &mut secrets);
    let kiosk = device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
    keep(&kiosk, &mut secrets);
    let admin_login = server.login(ADMIN, DEMO_PASSWORD).await;
    keep(&admin_login, &mut secrets);
    let admin = admin_login.access_token();
    let device = post_as(
        &server,
        Some(&admin),
        "/devices",
        json!({"location": "Lobby"}),
    )
    .await;
    secrets.push(
        created(&device)["deviceSecret"]
            .as_str()
            .expect("secret")
            .to_owned(),
    );
    server.logout(&rotated.access_token()).await.data();
    // The digests the store keeps are secrets too.
    let digests: Vec<String> = secrets
        .iter()
        .map(|s| {
            Sha256::digest(s.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();

    let reply = server.get("/audit?limit=1000", Some(&admin)).await;
    let entries = reply.data().as_array().expect("array").clone();
    assert_eq!(
        actions(&entries),
        [
            "auth.logout",
            "device.created",
            "auth.token_issued",
            "auth.login_succeeded",
            "auth.token_issued",
            "auth.login_succeeded",
            "auth.token_issued",
            "auth.token_issued",
            "auth.login_succeeded",
            "auth.login_failed",
        ]
    );
    let ids: Vec<i64> = entries
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    for entry in &entries {
        let at = OffsetDateTime::parse(entry["at"].as_str().expect("at"), &Rfc3339).expect("time");
        assert!(at.unix_timestamp() >= started - 1);
        assert_eq!(entry["ip"], "127.0.0.1");
        assert!(entry["detail"].is_object());
    }
    let failed = &entries[9];
    assert_eq!(failed["actorUserId"], doctor.data()["user"]["id"]);
    assert_eq!(
        failed["detail"],
        json!({"email": DOCTOR, "reason": "wrong_password", "grant": "password"})
    );
    let text = reply.body.to_string();
    for secret in secrets.iter().chain(&digests) {
        assert!(
            !text.contains(secret.as_str()),
            "a secret in the audit trail"
        );
    }
    assert!(!text.contains("wrong password here") && !text.contains(DEMO_DEVICE_SECRET));

    // Filters.
    let only_failures = server
        .get("/audit?action=auth.login_failed", Some(&admin))
        .await;
    assert_eq!(
        actions(only_failures.data().as_array().expect("array")),
        ["auth.login_failed"]
    );
    let two = server.get("/audit?limit=2", Some(&admin)).await;
    assert_eq!(
        actions(two.data().as_array().expect("array")),
        ["auth.logout", "device.created"]
    );
    let format = |unix: i64| {
        OffsetDateTime::from_unix_timestamp(unix)
            .expect("time")
            .format(&Rfc3339)
            .expect("format")
    };
    let later = format(started + 3600);
    let earlier = format(started - 3600);
    let future = server
        .get(&format!("/audit?from={later}"), Some(&admin))
        .await;
    assert_eq!(future.data(), &json!([]));
    let past = server
        .get(&format!("/audit?to={earlier}"), Some(&admin))
        .await;
    assert_eq!(past.data(), &json!([]));
    let window = server
        .get(
            &format!("/audit?from={earlier}&to={later}&limit=1000"),
            Some(&admin),
        )
        .await;
    assert_eq!(
        window.data().as_array().expect("array").len(),
        entries.len()
    );
    // An offset written with an unencoded `+` (a space once decoded) is understood.
    let offset = server
        .get("/audit?from=2000-01-01T01:00:00+01:00", Some(&admin))
        .await;
    offset.data();
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "from=yesterday",
        "to=2026-13-01T00:00:00Z",
        "unknown=1",
    ] {
        server
            .get(&format!("/audit?{bad}"), Some(&admin))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    server
        .get(&format!("/audit?from={later}&to={earlier}"), Some(&admin))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    server.stop().await;
}
