//! Joining a call over real HTTP: `GET /sessions/{sessionId}/jwt` and
//! `GET /meetings/{appointmentId}/link`. Every token the server hands out is checked with the
//! Prosody-rules verifier (`prosody.rs`) configured like the fixture's Jitsi deployment, and its
//! claims are read: moderator for the appointment's doctor and administrators only, whatever the
//! request says; the appointment's room only; valid from the past until the appointment's end
//! plus the configured grace. Every issue is audited, and no token is ever stored.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clinic::{Actor, Clinic, JITSI_APP_ID, JITSI_SECRET, JITSI_URL};
use crate::common::{stored_values, Reply};
use crate::prosody::{ProsodyVerifier, Rejection, VerifiedToken};

const HOUR: Duration = Duration::from_secs(3600);
/// Inside the window in which tokens are issued (from 15 minutes before the start).
const SOON: Duration = Duration::from_secs(10 * 60);
/// `TOKEN_WINDOW_SECS`: how long before the start tokens are issued.
const WINDOW_SECS: i64 = 15 * 60;
/// `MAX_TOKEN_LIFETIME_SECS`: no token lives longer than this from its issue.
const MAX_LIFETIME_SECS: i64 = 4 * 60 * 60;
/// The grace after the appointment's end the fixture's `[jitsi]` has (`DEFAULT_GRACE_SECS`).
const DEFAULT_GRACE_SECS: i64 = 15 * 60;
/// `MAX_GRACE_SECS`: a longer `exp` would be a standing pass.
const MAX_GRACE_SECS: i64 = 4 * 60 * 60;
/// `MAX_NBF_BACKDATE_SECS`: `nbf` only absorbs clock skew.
const MAX_NBF_BACKDATE_SECS: i64 = 300;
/// The claims a Consult token may carry, and the fields of `context.user`; anything else (an
/// affiliation, a lobby bypass, features on a self-hosted deployment) is a privilege nobody asked
/// the server for.
const CLAIMS: [&str; 9] = [
    "aud", "context", "exp", "iat", "iss", "jti", "nbf", "room", "sub",
];
const USER_FIELDS: [&str; 5] = ["avatar", "email", "id", "moderator", "name"];

/// The XMPP domain of the fixture's deployment (`sub` of bare rooms).
fn jitsi_domain() -> &'static str {
    JITSI_URL.trim_start_matches("https://")
}

/// Prosody configured like the fixture's deployment: HS256 with its app secret, its app id as
/// the accepted issuer, the default audience and domain verification on.
pub fn verifier() -> ProsodyVerifier {
    ProsodyVerifier::hs256(
        JITSI_SECRET.as_bytes(),
        JITSI_APP_ID,
        "jitsi",
        jitsi_domain(),
    )
}

pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn unix(rfc3339: &Value) -> i64 {
    let text = rfc3339
        .as_str()
        .unwrap_or_else(|| panic!("a time: {rfc3339}"));
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .unix_timestamp()
}

pub fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {value}"))
        .to_owned()
}

