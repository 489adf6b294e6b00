//! The OpenAPI 3.1 document of the clinic API, `GET /openapi.json`: generated from the handlers'
//! `#[utoipa::path]` annotations and the wire types' schemas, so it is the authority on shapes and
//! codes (`shared/spec/clinic-api.md` says what they mean). Each handler is registered once, with
//! utoipa-axum's `routes!`, for both the router and this document ([`crate::app::api`]); [`ApiDoc`]
//! adds what is not an operation.
//!
//! Every JSON answer is the contract's envelope. The success half is one concrete schema per
//! payload (`AppointmentEnvelope` = `{"success": true, "data": Appointment}`), so `data` is a
//! `$ref` that code generators turn into the shared type; the failure half is [`ErrorEnvelope`].
//! Both are documentation of [`Envelope`](consult_types::api::Envelope), which is what the
//! handlers serialize; the tests below check that the two agree.

use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use consult_types::api::{AuthResponse, ErrorBody, User};
use consult_types::clinic::{
    Appointment, Enrolment, ExitPinPolicy, ExitPinVerdict, JitsiSession, JoinRequest, MeetingLink,
    Notification, Pickup,
};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToResponse, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{AccountView, CreatedDevice, DeviceView};
use crate::app::{AppState, Health};
use crate::audit::AuditEntry;

/// The name of the bearer security scheme that authenticated operations require.
pub const BEARER: &str = "bearer";

const DESCRIPTION: &str = "\
The clinic server's API: accounts and sessions, appointments, joining Jitsi calls, join requests \
(the lobby), notifications and their Server-Sent Events stream, and administration. The \
contract's conventions (`shared/spec/clinic-api.md`, \"Conventions\") apply to every operation:

- JSON over HTTPS. Success: `{\"success\": true, \"data\": …}` (HTTP 200, or 201 when something \
was created). Failure: the HTTP status plus `{\"success\": false, \"error\": {\"code\": …, \
\"message\": …}}`; clients branch on `code`, `message` is for people.
- 400 `malformed_request` (not JSON, unreadable), 401 `unauthenticated` / `invalid_token` / \
`token_expired` (with `WWW-Authenticate: Bearer`), 403 `forbidden` / `approval_required`, 404 \
`not_found` (also for objects the caller may not know exist, and for unknown routes), 405 \
`method_not_allowed` (a known path with another method), 409 `conflict` / `too_early`, 413 \
`payload_too_large` (bodies over 64 KiB), 415 `malformed_request` (a body without \
`Content-Type: application/json`), 422 `invalid_value` (well-formed JSON or query of the wrong \
shape or with invalid values), 429 `rate_limited` (with `Retry-After`), 503 \
`jitsi_not_configured`, 500 `internal_error`.
- Authenticated operations carry `Authorization: Bearer <accessToken>` (the `bearer` scheme).
- Times are RFC 3339 UTC; ids are opaque strings. Every response carries \
`Cache-Control: no-store`.";

/// Serves the document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(document))
}

