//! Property-based fuzzing of the whole API against one running server per test: arbitrary
//! bodies (wrong types, unknown fields, deep nesting, huge strings, random and non-UTF-8 bytes,
//! odd content types), arbitrary path ids (random, percent-encoded junk, very long, ids of the
//! wrong kind), arbitrary `Authorization` headers (garbage, `alg: none`, other keys, wrong
//! audience or issuer, expired, tampered claims) and query strings.
//!
//! Properties, for every request:
//! - never a 5xx;
//! - every 4xx is the contract's error envelope (`{"success": false, "error": {code, message}}`,
//!   JSON, the code that belongs to the status), every 2xx its success envelope;
//! - a bad token on an endpoint that needs one is a 401 with the right code;
//! - a request that failed wrote nothing: the database (every value of every table, and the
//!   audit trail by action, failed logins aside) is the same after it as before.
//!
//! After the run, the counts an administrator sees through the API (appointments, join requests,
//! accounts) equal the ones before plus exactly what the successful requests created.
//!
//! proptest's runner is synchronous, so each test owns a multi-threaded runtime: the server runs
//! on its workers and every case is one `block_on`.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestCaseResult};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use sqlx::AnyPool;

use crate::clinic::{self, rfc3339, Actor, Clinic};
use crate::common::{self, proptest_runner, DEMO_PASSWORD, DOCTOR, PATIENT, SIGNING_KEY};

/// Cases per property: enough to reach every route, auth kind and body kind many times over,
/// few enough that a property runs in seconds on either backend.
const CASES: u32 = 128;
/// Appointments start this far ahead, so no reminder falls due (and writes) during the run.
const IN_THREE_DAYS: Duration = Duration::from_secs(3 * 24 * 3600);
/// A request that takes longer than this is a hang, and fails the case.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Routes

/// Which known id a `{…}` placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Appointment,
    Session,
    JoinRequest,
    Notification,
    User,
}

const SLOTS: [Slot; 5] = [
    Slot::Appointment,
    Slot::Session,
    Slot::JoinRequest,
    Slot::Notification,
    Slot::User,
];

/// The valid body a route's mutations start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Template {
    Empty,
    Login,
    DeviceLogin,
    Refresh,
    RegisterOrLogin,
    NewAppointment,
    PatchAppointment,
    NewUser,
    NewDevice,
}

#[derive(Debug)]
struct Route {
    method: &'static str,
    /// With at most one `{slot}` placeholder.
    path: &'static str,
    slot: Option<Slot>,
    /// Answers 401 to a missing or bad token before looking at anything else.
    needs_auth: bool,
    template: Template,
}

const fn route(
    method: &'static str,
    path: &'static str,
    slot: Option<Slot>,
    needs_auth: bool,
    template: Template,
) -> Route {
    Route {
        method,
        path,
        slot,
        needs_auth,
        template,
    }
}

use Slot::{Appointment as A, JoinRequest as J, Notification as N, Session as S, User as U};

const ROUTES: &[Route] = &[
    route("POST", "/auth/login", None, false, Template::Login),
    route(
        "POST",
        "/auth/device-login",
        None,
        false,
        Template::DeviceLogin,
    ),
    route("POST", "/auth/refresh", None, false, Template::Refresh),
    route(
        "POST",
        "/auth/register-or-login",
        None,
        false,
        Template::RegisterOrLogin,
    ),
    route("POST", "/auth/logout", None, true, Template::Empty),
    route("GET", "/me", None, true, Template::Empty),
    route("GET", "/appointments", None, true, Template::Empty),
    route(
        "POST",
        "/appointments",
        None,
        true,
        Template::NewAppointment,
    ),
    route("GET", "/appointments/{}", Some(A), true, Template::Empty),
    route(
        "PATCH",
        "/appointments/{}",
        Some(A),
        true,
        Template::PatchAppointment,
    ),
    route("DELETE", "/appointments/{}", Some(A), true, Template::Empty),
    route(
        "POST",
        "/appointments/{}/meeting/start",
        Some(A),
        true,
        Template::Empty,
    ),
    route(
        "POST",
        "/appointments/{}/meeting/end",
        Some(A),
        true,
        Template::Empty,
    ),
    route(
        "GET",
        "/appointments/{}/join-requests",
        Some(A),
        true,
        Template::Empty,
    ),
    route(
        "POST",
        "/appointments/{}/join-requests",
        Some(A),
        true,
        Template::Empty,
    ),
    route("GET", "/join-requests/{}", Some(J), true, Template::Empty),
    route(
        "POST",
        "/join-requests/{}/approve",
        Some(J),
        true,
        Template::Empty,
    ),
    route(
        "POST",
        "/join-requests/{}/reject",
        Some(J),
        true,
        Template::Empty,
    ),
    route(
        "POST",
        "/join-requests/{}/withdraw",
        Some(J),
        true,
        Template::Empty,
    ),
    route("GET", "/sessions/{}/jwt", Some(S), true, Template::Empty),
    route("GET", "/meetings/{}/link", Some(A), true, Template::Empty),
    route("GET", "/notifications", None, true, Template::Empty),
    route(
        "POST",
        "/notifications/{}/read",
        Some(N),
        true,
        Template::Empty,
    ),
    route("GET", "/events", None, true, Template::Empty),
    route("POST", "/users", None, true, Template::NewUser),
    route("GET", "/users", None, true, Template::Empty),
    route("POST", "/users/{}/disable", Some(U), true, Template::Empty),
    route("POST", "/users/{}/enable", Some(U), true, Template::Empty),
    route("POST", "/devices", None, true, Template::NewDevice),
    route("GET", "/devices", None, true, Template::Empty),
    route("GET", "/audit", None, true, Template::Empty),
    route("GET", "/health", None, false, Template::Empty),
    route("GET", "/openapi.json", None, false, Template::Empty),
];