/// A kiosk device made through the admin API (`POST /devices`), signed in with
/// `POST /auth/device-login`; returns the kiosk and its device id and secret.
pub async fn new_kiosk(clinic: &Clinic, location: &str) -> (Actor, String, String) {
    let created = clinic
        .call(
            Method::POST,
            "/devices",
            Some(&clinic.admin),
            Some(json!({"location": location, "name": "Tablet"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let device = &created.body["data"];
    let device_id = text(device, "deviceId");
    let secret = text(device, "deviceSecret");
    let signed_in = clinic
        .server
        .post(
            "/auth/device-login",
            json!({"deviceId": device_id, "deviceSecret": secret}),
        )
        .await;
    let user = &signed_in.data()["user"];
    assert_eq!(user["role"], "kiosk");
    let kiosk = Actor {
        id: text(user, "id"),
        email: text(user, "email"),
        token: signed_in.access_token(),
    };
    (kiosk, device_id, secret)
}

/// The contract's display name for `who`, from their own account (`GET /me`): first and last
/// name, else the email.
async fn display_name(clinic: &Clinic, who: &Actor) -> String {
    let me = clinic.get("/me", who).await;
    let me = me.data();
    let names: Vec<&str> = [&me["firstName"], &me["lastName"]]
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        text(me, "email")
    } else {
        names.join(" ")
    }
}

fn jwt_path(appointment: &Value) -> String {
    format!("/sessions/{}/jwt", text(appointment, "sessionId"))
}

fn link_path(appointment: &Value) -> String {
    format!("/meetings/{}/link", text(appointment, "id"))
}

/// What a caller should get.
struct Expected<'a> {
    who: &'a Actor,
    name: String,
    moderator: bool,
    grace: i64,
}

impl<'a> Expected<'a> {
    async fn of(clinic: &Clinic, who: &'a Actor, moderator: bool) -> Expected<'a> {
        Expected {
            who,
            name: display_name(clinic, who).await,
            moderator,
            grace: DEFAULT_GRACE_SECS,
        }
    }
}

/// Verifies `token` as Prosody would when `expected.who` joins `appointment`'s room now, and
/// checks every claim; returns what Prosody's session would hold.
fn check_token(token: &str, appointment: &Value, expected: &Expected<'_>) -> VerifiedToken {
    let room = text(appointment, "roomName");
    let before = now_unix();
    let verified = verifier()
        .verify(token, &room, before)
        .unwrap_or_else(|rejection| {
            panic!(
                "{}: Prosody would refuse the token: {rejection:?}",
                expected.who.email
            )
        });
    let who = &expected.who.email;
    assert_eq!(verified.moderator, expected.moderator, "{who}: moderator");
    // Exactly the boolean (not "true", not 1) for a self-hosted deployment.
    assert_eq!(
        verified.claims["context"]["user"]["moderator"],
        json!(expected.moderator),
        "{who}: {}",
        verified.claims
    );
    assert_eq!(verified.room, room, "{who}: the appointment's room");
    assert_eq!(
        verified.room,
        verified.room.to_lowercase(),
        "{who}: lowercase"
    );
    assert!(
        verified
            .room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "{who}: {}",
        verified.room
    );
    assert_eq!(verified.subject, jitsi_domain());
    assert_eq!(verified.issuer, JITSI_APP_ID);
    assert_eq!(verified.audience, "jitsi");
    assert_eq!(verified.header, json!({"typ": "JWT", "alg": "HS256"}));
    assert_eq!(verified.user_id.as_deref(), Some(expected.who.id.as_str()));
    assert_eq!(
        verified.name.as_deref(),
        Some(expected.name.as_str()),
        "{who}"
    );
    assert_eq!(
        verified.email.as_deref(),
        Some(expected.who.email.as_str()),
        "{who}"
    );

    // Nothing but what a consultation needs.
    let claims = verified.claims.as_object().expect("claims");
    let mut keys: Vec<&str> = claims.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, CLAIMS, "{who}: {}", verified.claims);
    // jti: 128 random bits, so each issue is a token of its own.
    let jti = verified.claims["jti"].as_str().expect("jti");
    assert!(
        jti.len() == 32 && jti.bytes().all(|b| b.is_ascii_hexdigit()),
        "{who}: jti {jti}"
    );
    let context = verified.claims["context"].as_object().expect("context");
    assert_eq!(
        context.keys().collect::<Vec<_>>(),
        ["user"],
        "{who}: {}",
        verified.claims
    );
    let user = verified.claims["context"]["user"]
        .as_object()
        .expect("context.user");
    assert!(
        user.keys().all(|key| USER_FIELDS.contains(&key.as_str())),
        "{who}: {}",
        verified.claims
    );
    assert!(verified.features.is_none(), "{who}: {}", verified.claims);

    // exp: the appointment's end plus the configured grace, and never a standing pass.
    let end = unix(&appointment["endTime"]);
    let exp = verified.exp as i64;
    assert_eq!(verified.exp, exp as f64, "whole seconds");
    assert_eq!(exp, end + expected.grace, "{who}: exp = end + grace");
    assert!(exp - end <= MAX_GRACE_SECS, "{who}: bounded grace");
    // nbf: backdated a little, so Prosody's zero leeway does not refuse it at once.
    let nbf = verified.nbf.expect("nbf") as i64;
    assert!(nbf < before, "{who}: nbf {nbf} in the past (now {before})");
    assert!(
        nbf >= before - MAX_NBF_BACKDATE_SECS - 60,
        "{who}: nbf {nbf} only slightly backdated (now {before})"
    );
    // For this room only, and dead at exp.
    assert_eq!(
        verifier()
            .verify(token, "appt-some-other-room", before)
            .err(),
        Some(Rejection::WrongRoom)
    );
    assert_eq!(
        verifier().verify(token, &room, exp).err(),
        Some(Rejection::Expired)
    );
    verified
}

/// `GET /sessions/{sessionId}/jwt` as `expected.who` must give a token as expected; returns the
/// token.
fn check_session(reply: &Reply, appointment: &Value, expected: &Expected<'_>) -> String {
    let data = reply.data();
    let who = &expected.who.email;
    let token = text(data, "jitsiToken");
    let verified = check_token(&token, appointment, expected);
    assert_eq!(
        data["moderator"],
        json!(expected.moderator),
        "{who}: {data}"
    );
    assert_eq!(data["displayName"], json!(expected.name), "{who}");
    assert_eq!(data["serverUrl"], JITSI_URL);
    assert_eq!(data["roomName"], appointment["roomName"]);
    assert_eq!(data["callType"], appointment["callType"]);
    assert_eq!(unix(&data["expiresAt"]), verified.exp as i64, "{who}");
    token
}

/// `GET /meetings/{appointmentId}/link` as `expected.who` must give a link on the deployment,
/// to the room, with a token as expected; returns the token.
fn check_link(reply: &Reply, appointment: &Value, expected: &Expected<'_>) -> String {
    let data = reply.data();
    let who = &expected.who.email;
    let link = text(data, "meetingUrl");
    let url = url::Url::parse(&link).unwrap_or_else(|error| panic!("{link}: {error}"));
    let base = url::Url::parse(JITSI_URL).expect("fixture URL");
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), base.host_str(), "{who}: on the deployment");
    assert_eq!(url.port(), base.port());
    assert_eq!(
        url.path(),
        format!("/{}", text(appointment, "roomName")),
        "{who}"
    );
    let jwts: Vec<String> = url
        .query_pairs()
        .filter(|(key, _)| key == "jwt")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(jwts.len(), 1, "{who}: one jwt in the query");
    assert_eq!(
        url.query_pairs().count(),
        1,
        "{who}: nothing else in the query"
    );
    let token = jwts[0].clone();
    check_token(&token, appointment, expected);
    // The display name as Jitsi Meet reads it from the hash: a JSON string, URI-encoded.
    let fragment = url.fragment().unwrap_or_default();
    let hash: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    let shown = hash
        .iter()
        .find(|(key, _)| key == "userInfo.displayName")
        .unwrap_or_else(|| panic!("{who}: no display name in {fragment}"));
    assert_eq!(
        serde_json::from_str::<Value>(&shown.1).ok(),
        Some(json!(expected.name))
    );
    assert!(
        !fragment.to_lowercase().contains("moderator"),
        "{who}: {fragment}"
    );
    assert_eq!(data["isModerator"], json!(expected.moderator), "{who}");
    assert_eq!(data["displayName"], json!(expected.name), "{who}");
    assert_eq!(data["scheduledAt"], appointment["startTime"]);
    let minutes = (unix(&appointment["endTime"]) - unix(&appointment["startTime"])) / 60;
    assert_eq!(data["duration"], json!(minutes));
    assert_eq!(data["status"], appointment["status"]);
    token
}