/// The document as JSON, built once: [`ApiDoc`] with the operations of every route
/// ([`crate::app::api`]).
pub fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        crate::app::api()
            .into_openapi()
            .to_json()
            .expect("the OpenAPI document serializes")
    });
    &JSON
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    summary = "This document",
    description = "The OpenAPI 3.1 document of this server, generated from its code. Not \
        wrapped in the envelope. No authentication.",
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json",
            body = Object),
    ),
)]
async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document_json())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Consult clinic API",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(
        schemas(
            ErrorEnvelope,
            ErrorBody,
            consult_types::clinic::ReadyEvent,
            consult_types::clinic::EndEvent,
            consult_types::clinic::PushEvent,
        ),
        responses(
            Unauthorized,
            MalformedBody,
            PayloadTooLarge,
            UnsupportedMediaType,
            RateLimited,
            InternalError,
        ),
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "meta", description = "Health and this document; no authentication."),
        (name = "auth", description = "Sign-in (password, kiosk device, demo register-or-login), \
            token refresh and logout. Refresh tokens rotate; presenting a used one ends its \
            whole session (`refresh_token_reused`)."),
        (name = "account", description = "The caller's own account."),
        (name = "appointments", description = "Booking, listing, changing and cancelling \
            appointments, and the doctor starting and ending the meeting."),
        (name = "calls", description = "Joining a call: a Jitsi JWT for the apps, a personalized \
            link for browsers."),
        (name = "join-requests", description = "The lobby: guests ask to join, the doctor \
            approves or rejects."),
        (name = "notifications", description = "Stored notifications, for polling clients."),
        (name = "events", description = "The caller's notifications and state changes as \
            Server-Sent Events."),
        (name = "admin", description = "Accounts, kiosk devices and the audit trail \
            (administrators; doctors may list patient and agency accounts)."),
        (name = "kiosk", description = "The kiosks' administrator exit: the PIN administrators \
            set and kiosks check."),
    ),
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme: the access token from `/auth/*`, an HS256 JWT.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <accessToken>`, the `tokens.accessToken` of a \
                         sign-in or refresh. It expires after `tokens.expiresIn` seconds and \
                         stops working at logout or when the account is disabled.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `success` of a success envelope: always `true`.
pub struct True;

impl PartialSchema for True {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([true]))
            .into()
    }
}

impl ToSchema for True {}

/// `success` of a failure envelope: always `false`.
pub struct False;

impl PartialSchema for False {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([false]))
            .into()
    }
}

impl ToSchema for False {}

/// A failed request: `{"success": false, "error": {"code": …, "message": …}}`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only; `Envelope::err` builds the real thing.
pub struct ErrorEnvelope {
    #[schema(inline)]
    success: False,
    error: ErrorBody,
}

/// Success envelopes, one per payload: `{"success": true, "data": <payload>}`.
macro_rules! envelopes {
    ($($(#[$doc:meta])* $name:ident => $data:ty;)*) => {$(
        $(#[$doc])*
        #[derive(ToSchema)]
        #[allow(dead_code)] // Documentation only; `Envelope::ok` builds the real thing.
        pub struct $name {
            #[schema(inline)]
            success: True,
            data: $data,
        }
    )*};
}

envelopes! {
    /// `{"success": true, "data": {"status": "ok"}}`.
    HealthEnvelope => Health;
    /// The signed-in user and a new token pair.
    AuthEnvelope => AuthResponse;
    /// `{"success": true, "data": null}`.
    EmptyEnvelope => Null;
    UserEnvelope => User;
    AppointmentEnvelope => Appointment;
    AppointmentListEnvelope => Vec<Appointment>;
    JitsiSessionEnvelope => JitsiSession;
    MeetingLinkEnvelope => MeetingLink;
    JoinRequestEnvelope => JoinRequest;
    JoinRequestListEnvelope => Vec<JoinRequest>;
    NotificationEnvelope => Notification;
    NotificationListEnvelope => Vec<Notification>;
    AccountEnvelope => AccountView;
    AccountListEnvelope => Vec<AccountView>;
    CreatedDeviceEnvelope => CreatedDevice;
    DeviceListEnvelope => Vec<DeviceView>;
    DeviceEnvelope => DeviceView;
    /// A kiosk's enrolment code.
    EnrolmentEnvelope => Enrolment;
    /// A kiosk's enrolment: waiting, or enrolled with its credential.
    PickupEnvelope => Pickup;
    /// When a kiosk beats next.
    BeatAnswerEnvelope => consult_types::clinic::HeartbeatAnswer;
    DeviceCommandEnvelope => consult_types::clinic::DeviceCommand;
    DeviceCommandListEnvelope => Vec<consult_types::clinic::DeviceCommand>;
    /// A kiosk's new secret, shown this once.
    RotatedSecretEnvelope => consult_types::clinic::RotatedSecret;
    AuditEntryListEnvelope => Vec<AuditEntry>;
    ExitPinPolicyEnvelope => ExitPinPolicy;
    ExitPinVerdictEnvelope => ExitPinVerdict;
}

/// JSON `null`: the `data` of operations that answer nothing but success.
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

/// 401 of operations that need an access token.
#[derive(ToResponse)]
#[response(
    description = "No valid access token: `unauthenticated` (no `Authorization: Bearer` \
        header), `invalid_token` (malformed, forged, or its session ended by logout, reuse \
        detection or a disabled account), `token_expired`. Carries `WWW-Authenticate: Bearer`.",
    headers(("WWW-Authenticate" = String, description = "`Bearer` (RFC 6750 §3)")),
)]
#[allow(dead_code)]
pub struct Unauthorized(ErrorEnvelope);

/// 400 of operations with a JSON body.
#[derive(ToResponse)]
#[response(description = "`malformed_request`: the body is not valid JSON or could not be read.")]
#[allow(dead_code)]
pub struct MalformedBody(ErrorEnvelope);

/// 413 of operations with a JSON body.
#[derive(ToResponse)]
#[response(description = "`payload_too_large`: the body is over 64 KiB.")]
#[allow(dead_code)]
pub struct PayloadTooLarge(ErrorEnvelope);

/// 415 of operations with a JSON body.
#[derive(ToResponse)]
#[response(
    description = "`malformed_request`: the body is not sent as `Content-Type: \
        application/json` (or another `application/*+json`)."
)]
#[allow(dead_code)]
pub struct UnsupportedMediaType(ErrorEnvelope);

/// 429 of the sign-in and refresh operations.
#[derive(ToResponse)]
#[response(
    description = "`rate_limited`: too many attempts from this client IP (IPv6 per /64) or for \
        this account or device, counted per minute by each server instance. Try again after \
        `Retry-After` seconds.",
    headers(("Retry-After" = u64, description = "Seconds until an attempt is allowed again")),
)]
#[allow(dead_code)]
pub struct RateLimited(ErrorEnvelope);

/// 500 of every operation that touches storage.
#[derive(ToResponse)]
#[response(
    description = "`internal_error`: something failed on the server; the cause is logged, \
        never sent."
)]
#[allow(dead_code)]
pub struct InternalError(ErrorEnvelope);

/// The request header of `GET /events`.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Documentation only; the stream reads the header itself.
pub struct LastEventIdHeader {
    /// The `id` of the last event received, to resume after it; absent or empty: from now.
    #[param(rename = "Last-Event-ID", required = false, minimum = 0)]
    last_event_id: i64,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use consult_types::api::Envelope;
    use serde_json::{json, Value};

    use super::*;
    use crate::db::StoreError;
    use crate::error::{ApiError, InternalError};

    fn doc() -> Value {
        serde_json::from_str(document_json()).expect("the document is JSON")
    }

    /// Every response of every operation as (status, description), `$ref`s resolved.
    fn responses(doc: &Value) -> Vec<(u16, String)> {
        let mut found = Vec::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("path item").values() {
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    let response = match response["$ref"].as_str() {
                        Some(reference) => {
                            let name = reference
                                .strip_prefix("#/components/responses/")
                                .expect("a response reference");
                            &doc["components"]["responses"][name]
                        }
                        None => response,
                    };
                    let description = response["description"].as_str().expect("description");
                    found.push((
                        status.parse().expect("a status code"),
                        description.to_owned(),
                    ));
                }
            }
        }
        found
    }

    /// One of each variant. The match below has no wildcard, so a new variant does not compile
    /// until it is added here too.
    fn every_api_error() -> Vec<ApiError> {
        let all = vec![
            ApiError::InvalidCredentials,
            ApiError::AccountDisabled,
            ApiError::Unauthenticated,
            ApiError::InvalidToken,
            ApiError::TokenExpired,
            ApiError::RefreshTokenReused,
            ApiError::Forbidden("no"),
            ApiError::ApprovalRequired,
            ApiError::NotFound,
            ApiError::Conflict("no".into()),
            ApiError::Gone("no".into()),
            ApiError::TooEarly { minutes: 15 },
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::JitsiNotConfigured,
            ApiError::MethodNotAllowed,
            ApiError::Malformed("no".into()),
            ApiError::UnsupportedMediaType,
            ApiError::InvalidValue("no".into()),
            ApiError::PayloadTooLarge,
            ApiError::Internal(InternalError::Store(StoreError::Corrupt("no".into()))),
        ];
        for error in &all {
            match error {
                ApiError::InvalidCredentials
                | ApiError::AccountDisabled
                | ApiError::Unauthenticated
                | ApiError::InvalidToken
                | ApiError::TokenExpired
                | ApiError::RefreshTokenReused
                | ApiError::Forbidden(_)
                | ApiError::ApprovalRequired
                | ApiError::NotFound
                | ApiError::Conflict(_)
                | ApiError::Gone(_)
                | ApiError::TooEarly { .. }
                | ApiError::RateLimited { .. }
                | ApiError::JitsiNotConfigured
                | ApiError::MethodNotAllowed
                | ApiError::Malformed(_)
                | ApiError::UnsupportedMediaType
                | ApiError::InvalidValue(_)
                | ApiError::PayloadTooLarge
                | ApiError::Internal(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_error_code_is_documented_with_its_status() {
        let documented = responses(&doc());
        for error in every_api_error() {
            let (status, code) = (error.status().as_u16(), error.code());
            let mention = format!("`{code}`");
            assert!(
                documented
                    .iter()
                    .any(|(s, description)| *s == status && description.contains(&mention)),
                "{error:?}: no {status} response mentions {mention}"
            );
        }
    }

    #[test]
    fn every_documented_code_is_one_the_server_sends() {
        let codes: BTreeSet<&str> = every_api_error().iter().map(ApiError::code).collect();
        for (status, description) in responses(&doc()) {
            if status < 400 {
                continue;
            }
            // Codes are the backquoted snake_case words that open a description or follow `: `.
            let named: Vec<&str> = description
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|word| word.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .filter(|word| word.contains('_') || codes.contains(word))
                .collect();
            assert!(!named.is_empty(), "{status} names no code: {description}");
            for word in named {
                assert!(
                    codes.contains(word),
                    "{status} names `{word}`, which the server never sends: {description}"
                );
            }
        }
    }

    #[test]
    fn envelope_schemas_describe_what_envelope_serializes() {
        let doc = doc();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let keys = |value: &Value| -> BTreeSet<String> {
            value.as_object().expect("object").keys().cloned().collect()
        };
        let ok = serde_json::to_value(Envelope::ok(json!({}))).expect("json");
        let err = serde_json::to_value(Envelope::err("not_found", "Not found")).expect("json");
        let mut success_envelopes = 0;
        for (name, schema) in schemas {
            if !name.ends_with("Envelope") {
                continue;
            }
            let (sent, success) = if name == "ErrorEnvelope" {
                (&err, false)
            } else {
                success_envelopes += 1;
                (&ok, true)
            };
            assert_eq!(keys(&schema["properties"]), keys(sent), "{name}");
            let required: BTreeSet<String> = serde_json::from_value(schema["required"].clone())
                .unwrap_or_else(|_| panic!("{name} lists required properties"));
            assert_eq!(
                required,
                keys(sent),
                "{name}: every property is always sent"
            );
            assert_eq!(
                schema["properties"]["success"]["enum"],
                json!([success]),
                "{name}"
            );
        }
        assert!(
            success_envelopes >= 10,
            "the success envelopes are documented"
        );
        assert_eq!(
            keys(&schemas["ErrorBody"]["properties"]),
            keys(&err["error"]),
            "ErrorBody"
        );
    }

    #[test]
    fn the_event_stream_is_documented_as_it_is_sent() {
        let doc = doc();
        let events = &doc["paths"]["/events"]["get"];
        let description = events["description"].as_str().expect("description");
        for event in [
            "ready",
            "notification",
            "appointment",
            "join_request",
            "end",
        ] {
            assert!(
                description.contains(&format!("`{event}`")),
                "event type {event}"
            );
        }
        assert!(description.contains("heartbeat"), "heartbeats");
        assert!(events["responses"]["200"]["content"]["text/event-stream"].is_object());
        assert_eq!(events["parameters"][0]["name"], "Last-Event-ID");
        assert_eq!(events["parameters"][0]["in"], "header");
        // The stream writes `ready` and `end` from the same consult-types the schemas come from.
        let schemas = &doc["components"]["schemas"];
        let ready = schemas["ReadyEvent"]["properties"]
            .as_object()
            .expect("ready");
        assert!(ready.contains_key("lastEventId") && ready.contains_key("resync"));
        assert!(schemas["EndEvent"]["properties"]["reason"].is_object());
        assert_eq!(
            schemas["StreamEndReason"]["enum"].as_array().map(Vec::len),
            Some(4),
            "`end` reasons"
        );
        for event in ["notification", "appointment", "join_request"] {
            let push = doc["components"]["schemas"]["PushEvent"].to_string();
            assert!(push.contains(&format!("\"{event}\"")), "PushEvent {event}");
        }
    }
}