fn json_routes() -> Vec<usize> {
    (0..ROUTES.len())
        .filter(|&i| ROUTES[i].template != Template::Empty)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Cases

#[derive(Debug, Clone)]
enum PathId {
    /// The known id of the route's kind.
    Known,
    /// A known id of another kind (a session id where an appointment id belongs, …).
    OtherKind(usize),
    /// A known id with something appended (already encoded).
    KnownWithSuffix(String),
    /// A segment as sent, already percent-encoded where needed.
    Raw(String),
}

#[derive(Debug, Clone)]
enum Forgery {
    AlgNone,
    WrongKey,
    WrongAudience,
    WrongIssuer,
    Expired,
    Hs512,
    StringExp,
    Missing(&'static str),
    /// Signed with the server's key, but naming a session or user that does not exist.
    ForeignSubject(String),
    ForeignSession(String),
    /// Arbitrary claims, signed with the server's key.
    ArbitraryClaims(Value),
    /// A genuine token with its payload swapped and the signature kept.
    SwappedPayload,
    Truncated(usize),
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    /// A genuine token of actor n (0 doctor, 1 patient, 2 agency, 3 admin).
    Valid(usize),
    /// A header value as text.
    Text(String),
    /// A header value with bytes that are not visible ASCII (`to_str` fails on the server).
    Bytes(Vec<u8>),
    Forged(usize, Forgery),
}

impl Auth {
    fn is_valid(&self) -> bool {
        matches!(self, Auth::Valid(_))
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Unchanged,
    Drop(usize),
    Set(usize, Value),
    Add(String, Value),
    Whole(Value),
    Nest(usize, usize),
    HugeField(usize, usize),
}

#[derive(Debug, Clone)]
enum BodyKind {
    /// The route's valid body, changed a little.
    Mutated(Mutation),
    /// Any JSON value.
    Value(Value),
    /// Any bytes.
    Bytes(Vec<u8>),
    /// `n` nested arrays or objects, closed or not.
    Deep {
        depth: usize,
        objects: bool,
        closed: bool,
    },
    /// A JSON string of `n` bytes, inside an object or alone.
    Huge(usize),
    /// Text that is JSON-ish but not quite, or JSON with hostile escapes.
    Snippet(&'static str),
    /// A string field holding these raw (possibly invalid UTF-8) bytes.
    RawString(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Body {
    content_type: Option<String>,
    kind: BodyKind,
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    /// Another method on the route's path, for 405s.
    method: Option<&'static str>,
    id: PathId,
    query: Option<String>,
    auth: Auth,
    body: Option<Body>,
    last_event_id: Option<String>,
}

const JUNK_SEGMENTS: &[&str] = &[
    "%",
    "%%",
    "%zz",
    "%FF",
    "%ff%fe",
    "%00",
    "a%00b",
    "%C0%AF",
    "%ED%A0%80",
    "%2F",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    ".",
    "..",
    "%20",
    "a%20b",
    "'%20OR%20'1'%3D'1",
    "%22%3B%20DROP%20TABLE%20users%3B--",
    "null",
    "0",
    "-1",
    "9223372036854775808",
    "apt_",
    "%E2%80%AE",
    "%F0%9F%92%A9",
    "~",
    "*",
    "%3Cscript%3E",
];

const SNIPPETS: &[&str] = &[
    "",
    " ",
    "{",
    "}",
    "[",
    "{\"email\":",
    "{\"email\":\"a\",}",
    "{'email':'a'}",
    "{\"email\":\"a\"} trailing",
    "{\"email\":\"a\"}{\"email\":\"b\"}",
    "null",
    "true",
    "0",
    "-0",
    "1e999999",
    "-1e999999",
    "123456789012345678901234567890",
    "\"just a string\"",
    "[]",
    "{}",
    "{\"email\":\"\\ud800\"}",
    "{\"email\":\"\\udc00\\ud800\"}",
    "{\"email\":\"\\u0000\",\"password\":\"\\u0000\"}",
    "{\"email\":\"a\\u0000b@demo.clinic\",\"password\":\"x\"}",
    "{\"refreshToken\":\"\\u0000\"}",
    "{\"deviceId\":\"\\u0000\",\"deviceSecret\":\"\\u0000\"}",
    "{\"location\":\"\\u0000\"}",
    "{\"email\":\"a\",\"email\":\"b\",\"password\":\"c\"}",
    "{\"email\":1e400,\"password\":\"c\"}",
    "{\"__proto__\":{\"admin\":true}}",
    "\u{feff}{\"email\":\"a\",\"password\":\"b\"}",
    "{\"email\":\"a\" /* comment */ ,\"password\":\"b\"}",
    "NaN",
    "Infinity",
];

/// Field names of the API's bodies, so random objects hit real fields with wrong values.
const FIELD_NAMES: &[&str] = &[
    "email",
    "password",
    "deviceId",
    "deviceSecret",
    "refreshToken",
    "userId",
    "role",
    "doctorId",
    "patientId",
    "agencyId",
    "kioskId",
    "startTime",
    "endTime",
    "callType",
    "waitingRoom",
    "firstName",
    "lastName",
    "location",
    "name",
    "status",
    "id",
];

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-zA-Z0-9@._+-]{0,40}",
        1 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
        1 => Just("\u{0}".to_owned()),
        1 => Just("doctor@demo.clinic".to_owned()),
        1 => Just("2030-01-01T09:00:00Z".to_owned()),
        1 => Just("1970-01-01T00:00:00+14:00".to_owned()),
        1 => Just("9999-12-31T23:59:59Z".to_owned()),
        1 => Just("0000-01-01T00:00:00Z".to_owned()),
        1 => prop::sample::select(&["video", "audio", "admin", "kiosk", "doctor", "patient", "agency"][..])
            .prop_map(str::to_owned),
        1 => (1usize..3000).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(&[0i64, -1, 1, i64::MAX, i64::MIN][..]).prop_map(Value::from),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(
                prop_oneof![
                    2 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
                    1 => any::<String>(),
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        3 => Just(Mutation::Unchanged),
        2 => any::<usize>().prop_map(Mutation::Drop),
        4 => (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Set(i, v)),
        2 => (
            prop_oneof![
                prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
                any::<String>()
            ],
            json_value()
        )
            .prop_map(|(k, v)| Mutation::Add(k, v)),
        1 => json_value().prop_map(Mutation::Whole),
        1 => (any::<usize>(), 1usize..400).prop_map(|(i, d)| Mutation::Nest(i, d)),
        1 => (any::<usize>(), prop_oneof![1000usize..70_000, Just(63 * 1024), Just(65 * 1024)])
            .prop_map(|(i, n)| Mutation::HugeField(i, n)),
    ]
    .boxed()
}

fn body_kind() -> BoxedStrategy<BodyKind> {
    prop_oneof![
        6 => mutation().prop_map(BodyKind::Mutated),
        3 => json_value().prop_map(BodyKind::Value),
        2 => vec(any::<u8>(), 0..512).prop_map(BodyKind::Bytes),
        1 => (1usize..40_000, any::<bool>(), any::<bool>())
            .prop_map(|(depth, objects, closed)| BodyKind::Deep { depth, objects, closed }),
        1 => prop_oneof![1usize..70_000, Just(64 * 1024), Just(64 * 1024 + 1), 100_000usize..300_000]
            .prop_map(BodyKind::Huge),
        2 => prop::sample::select(SNIPPETS).prop_map(BodyKind::Snippet),
        1 => vec(any::<u8>(), 1..32).prop_map(BodyKind::RawString),
    ]
    .boxed()
}

fn content_type() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        10 => Just(Some("application/json".to_owned())),
        1 => Just(Some("application/json; charset=utf-8".to_owned())),
        1 => Just(Some("application/merge-patch+json".to_owned())),
        1 => Just(Some("text/plain".to_owned())),
        1 => Just(Some("application/x-www-form-urlencoded".to_owned())),
        1 => Just(None),
        1 => "[ -~]{0,40}".prop_map(Some),
    ]
    .boxed()
}

fn body() -> BoxedStrategy<Body> {
    (content_type(), body_kind())
        .prop_map(|(content_type, kind)| Body { content_type, kind })
        .boxed()
}

fn path_id() -> BoxedStrategy<PathId> {
    prop_oneof![
        4 => Just(PathId::Known),
        1 => (0..SLOTS.len()).prop_map(PathId::OtherKind),
        1 => prop_oneof![
            any::<String>().prop_map(|s| percent_encode(s.as_bytes())),
            prop::sample::select(JUNK_SEGMENTS).prop_map(str::to_owned),
        ]
        .prop_map(PathId::KnownWithSuffix),
        2 => any::<String>().prop_map(|s| PathId::Raw(percent_encode(s.as_bytes()))),
        2 => vec(any::<u8>(), 0..24).prop_map(|b| PathId::Raw(percent_encode(&b))),
        3 => prop::sample::select(JUNK_SEGMENTS).prop_map(|s| PathId::Raw(s.to_owned())),
        1 => prop_oneof![1usize..600, 2000usize..9000].prop_map(|n| PathId::Raw("a".repeat(n))),
        1 => "[a-z]{3}_[0-9a-f]{0,40}".prop_map(PathId::Raw),
    ]
    .boxed()
}

fn forgery() -> BoxedStrategy<Forgery> {
    prop_oneof![
        Just(Forgery::AlgNone),
        Just(Forgery::WrongKey),
        Just(Forgery::WrongAudience),
        Just(Forgery::WrongIssuer),
        Just(Forgery::Expired),
        Just(Forgery::Hs512),
        Just(Forgery::StringExp),
        prop::sample::select(&["exp", "iat", "iss", "aud", "sub", "sid", "role"][..])
            .prop_map(Forgery::Missing),
        text().prop_map(Forgery::ForeignSubject),
        text().prop_map(Forgery::ForeignSession),
        json_value().prop_map(Forgery::ArbitraryClaims),
        Just(Forgery::SwappedPayload),
        (0usize..200).prop_map(Forgery::Truncated),
    ]
    .boxed()
}

fn auth() -> BoxedStrategy<Auth> {
    prop_oneof![
        2 => Just(Auth::None),
        6 => (0usize..4).prop_map(Auth::Valid),
        1 => "[ -~]{0,80}".prop_map(Auth::Text),
        1 => "(Bearer|bearer|BEARER|Basic|Token|JWT) [ -~]{0,80}".prop_map(Auth::Text),
        1 => Just(Auth::Text("Bearer".to_owned())),
        1 => Just(Auth::Text("Bearer    ".to_owned())),
        1 => vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 1..60).prop_map(|mut b| {
            b.splice(0..0, b"Bearer ".iter().copied());
            Auth::Bytes(b)
        }),
        5 => (0usize..4, forgery()).prop_map(|(who, how)| Auth::Forged(who, how)),
    ]
    .boxed()
}

fn query() -> BoxedStrategy<Option<String>> {
    let pair = (
        prop_oneof![
            prop::sample::select(&["from", "to", "status", "action", "limit", "unread"][..])
                .prop_map(str::to_owned),
            any::<String>().prop_map(|s| percent_encode(s.as_bytes())),
        ],
        prop_oneof![
            any::<String>().prop_map(|s| percent_encode(s.as_bytes())),
            prop::sample::select(JUNK_SEGMENTS).prop_map(str::to_owned),
            prop::sample::select(
                &[
                    "pending",
                    "approved",
                    "true",
                    "0",
                    "1001",
                    "2030-01-01T00:00:00Z",
                    "2030-01-01T00:00:00+01:00",
                ][..]
            )
            .prop_map(str::to_owned),
        ],
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    prop_oneof![
        3 => Just(None),
        1 => vec(pair, 0..4).prop_map(|pairs| Some(pairs.join("&"))),
        1 => prop::sample::select(JUNK_SEGMENTS).prop_map(|s| Some(s.to_owned())),
    ]
    .boxed()
}

fn other_method() -> BoxedStrategy<Option<&'static str>> {
    prop_oneof![
        8 => Just(None),
        1 => prop::sample::select(&["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"][..]).prop_map(Some),
    ]
    .boxed()
}

/// Requests aimed at bodies: the JSON routes, mostly with genuine tokens so bodies get read.
fn body_case() -> BoxedStrategy<Case> {
    let routes = json_routes();
    (
        prop::sample::select(routes),
        prop_oneof![
            8 => (0usize..4).prop_map(Auth::Valid),
            1 => Just(Auth::None),
            1 => (0usize..4, forgery()).prop_map(|(who, how)| Auth::Forged(who, how)),
        ],
        body(),
        prop_oneof![6 => Just(PathId::Known), 1 => path_id()],
    )
        .prop_map(|(route, auth, body, id)| Case {
            route,
            method: None,
            id,
            query: None,
            auth,
            body: Some(body),
            last_event_id: None,
        })
        .boxed()
}

/// Requests aimed at routing, ids, tokens and query strings, on every route.
fn request_case() -> BoxedStrategy<Case> {
    (
        0..ROUTES.len(),
        other_method(),
        path_id(),
        query(),
        auth(),
        prop::option::weighted(0.3, body()),
        prop::option::weighted(
            0.3,
            prop_oneof![
                "[0-9]{1,25}",
                "-[0-9]{1,5}",
                "[ -~]{0,30}",
                Just("9223372036854775807".to_owned())
            ],
        ),
    )
        .prop_map(
            |(route, method, id, query, auth, body, last_event_id)| Case {
                route,
                method,
                id,
                query,
                auth,
                body,
                last_event_id,
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// The server and what the run has seen

struct Fixture {
    clinic: Clinic,
    actors: [Actor; 4],
    /// A session of the patient's that `/auth/logout` may end without hurting the other cases.
    expendable: String,
    ids: [String; 5],
    db: AnyPool,
    /// The database as the last case left it.
    state: Mutex<Vec<(String, String)>>,
    seen: Mutex<Seen>,
}

/// What successful requests created, to reconcile the counts at the end.
#[derive(Default)]
struct Seen {
    appointments_booked: usize,
    join_requests: BTreeSet<String>,
    users: BTreeSet<String>,
    successes: usize,
    failures: usize,
    /// How many answers had each status, printed at the end to show what the run reached.
    statuses: std::collections::BTreeMap<u16, usize>,
}

/// What an administrator sees through the API.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    appointments: usize,
    join_requests: BTreeSet<String>,
    users: BTreeSet<String>,
}

impl Fixture {
    async fn start() -> Fixture {
        let clinic = Clinic::start().await;
        let appointment = clinic.book(IN_THREE_DAYS, json!({})).await;
        let appointment_id = appointment["id"].as_str().expect("id").to_owned();
        let session_id = appointment["sessionId"].as_str().expect("sid").to_owned();
        let request = clinic
            .post(
                &format!("/appointments/{appointment_id}/join-requests"),
                &clinic.agency,
            )
            .await;
        let join_request_id = request.data()["id"].as_str().expect("id").to_owned();
        let notifications = clinic.get("/notifications", &clinic.doctor).await;
        let notification_id = notifications.data()[0]["id"]
            .as_str()
            .expect("a notification")
            .to_owned();
        // Disabling and enabling lands on a bystander, not on an account the cases use.
        let bystander = clinic.newcomer("patient").await;
        let expendable = clinic::sign_in(&clinic.server, PATIENT).await.token;
        let actors = [
            clinic.doctor.clone(),
            clinic.patient.clone(),
            clinic.agency.clone(),
            clinic.admin.clone(),
        ];
        let db = clinic.server.db().await;
        let state = snapshot(&db).await;
        Fixture {
            actors,
            expendable,
            ids: [
                appointment_id,
                session_id,
                join_request_id,
                notification_id,
                bystander.id,
            ],
            db,
            state: Mutex::new(state),
            seen: Mutex::new(Seen::default()),
            clinic,
        }
    }

    fn known(&self, slot: Slot) -> &str {
        let index = SLOTS.iter().position(|s| *s == slot).expect("slot");
        &self.ids[index]
    }

    async fn counts(&self) -> Counts {
        let admin = &self.clinic.admin;
        let appointments = self.clinic.get("/appointments", admin).await;
        let appointments = appointments.data().as_array().expect("list").clone();
        let mut join_requests = BTreeSet::new();
        for appointment in &appointments {
            let id = appointment["id"].as_str().expect("id");
            let listed = self
                .clinic
                .get(&format!("/appointments/{id}/join-requests"), admin)
                .await;
            for request in listed.data().as_array().expect("list") {
                join_requests.insert(request["id"].as_str().expect("id").to_owned());
            }
        }
        let users = self.clinic.get("/users", admin).await;
        let users = users
            .data()
            .as_array()
            .expect("list")
            .iter()
            .map(|u| u["id"].as_str().expect("id").to_owned())
            .collect();
        Counts {
            appointments: appointments.len(),
            join_requests,
            users,
        }
    }

    fn token(&self, who: usize) -> &str {
        &self.actors[who].token
    }

    fn path(&self, case: &Case) -> String {
        let route = &ROUTES[case.route];
        let mut path = match route.slot {
            None => route.path.to_owned(),
            Some(slot) => {
                let segment = match &case.id {
                    PathId::Known => self.known(slot).to_owned(),
                    PathId::OtherKind(i) => self.ids[*i % self.ids.len()].clone(),
                    PathId::KnownWithSuffix(suffix) => format!("{}{suffix}", self.known(slot)),
                    PathId::Raw(raw) => raw.clone(),
                };
                route.path.replace("{}", &segment)
            }
        };
        if let Some(query) = &case.query {
            path.push('?');
            path.push_str(query);
        }
        path
    }

    /// Whether the path certainly matches the route's pattern (one plain segment for the id).
    fn plainly_routed(&self, case: &Case) -> bool {
        match &case.id {
            _ if ROUTES[case.route].slot.is_none() => true,
            PathId::Known | PathId::OtherKind(_) => true,
            PathId::KnownWithSuffix(s) | PathId::Raw(s) => {
                let segment = match &case.id {
                    PathId::KnownWithSuffix(_) => format!("x{s}"),
                    _ => s.clone(),
                };
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && !segment.to_ascii_lowercase().contains("%2e")
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_~".contains(&b))
            }
        }
    }

    fn authorization(&self, case: &Case) -> Option<HeaderValue> {
        let route = &ROUTES[case.route];
        let text = match &case.auth {
            Auth::None => return None,
            // Logging out would end a session the other cases use.
            Auth::Valid(_) if route.path == "/auth/logout" => format!("Bearer {}", self.expendable),
            Auth::Valid(who) => format!("Bearer {}", self.token(*who)),
            Auth::Text(text) => text.clone(),
            Auth::Bytes(bytes) => return HeaderValue::from_bytes(bytes).ok(),
            Auth::Forged(who, how) => format!("Bearer {}", forge(self.token(*who), how)),
        };
        HeaderValue::from_str(&text).ok()
    }

    fn body_bytes(&self, case: &Case) -> Option<(Option<String>, Vec<u8>)> {
        let body = case.body.as_ref()?;
        let bytes = match &body.kind {
            BodyKind::Mutated(mutation) => {
                let template = self.template(ROUTES[case.route].template);
                serde_json::to_vec(&mutate(template, mutation)).expect("json")
            }
            BodyKind::Value(value) => serde_json::to_vec(value).expect("json"),
            BodyKind::Bytes(bytes) => bytes.clone(),
            BodyKind::Deep {
                depth,
                objects,
                closed,
            } => {
                let (open, close) = if *objects {
                    ("{\"a\":", "}")
                } else {
                    ("[", "]")
                };
                let mut text = open.repeat(*depth);
                text.push('1');
                if *closed {
                    text.push_str(&close.repeat(*depth));
                }
                text.into_bytes()
            }
            BodyKind::Huge(n) => {
                let mut text = b"{\"email\":\"".to_vec();
                text.extend(vec![b'a'; *n]);
                text.extend_from_slice(b"\",\"password\":\"x\"}");
                text
            }
            BodyKind::Snippet(snippet) => snippet.as_bytes().to_vec(),
            BodyKind::RawString(raw) => {
                let mut text = b"{\"email\":\"".to_vec();
                text.extend(raw);
                text.extend_from_slice(b"\",\"password\":\"x\",\"location\":\"");
                text.extend(raw);
                text.extend_from_slice(b"\"}");
                text
            }
        };
        Some((body.content_type.clone(), bytes))
    }

    /// A body the route accepts (given the right caller).
    fn template(&self, template: Template) -> Value {
        let start = time::OffsetDateTime::now_utc() + IN_THREE_DAYS;
        let suffix = clinic::unique();
        match template {
            Template::Empty => json!({}),
            Template::Login => json!({"email": DOCTOR, "password": DEMO_PASSWORD}),
            Template::DeviceLogin => {
                json!({"deviceId": "dev_demo_kiosk", "deviceSecret": "consult-demo-kiosk"})
            }
            // Never a genuine refresh token: reusing one legitimately revokes its family with a
            // 401, a write this property would have to excuse.
            Template::Refresh => json!({"refreshToken": format!("rt_fuzz_{suffix}")}),
            Template::RegisterOrLogin => json!({
                "userId": format!("fuzz-{suffix}"),
                "email": format!("fuzz-{suffix}@demo.clinic"),
                "role": "agency",
            }),
            Template::NewAppointment => json!({
                "doctorId": self.actors[0].id,
                "patientId": self.actors[1].id,
                "agencyId": self.actors[2].id,
                "startTime": rfc3339(start),
                "endTime": rfc3339(start + Duration::from_secs(1800)),
                "callType": "audio",
                "waitingRoom": false,
            }),
            Template::PatchAppointment => json!({
                "startTime": rfc3339(start),
                "endTime": rfc3339(start + Duration::from_secs(2400)),
                "callType": "video",
                "waitingRoom": false,
                "agencyId": self.actors[2].id,
            }),
            Template::NewUser => json!({
                "email": format!("fuzz-{suffix}@clinic.test"),
                "password": "a-long-enough-password",
                "firstName": "Fuzz",
                "lastName": "Case",
                "role": "patient",
            }),
            Template::NewDevice => json!({"location": "Fuzz room", "name": "Tablet"}),
        }
    }

    /// Sends one case and checks every property; returns a failure description.
    async fn check(&self, case: &Case) -> TestCaseResult {
        let route = &ROUTES[case.route];
        let method_name = case.method.unwrap_or(route.method);
        let method = Method::from_bytes(method_name.as_bytes()).expect("method");
        let url = format!("{}{}", self.clinic.server.url, self.path(case));
        let Ok(url) = reqwest::Url::parse(&url) else {
            return Err(TestCaseError::reject("not a URL"));
        };
        let mut request = self
            .clinic
            .server
            .client
            .request(method.clone(), url.clone())
            .timeout(REQUEST_TIMEOUT);
        if let Some(value) = self.authorization(case) {
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(id) = &case.last_event_id {
            request = request.header("last-event-id", id.as_str());
        }
        if let Some((content_type, bytes)) = self.body_bytes(case) {
            if let Some(content_type) = content_type {
                if let Ok(value) = HeaderValue::from_str(&content_type) {
                    request = request.header(CONTENT_TYPE, value);
                }
            }
            request = request.body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|error| fail(format!("{method} {url}: no answer: {error}")))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let what = format!("{method} {url} → {status}");
        if status.is_server_error() {
            let body = response.text().await.unwrap_or_default();
            return Err(fail(format!("{what}: a server error: {body}")));
        }
        let streaming = status.is_success() && route.path == "/events" && method == Method::GET;
        let body: Value = if streaming || method == Method::HEAD {
            drop(response);
            Value::Null
        } else {
            let bytes = response
                .bytes()
                .await
                .map_err(|error| fail(format!("{what}: body: {error}")))?;
            serde_json::from_slice(&bytes).map_err(|_| {
                fail(format!(
                    "{what}: not JSON ({content_type}): {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                ))
            })?
        };

        if status.is_client_error() {
            check_error_envelope(&what, status, &content_type, &body)?;
        } else if status.is_success() && !streaming && route.path != "/openapi.json" {
            prop_assert_eq!(&body["success"], &json!(true), "{}: {}", what, body);
            prop_assert!(body.get("data").is_some(), "{}: {}", what, body);
            prop_assert!(body.get("error").is_none(), "{}: {}", what, body);
        } else if !status.is_success() {
            return Err(fail(format!("{what}: neither success nor a client error")));
        }

        // A bad token on an endpoint that needs one is refused before anything else.
        if route.needs_auth
            && !case.auth.is_valid()
            && case.method.is_none()
            && self.plainly_routed(case)
        {
            prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {}", what, body);
        }
        if status == StatusCode::UNAUTHORIZED && route.needs_auth && case.method.is_none() {
            let code = body["error"]["code"].as_str().unwrap_or_default();
            let expected: &[&str] = match &case.auth {
                Auth::None => &["unauthenticated"],
                Auth::Forged(_, Forgery::Expired) => &["token_expired"],
                Auth::Forged(..) => &["invalid_token"],
                _ => &["unauthenticated", "invalid_token"],
            };
            prop_assert!(
                expected.contains(&code),
                "{}: expected {:?}, got {}",
                what,
                expected,
                body
            );
        }

        self.check_state(&what, status, method_name, route, &body)
            .await
    }

    /// Failed requests leave the database as it was; successes are tallied.
    async fn check_state(
        &self,
        what: &str,
        status: StatusCode,
        method: &str,
        route: &Route,
        body: &Value,
    ) -> TestCaseResult {
        let after = snapshot(&self.db).await;
        let mut state = self.state.lock().expect("state");
        let mut seen = self.seen.lock().expect("seen");
        *seen.statuses.entry(status.as_u16()).or_default() += 1;
        if status.is_success() {
            seen.successes += 1;
            let data = &body["data"];
            match (method, route.path) {
                ("POST", "/appointments") => seen.appointments_booked += 1,
                ("POST", "/appointments/{}/join-requests") => {
                    seen.join_requests
                        .insert(data["id"].as_str().unwrap_or_default().to_owned());
                }
                ("POST", "/users") => {
                    seen.users
                        .insert(data["id"].as_str().unwrap_or_default().to_owned());
                }
                ("POST", "/devices") | (_, "/auth/register-or-login") => {
                    seen.users
                        .insert(data["user"]["id"].as_str().unwrap_or_default().to_owned());
                }
                _ => {}
            }
            *state = after;
            return Ok(());
        }
        seen.failures += 1;
        if *state != after {
            let before: BTreeSet<_> = state.iter().collect();
            let now: BTreeSet<_> = after.iter().collect();
            let gone: Vec<_> = before.difference(&now).take(10).collect();
            let new: Vec<_> = now.difference(&before).take(10).collect();
            let message = format!(
                "{what} failed but changed the database: gone {gone:?}, new {new:?}: {body}"
            );
            // The next case compares with what is there now.
            *state = after;
            return Err(fail(message));
        }
        Ok(())
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// The contract's failure envelope, with the code that belongs to the status.
fn check_error_envelope(
    what: &str,
    status: StatusCode,
    content_type: &str,
    body: &Value,
) -> TestCaseResult {
    prop_assert!(
        content_type.starts_with("application/json"),
        "{}: content type {:?}: {}",
        what,
        content_type,
        body
    );
    let object = body
        .as_object()
        .ok_or_else(|| fail(format!("{what}: not an object: {body}")))?;
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    prop_assert_eq!(
        keys,
        BTreeSet::from(["error", "success"]),
        "{}: {}",
        what,
        body
    );
    prop_assert_eq!(&body["success"], &json!(false), "{}: {}", what, body);
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    prop_assert!(!message.trim().is_empty(), "{}: no message: {}", what, body);
    let expected: &[&str] = match status.as_u16() {
        400 | 415 => &["malformed_request"],
        401 => &[
            "unauthenticated",
            "invalid_token",
            "token_expired",
            "invalid_credentials",
            "refresh_token_reused",
        ],
        403 => &["forbidden", "approval_required"],
        404 => &["not_found"],
        405 => &["method_not_allowed"],
        409 => &["conflict", "too_early"],
        413 => &["payload_too_large"],
        422 => &["invalid_value"],
        429 => &["rate_limited"],
        _ => &[],
    };
    prop_assert!(
        expected.contains(&code),
        "{}: code {:?} does not belong to the status: {}",
        what,
        code,
        body
    );
    Ok(())
}

/// Every stored value but the audit trail, plus the audit trail counted by action with failed
/// logins left out (recording those is what a failed login is supposed to do), sorted.
async fn snapshot(db: &AnyPool) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = common::stored_values(db)
        .await
        .into_iter()
        .filter(|(column, _)| !column.starts_with("audit_events."))
        .collect();
    let actions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, COUNT(*) FROM audit_events \
         WHERE action NOT IN ('auth.login_failed', 'auth.rate_limited') GROUP BY action",
    )
    .fetch_all(db)
    .await
    .expect("audit counts");
    values.extend(
        actions
            .into_iter()
            .map(|(action, count)| (format!("audit:{action}"), count.to_string())),
    );
    values.sort();
    values
}

// ---------------------------------------------------------------------------------------------
// Bodies and tokens

fn mutate(template: Value, mutation: &Mutation) -> Value {
    let Value::Object(mut object) = template else {
        return template;
    };
    let key_at = |object: &Map<String, Value>, i: usize| {
        (!object.is_empty()).then(|| object.keys().nth(i % object.len()).cloned())?
    };
    match mutation {
        Mutation::Unchanged => {}
        Mutation::Drop(i) => {
            if let Some(key) = key_at(&object, *i) {
                object.remove(&key);
            }
        }
        Mutation::Set(i, value) => {
            if let Some(key) = key_at(&object, *i) {
                object.insert(key, value.clone());
            }
        }
        Mutation::Add(key, value) => {
            object.insert(key.clone(), value.clone());
        }
        Mutation::Whole(value) => return value.clone(),
        Mutation::Nest(i, depth) => {
            if let Some(key) = key_at(&object, *i) {
                let mut nested = object.remove(&key).unwrap_or(Value::Null);
                for _ in 0..*depth {
                    nested = json!([nested]);
                }
                object.insert(key, nested);
            }
        }
        Mutation::HugeField(i, n) => {
            if let Some(key) = key_at(&object, *i) {
                object.insert(key, Value::String("y".repeat(*n)));
            }
        }
    }
    Value::Object(object)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn sign(claims: &Value, algorithm: Algorithm, key: &str) -> String {
    consult_server::auth::install_crypto_provider();
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("sign")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// A token that differs from the genuine `token` as `how` says.
fn forge(token: &str, how: &Forgery) -> String {
    let mut claims = claims_of(token);
    let ours = |claims: &Value| sign(claims, Algorithm::HS256, SIGNING_KEY);
    match how {
        Forgery::AlgNone => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ),
        Forgery::WrongKey => sign(
            &claims,
            Algorithm::HS256,
            "another-key-of-enough-length-0123456789",
        ),
        Forgery::WrongAudience => {
            claims["aud"] = json!("jitsi");
            ours(&claims)
        }
        Forgery::WrongIssuer => {
            claims["iss"] = json!("consult-server-evil");
            ours(&claims)
        }
        Forgery::Expired => {
            claims["iat"] = json!(now() - 7200);
            claims["exp"] = json!(now() - 3600);
            ours(&claims)
        }
        Forgery::Hs512 => sign(&claims, Algorithm::HS512, SIGNING_KEY),
        Forgery::StringExp => {
            claims["exp"] = json!((now() + 600).to_string());
            ours(&claims)
        }
        Forgery::Missing(name) => {
            if let Some(object) = claims.as_object_mut() {
                object.remove(*name);
            }
            ours(&claims)
        }
        Forgery::ForeignSubject(sub) => {
            claims["sub"] = json!(sub);
            ours(&claims)
        }
        Forgery::ForeignSession(sid) => {
            claims["sid"] = json!(sid);
            ours(&claims)
        }
        Forgery::ArbitraryClaims(value) => sign(value, Algorithm::HS256, SIGNING_KEY),
        Forgery::SwappedPayload => {
            claims["role"] = json!("admin");
            let mut parts = token.split('.');
            let header = parts.next().expect("header");
            let signature = parts.nth(1).expect("signature");
            format!(
                "{header}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(claims.to_string())
            )
        }
        Forgery::Truncated(n) => {
            let keep = token.len().saturating_sub(1 + n % token.len().max(1));
            token[..keep].to_owned()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The properties

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

fn run(strategy: BoxedStrategy<Case>) {
    let runtime = runtime();
    let fixture = runtime.block_on(Fixture::start());
    let before = runtime.block_on(fixture.counts());
    let mut runner = proptest_runner(CASES, 200);
    let outcome = runner.run(&strategy, |case| runtime.block_on(fixture.check(&case)));
    if let Err(error) = outcome {
        panic!("{error}");
    }

    // What an administrator sees is what was there plus what the successes created.
    let after = runtime.block_on(fixture.counts());
    let seen = fixture.seen.lock().expect("seen");
    eprintln!("answers by status: {:?}", seen.statuses);
    assert!(
        seen.failures > 0,
        "no request failed: the cases are too tame"
    );
    assert_eq!(
        after.appointments,
        before.appointments + seen.appointments_booked,
        "appointments"
    );
    let expected: BTreeSet<String> = before
        .join_requests
        .union(&seen.join_requests)
        .cloned()
        .collect();
    assert_eq!(after.join_requests, expected, "join requests");
    let expected: BTreeSet<String> = before.users.union(&seen.users).cloned().collect();
    assert_eq!(after.users, expected, "accounts");
    drop(seen);
    let Fixture { clinic, db, .. } = fixture;
    runtime.block_on(async move {
        db.close().await;
        clinic.server.stop().await;
    });
}

#[test]
fn arbitrary_bodies_get_a_4xx_envelope_and_write_nothing() {
    run(body_case());
}

#[test]
fn arbitrary_ids_tokens_and_queries_get_a_4xx_envelope_and_write_nothing() {
    run(request_case());
}