/// The `jitsi.token_issued` rows, newest first.
async fn token_audit(clinic: &Clinic) -> Vec<Value> {
    let reply = clinic
        .get("/audit?action=jitsi.token_issued&limit=1000", &clinic.admin)
        .await;
    reply.data().as_array().expect("an array").clone()
}

/// The agency asks to join and the doctor approves.
async fn admit(clinic: &Clinic, appointment: &Value, who: &Actor) {
    let asked = clinic
        .post(
            &format!("/appointments/{}/join-requests", text(appointment, "id")),
            who,
        )
        .await;
    let request_id = text(asked.data(), "id");
    let approved = clinic
        .post(
            &format!("/join-requests/{request_id}/approve"),
            &clinic.doctor,
        )
        .await;
    assert_eq!(approved.data()["status"], "approved");
}

/// Moves the appointment's times in the database, to make one that is already over.
async fn set_times(clinic: &Clinic, appointment: &Value, start: i64, end: i64) {
    let db = clinic.server.db().await;
    let changed =
        sqlx::query("UPDATE appointments SET start_time = $1, end_time = $2 WHERE id = $3")
            .bind(start)
            .bind(end)
            .bind(text(appointment, "id"))
            .execute(&db)
            .await
            .expect("update");
    assert_eq!(changed.rows_affected(), 1);
    db.close().await;
}

async fn fetch(clinic: &Clinic, appointment: &Value) -> Value {
    clinic
        .get(
            &format!("/appointments/{}", text(appointment, "id")),
            &clinic.doctor,
        )
        .await
        .data()
        .clone()
}

#[tokio::test]
async fn the_doctor_and_an_admin_get_moderator_tokens_for_the_room() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let room = text(&appointment, "roomName");
    assert_eq!(room, room.to_lowercase());

    let doctor = Expected::of(&clinic, &clinic.doctor, true).await;
    assert_eq!(doctor.name, "Ada Lovelace");
    let reply = clinic.get(&jwt_path(&appointment), &clinic.doctor).await;
    check_session(&reply, &appointment, &doctor);

    // Administrators are not on the appointment and still join as moderators.
    let admin = Expected::of(&clinic, &clinic.admin, true).await;
    let reply = clinic.get(&jwt_path(&appointment), &clinic.admin).await;
    check_session(&reply, &appointment, &admin);

    // An audio appointment's token says so.
    let audio = clinic.book(SOON, json!({"callType": "audio"})).await;
    let reply = clinic.get(&jwt_path(&audio), &clinic.doctor).await;
    check_session(&reply, &audio, &doctor);
    assert_eq!(reply.data()["callType"], "audio");
    assert_ne!(reply.data()["roomName"], appointment["roomName"]);

    // Still a moderator while the meeting runs.
    clinic
        .post(
            &format!("/appointments/{}/meeting/start", text(&appointment, "id")),
            &clinic.doctor,
        )
        .await
        .data();
    let running = fetch(&clinic, &appointment).await;
    let reply = clinic.get(&jwt_path(&running), &clinic.doctor).await;
    check_session(&reply, &running, &doctor);
}

#[tokio::test]
async fn a_token_fetched_again_is_a_new_token() {
    // After a refusal the app fetches again at once, often within the same second: that must
    // be a real retry, not the refused token once more.
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let doctor = Expected::of(&clinic, &clinic.doctor, true).await;
    let mut tokens = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let reply = clinic.get(&jwt_path(&appointment), &clinic.doctor).await;
        let token = check_session(&reply, &appointment, &doctor);
        let verified = check_token(&token, &appointment, &doctor);
        let jti = verified.claims["jti"].as_str().expect("jti").to_owned();
        assert!(ids.insert(jti), "a new jti");
        assert!(tokens.insert(token), "a new token");
    }
}

#[tokio::test]
async fn patients_admitted_agencies_and_kiosks_get_tokens_without_moderator() {
    let clinic = Clinic::start().await;
    let (kiosk, _, _) = new_kiosk(&clinic, "Exam room 3").await;
    let appointment = clinic.book(SOON, json!({"kioskId": kiosk.id})).await;
    assert_eq!(appointment["kioskId"], json!(kiosk.id));

    let patient = Expected::of(&clinic, &clinic.patient, false).await;
    assert_eq!(patient.name, "Grace Hopper");
    let reply = clinic.get(&jwt_path(&appointment), &clinic.patient).await;
    check_session(&reply, &appointment, &patient);

    let kiosk_expected = Expected::of(&clinic, &kiosk, false).await;
    assert_eq!(kiosk_expected.name, "Tablet Exam room 3");
    let reply = clinic.get(&jwt_path(&appointment), &kiosk).await;
    check_session(&reply, &appointment, &kiosk_expected);

    // The agency must be admitted first, then joins as a participant.
    clinic
        .get(&jwt_path(&appointment), &clinic.agency)
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");
    admit(&clinic, &appointment, &clinic.agency).await;
    let agency = Expected::of(&clinic, &clinic.agency, false).await;
    let reply = clinic.get(&jwt_path(&appointment), &clinic.agency).await;
    check_session(&reply, &appointment, &agency);
}

#[tokio::test]
async fn nothing_in_the_request_makes_a_guest_a_moderator() {
    let clinic = Clinic::start().await;
    let (kiosk, _, _) = new_kiosk(&clinic, "Lobby").await;
    let appointment = clinic.book(SOON, json!({"kioskId": kiosk.id})).await;
    admit(&clinic, &appointment, &clinic.agency).await;
    // Ways a request might try to ask for moderator rights: none of them may work.
    let queries = [
        "?moderator=true",
        "?moderator=1",
        "?isModerator=true",
        "?role=moderator",
        "?role=doctor",
        "?affiliation=owner",
        "?context.user.moderator=true",
        "?moderator=true&role=moderator&affiliation=owner&lobby_bypass=true",
        "?room=*",
        "?userId=",
    ];
    let headers: [(&str, &str); 6] = [
        ("x-moderator", "true"),
        ("x-role", "moderator"),
        ("x-jitsi-affiliation", "owner"),
        ("x-user-role", "admin"),
        ("x-forwarded-user", "admin@demo.clinic"),
        ("x-consult-moderator", "true"),
    ];
    let forged = json!({
        "moderator": true,
        "role": "moderator",
        "affiliation": "owner",
        "room": "*",
        "context": {"user": {"moderator": true, "affiliation": "owner"}},
    });
    let mut issued = 0;
    for who in [&clinic.patient, &clinic.agency, &kiosk] {
        let expected = Expected::of(&clinic, who, false).await;
        for base in [jwt_path(&appointment), link_path(&appointment)] {
            let is_link = base.starts_with("/meetings/");
            let check = |reply: &Reply, what: &str| {
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "{} {base}{what}: {}",
                    who.email,
                    reply.body
                );
                if is_link {
                    check_link(reply, &appointment, &expected)
                } else {
                    check_session(reply, &appointment, &expected)
                }
            };
            for query in queries {
                let query = query.replace("userId=", &format!("userId={}", clinic.doctor.id));
                let reply = clinic.get(&format!("{base}{query}"), who).await;
                check(&reply, &query);
                issued += 1;
            }
            for (name, value) in headers {
                let request = clinic
                    .server
                    .client
                    .get(format!("{}{base}", clinic.server.url))
                    .bearer_auth(&who.token)
                    .header(name, value);
                let reply = clinic.server.send(request).await;
                check(&reply, &format!(" with {name}: {value}"));
                issued += 1;
            }
            // A forged JSON body on the GET is ignored...
            let request = clinic
                .server
                .client
                .get(format!("{}{base}?moderator=true", clinic.server.url))
                .bearer_auth(&who.token)
                .header("x-moderator", "true")
                .json(&forged);
            let reply = clinic.server.send(request).await;
            check(&reply, " with a forged body");
            issued += 1;
            // ...and no other method answers with a token at all.
            for method in [Method::POST, Method::PUT, Method::PATCH] {
                let reply = clinic
                    .call(method.clone(), &base, Some(who), Some(forged.clone()))
                    .await;
                reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
            }
        }
    }
    // Exactly the 200s were audited, each without moderator.
    let rows = token_audit(&clinic).await;
    assert_eq!(rows.len(), issued);
    assert!(
        rows.iter().all(|row| row["detail"]["moderator"] == false),
        "{rows:?}"
    );
}

#[tokio::test]
async fn the_display_name_is_first_and_last_name_else_the_email() {
    let clinic = Clinic::start().await;
    // Accounts from the password-less demo flow have no names.
    let patient = clinic.newcomer("patient").await;
    let agency = clinic.newcomer("agency").await;
    let appointment = clinic
        .book(
            SOON,
            json!({"patientId": patient.id, "agencyId": agency.id}),
        )
        .await;
    let me = clinic.get("/me", &patient).await;
    assert_eq!(me.data()["firstName"], Value::Null);
    assert_eq!(me.data()["lastName"], Value::Null);
    let expected = Expected {
        who: &patient,
        name: patient.email.clone(),
        moderator: false,
        grace: DEFAULT_GRACE_SECS,
    };
    let reply = clinic.get(&jwt_path(&appointment), &patient).await;
    check_session(&reply, &appointment, &expected);
    let reply = clinic.get(&link_path(&appointment), &patient).await;
    check_link(&reply, &appointment, &expected);

    admit(&clinic, &appointment, &agency).await;
    let expected = Expected {
        who: &agency,
        name: agency.email.clone(),
        moderator: false,
        grace: DEFAULT_GRACE_SECS,
    };
    let reply = clinic.get(&jwt_path(&appointment), &agency).await;
    check_session(&reply, &appointment, &expected);

    // Named accounts: "First Last".
    let doctor = Expected::of(&clinic, &clinic.doctor, true).await;
    assert_eq!(doctor.name, "Ada Lovelace");
    let reply = clinic.get(&jwt_path(&appointment), &clinic.doctor).await;
    check_session(&reply, &appointment, &doctor);
}

#[tokio::test]
async fn tokens_last_until_the_end_plus_the_configured_grace() {
    const GRACE: i64 = 10 * 60;
    let clinic = Clinic::start_with(|config| {
        if let Some(jitsi) = config.jitsi.as_mut() {
            jitsi.grace_secs = GRACE as u64;
        }
    })
    .await;
    let appointment = clinic.book(SOON, json!({})).await;
    let mut patient = Expected::of(&clinic, &clinic.patient, false).await;
    patient.grace = GRACE;
    let reply = clinic.get(&jwt_path(&appointment), &clinic.patient).await;
    check_session(&reply, &appointment, &patient);

    // Over a few minutes ago, within the grace: still a token, until end + grace.
    let now = now_unix();
    set_times(&clinic, &appointment, now - 35 * 60, now - 5 * 60).await;
    let ended = fetch(&clinic, &appointment).await;
    assert_eq!(ended["status"], "scheduled");
    let reply = clinic.get(&jwt_path(&ended), &clinic.patient).await;
    check_session(&reply, &ended, &patient);
    let mut doctor = Expected::of(&clinic, &clinic.doctor, true).await;
    doctor.grace = GRACE;
    let reply = clinic.get(&link_path(&ended), &clinic.doctor).await;
    check_link(&reply, &ended, &doctor);

    // Over for longer than the grace: there is no call to join.
    let now = now_unix();
    set_times(&clinic, &appointment, now - 60 * 60, now - GRACE - 1).await;
    for who in [&clinic.doctor, &clinic.patient, &clinic.admin] {
        clinic
            .get(&jwt_path(&appointment), who)
            .await
            .assert_error(StatusCode::CONFLICT, "conflict");
        clinic
            .get(&link_path(&appointment), who)
            .await
            .assert_error(StatusCode::CONFLICT, "conflict");
    }
    assert_eq!(
        token_audit(&clinic).await.len(),
        3,
        "refusals are not issues"
    );
}

#[tokio::test]
async fn tokens_are_issued_only_from_fifteen_minutes_before_the_start() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(HOUR * 24 * 7, json!({})).await;
    // Days ahead: no token for anyone today, however privileged.
    for who in [&clinic.doctor, &clinic.patient, &clinic.admin] {
        for request in [jwt_path(&appointment), link_path(&appointment)] {
            clinic
                .get(&request, who)
                .await
                .assert_error(StatusCode::CONFLICT, "too_early");
        }
    }
    // Just before the window: still too early; just inside: a token.
    let now = now_unix();
    let start = now + WINDOW_SECS + 60;
    set_times(&clinic, &appointment, start, start + 30 * 60).await;
    clinic
        .get(&jwt_path(&appointment), &clinic.doctor)
        .await
        .assert_error(StatusCode::CONFLICT, "too_early");
    let start = now + WINDOW_SECS - 60;
    set_times(&clinic, &appointment, start, start + 30 * 60).await;
    let moved = fetch(&clinic, &appointment).await;
    let doctor = Expected::of(&clinic, &clinic.doctor, true).await;
    let reply = clinic.get(&jwt_path(&moved), &clinic.doctor).await;
    check_session(&reply, &moved, &doctor);
    assert_eq!(
        token_audit(&clinic).await.len(),
        1,
        "refusals are not issues"
    );

    // A cancelled appointment far ahead has no call at all (its state is checked first).
    let cancelled = clinic.book(HOUR * 24 * 7, json!({})).await;
    clinic
        .call(
            Method::DELETE,
            &format!("/appointments/{}", text(&cancelled, "id")),
            Some(&clinic.doctor),
            None,
        )
        .await
        .data();
    clinic
        .get(&jwt_path(&cancelled), &clinic.patient)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn a_token_never_lives_more_than_a_few_hours() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    // A long appointment running now: exp is capped, not its end plus grace.
    let now = now_unix();
    set_times(&clinic, &appointment, now - 60, now + 12 * 3600).await;
    let reply = clinic.get(&jwt_path(&appointment), &clinic.doctor).await;
    let token = reply.data()["jitsiToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let exp = unix(&reply.data()["expiresAt"]);
    let after = now_unix();
    assert!(
        exp <= after + MAX_LIFETIME_SECS && exp >= now + MAX_LIFETIME_SECS,
        "exp {exp} is about {MAX_LIFETIME_SECS} s from now ({now})"
    );
    let room = text(&appointment, "roomName");
    let verified = verifier()
        .verify(&token, &room, now)
        .expect("a genuine token");
    assert_eq!(
        verified.exp as i64, exp,
        "the claim says what the reply says"
    );
}

#[tokio::test]
async fn strangers_and_agencies_not_yet_admitted_are_refused() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let jwt = jwt_path(&appointment);
    let link = link_path(&appointment);

    // The agency: approval required, also after a rejection.
    for path in [&jwt, &link] {
        clinic
            .get(path, &clinic.agency)
            .await
            .assert_error(StatusCode::FORBIDDEN, "approval_required");
    }
    let asked = clinic
        .post(
            &format!("/appointments/{}/join-requests", text(&appointment, "id")),
            &clinic.agency,
        )
        .await;
    let request_id = text(asked.data(), "id");
    clinic
        .get(&jwt, &clinic.agency)
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");
    clinic
        .post(
            &format!("/join-requests/{request_id}/reject"),
            &clinic.doctor,
        )
        .await
        .data();
    for path in [&jwt, &link] {
        clinic
            .get(path, &clinic.agency)
            .await
            .assert_error(StatusCode::FORBIDDEN, "approval_required");
    }

    // People not on the appointment: 403 for the session token (the contract), 404 for the link
    // (the appointment id names nothing they may know about).
    let other_patient = clinic.newcomer("patient").await;
    let other_doctor = clinic.newcomer("doctor").await;
    let other_agency = clinic.newcomer("agency").await;
    let (other_kiosk, _, _) = new_kiosk(&clinic, "Elsewhere").await;
    for who in [&other_patient, &other_doctor, &other_agency, &other_kiosk] {
        clinic
            .get(&jwt, who)
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
        clinic
            .get(&link, who)
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    // Unknown ids, and no token at all.
    clinic
        .get("/sessions/ses_does_not_exist/jwt", &clinic.doctor)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    clinic
        .get("/meetings/apt_does_not_exist/link", &clinic.doctor)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    // The appointment id is not its session id, and the other way round.
    clinic
        .get(
            &format!("/sessions/{}/jwt", text(&appointment, "id")),
            &clinic.doctor,
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    clinic
        .get(
            &format!("/meetings/{}/link", text(&appointment, "sessionId")),
            &clinic.doctor,
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    for path in [&jwt, &link] {
        clinic
            .call(Method::GET, path, None, None)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        let request = clinic
            .server
            .client
            .get(format!("{}{path}", clinic.server.url))
            .bearer_auth("not-a-token");
        clinic
            .server
            .send(request)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    assert!(token_audit(&clinic).await.is_empty(), "nothing was issued");
}

#[tokio::test]
async fn cancelled_and_ended_appointments_have_no_call() {
    let clinic = Clinic::start().await;
    let (kiosk, _, _) = new_kiosk(&clinic, "Lobby").await;
    let cancelled = clinic.book(SOON, json!({"kioskId": kiosk.id})).await;
    let ended = clinic.book(SOON, json!({"kioskId": kiosk.id})).await;
    // Admitted before the end, so the refusal is the appointment's state, not the lobby.
    admit(&clinic, &ended, &clinic.agency).await;
    let path = |appointment: &Value| format!("/appointments/{}", text(appointment, "id"));

    let reply = clinic
        .call(
            Method::DELETE,
            &path(&cancelled),
            Some(&clinic.doctor),
            None,
        )
        .await;
    assert_eq!(reply.data()["status"], "cancelled");
    clinic
        .post(&format!("{}/meeting/start", path(&ended)), &clinic.doctor)
        .await
        .data();
    // Running: everyone on it joins.
    let running = fetch(&clinic, &ended).await;
    assert_eq!(running["status"], "in_progress");
    for (who, moderator) in [
        (&clinic.doctor, true),
        (&clinic.patient, false),
        (&clinic.agency, false),
        (&kiosk, false),
    ] {
        let expected = Expected::of(&clinic, who, moderator).await;
        let reply = clinic.get(&jwt_path(&running), who).await;
        check_session(&reply, &running, &expected);
    }
    let reply = clinic
        .post(&format!("{}/meeting/end", path(&ended)), &clinic.doctor)
        .await;
    assert_eq!(reply.data()["status"], "completed");
    assert_eq!(reply.data()["meetingStatus"], "ended");
    let issued_before = token_audit(&clinic).await.len();

    for appointment in [&cancelled, &ended] {
        for who in [
            &clinic.doctor,
            &clinic.patient,
            &clinic.agency,
            &kiosk,
            &clinic.admin,
        ] {
            for request in [jwt_path(appointment), link_path(appointment)] {
                let reply = clinic.get(&request, who).await;
                // The agency on the cancelled appointment was never admitted: 403 would be fair
                // too, but the state is checked first.
                reply.assert_error(StatusCode::CONFLICT, "conflict");
            }
        }
    }
    assert_eq!(token_audit(&clinic).await.len(), issued_before);
}

#[tokio::test]
async fn a_server_without_jitsi_answers_503() {
    let clinic = Clinic::start_with(|config| config.jitsi = None).await;
    let appointment = clinic.book(SOON, json!({})).await;
    admit(&clinic, &appointment, &clinic.agency).await;
    for who in [
        &clinic.doctor,
        &clinic.patient,
        &clinic.agency,
        &clinic.admin,
    ] {
        for path in [jwt_path(&appointment), link_path(&appointment)] {
            clinic
                .get(&path, who)
                .await
                .assert_error(StatusCode::SERVICE_UNAVAILABLE, "jitsi_not_configured");
        }
    }
    // Access is still checked first: strangers learn nothing more.
    let stranger = clinic.newcomer("patient").await;
    clinic
        .get(&jwt_path(&appointment), &stranger)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    clinic
        .get(&link_path(&appointment), &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(token_audit(&clinic).await.is_empty());
}

#[tokio::test]
async fn waiting_room_on_patients_and_kiosks_are_admitted_first() {
    let clinic = Clinic::start().await;
    let (kiosk, _, _) = new_kiosk(&clinic, "Exam room 1").await;
    let appointment = clinic
        .book(SOON, json!({"kioskId": kiosk.id, "waitingRoom": true}))
        .await;
    assert_eq!(appointment["waitingRoom"], true);
    for who in [&clinic.patient, &kiosk, &clinic.agency] {
        for path in [jwt_path(&appointment), link_path(&appointment)] {
            clinic
                .get(&path, who)
                .await
                .assert_error(StatusCode::FORBIDDEN, "approval_required");
        }
    }
    // The doctor needs no admission.
    let doctor = Expected::of(&clinic, &clinic.doctor, true).await;
    let reply = clinic.get(&jwt_path(&appointment), &clinic.doctor).await;
    check_session(&reply, &appointment, &doctor);
    for who in [&clinic.patient, &kiosk] {
        admit(&clinic, &appointment, who).await;
        let expected = Expected::of(&clinic, who, false).await;
        let reply = clinic.get(&jwt_path(&appointment), who).await;
        check_session(&reply, &appointment, &expected);
        let reply = clinic
            .get(&format!("{}?moderator=true", link_path(&appointment)), who)
            .await;
        check_link(&reply, &appointment, &expected);
    }
    // The agency is still waiting.
    clinic
        .get(&jwt_path(&appointment), &clinic.agency)
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");
}

#[tokio::test]
async fn meeting_links_carry_a_token_for_the_caller_under_the_same_rules() {
    let clinic = Clinic::start().await;
    let (kiosk, _, _) = new_kiosk(&clinic, "Exam room 2").await;
    let appointment = clinic.book(SOON, json!({"kioskId": kiosk.id})).await;
    clinic
        .get(&link_path(&appointment), &clinic.agency)
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");
    admit(&clinic, &appointment, &clinic.agency).await;
    let mut tokens = Vec::new();
    for (who, moderator) in [
        (&clinic.doctor, true),
        (&clinic.admin, true),
        (&clinic.patient, false),
        (&clinic.agency, false),
        (&kiosk, false),
    ] {
        let expected = Expected::of(&clinic, who, moderator).await;
        let reply = clinic.get(&link_path(&appointment), who).await;
        tokens.push(check_link(&reply, &appointment, &expected));
    }
    let mut distinct = tokens.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), tokens.len(), "a token per person");
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else if path.is_file() {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn every_issue_is_audited_and_no_token_is_kept() {
    let clinic = Clinic::start().await;
    let (kiosk, _, _) = new_kiosk(&clinic, "Exam room 4").await;
    let appointment = clinic.book(SOON, json!({"kioskId": kiosk.id})).await;
    admit(&clinic, &appointment, &clinic.agency).await;
    let mut tokens = Vec::new();
    let mut expected_rows = Vec::new();
    for (who, moderator) in [
        (&clinic.doctor, true),
        (&clinic.patient, false),
        (&clinic.agency, false),
        (&kiosk, false),
        (&clinic.admin, true),
    ] {
        let expected = Expected::of(&clinic, who, moderator).await;
        let reply = clinic.get(&jwt_path(&appointment), who).await;
        tokens.push(check_session(&reply, &appointment, &expected));
        expected_rows.push((who.id.clone(), moderator));
        let reply = clinic.get(&link_path(&appointment), who).await;
        tokens.push(check_link(&reply, &appointment, &expected));
        expected_rows.push((who.id.clone(), moderator));
    }
    // Refusals are not issues.
    let stranger = clinic.newcomer("patient").await;
    clinic
        .get(&jwt_path(&appointment), &stranger)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    let rows = token_audit(&clinic).await;
    let found: Vec<(String, bool)> = rows
        .iter()
        .rev()
        .map(|row| {
            assert_eq!(row["action"], "jitsi.token_issued");
            assert_eq!(row["detail"]["appointmentId"], appointment["id"], "{row}");
            assert!(row["at"].is_string(), "{row}");
            (
                text(row, "actorUserId"),
                row["detail"]["moderator"].as_bool().expect("moderator"),
            )
        })
        .collect();
    assert_eq!(found, expected_rows, "one row per issue, oldest first");

    // No token in the trail, in the database or anywhere in the data directory. The parts of
    // the token are looked for too: the signature alone is the secret part.
    let trail = clinic.get("/audit?limit=1000", &clinic.admin).await;
    let trail = trail.body.to_string();
    let stored = stored_values(&clinic.server.db().await).await;
    let files: Vec<(String, Vec<u8>)> = files_under(&clinic.server.data_dir)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_default();
            (path.display().to_string(), bytes)
        })
        .collect();
    assert!(!files.is_empty() || crate::common::backend() == crate::common::Backend::Postgres);
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap_or(token);
        assert!(signature.len() >= 40, "an HS256 signature");
        for needle in [token.as_str(), signature] {
            assert!(!trail.contains(needle), "a token in the audit trail");
            for (column, value) in &stored {
                assert!(!value.contains(needle), "a token in {column}");
            }
            for (path, bytes) in &files {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "a token in {path}"
                );
            }
        }
    }
}
