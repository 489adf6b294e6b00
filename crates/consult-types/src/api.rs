//! Bodies of the clinic API (`shared/spec/clinic-api.md`), in its camelCase wire form.

use serde::{Deserialize, Serialize};

/// What a user is allowed to do; doctors and admins join calls as Jitsi moderators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    // The seeds' older names are accepted on input too, as in `Role::parse`.
    #[serde(alias = "therapist")]
    Doctor,
    #[serde(alias = "client")]
    Patient,
    Agency,
    Admin,
    Kiosk,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Doctor,
        Role::Patient,
        Role::Agency,
        Role::Admin,
        Role::Kiosk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Doctor => "doctor",
            Role::Patient => "patient",
            Role::Agency => "agency",
            Role::Admin => "admin",
            Role::Kiosk => "kiosk",
        }
    }

    /// Parses the wire name; the seeds' older names (`therapist`, `client`) are accepted too.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "doctor" | "therapist" => Some(Role::Doctor),
            "patient" | "client" => Some(Role::Patient),
            "agency" => Some(Role::Agency),
            "admin" => Some(Role::Admin),
            "kiosk" => Some(Role::Kiosk),
            _ => None,
        }
    }
}

/// An account as the API shows it. Never carries credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Role,
}

impl User {
    /// "First Last" when a name is known, else the email (the contract's display-name rule).
    pub fn display_name(&self) -> String {
        display_name(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            &self.email,
        )
    }
}

/// The contract's display-name rule: "First Last" when a name is known, else the email.
pub fn display_name(first_name: Option<&str>, last_name: Option<&str>, email: &str) -> String {
    let parts: Vec<&str> = [first_name, last_name]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        email.to_owned()
    } else {
        parts.join(" ")
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

// A password must never reach a log line, so Debug shows only the email.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

// A refresh token must never reach a log line.
impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// A token pair. `expires_in` is the access token's lifetime in seconds.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

// Tokens must never reach a log line, so Debug shows only the lifetime.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub user: User,
    pub tokens: Tokens,
}

/// The failure half of the contract's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `{"success": true, "data": …}` or `{"success": false, "error": {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl<T> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Envelope {
            success: true,
            data: Some(data),
            error: None,
        }
    }
}

impl Envelope<()> {
    pub fn err(code: impl Into<String>, message: impl Into<String>) -> Self {
        Envelope {
            success: false,
            data: None,
            error: Some(ErrorBody {
                code: code.into(),
                message: message.into(),
            }),
        }
    }
}

/// Error codes the server sends and the desktop core reacts to.
pub mod codes {
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const INVALID_TOKEN: &str = "invalid_token";
    pub const TOKEN_EXPIRED: &str = "token_expired";
    pub const REFRESH_TOKEN_REUSED: &str = "refresh_token_reused";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_FOUND: &str = "not_found";
    pub const MALFORMED_REQUEST: &str = "malformed_request";
    pub const INVALID_VALUE: &str = "invalid_value";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const CONFLICT: &str = "conflict";
    pub const RATE_LIMITED: &str = "rate_limited";
    /// Its time is over: an expired kiosk enrolment code.
    pub const GONE: &str = "gone";
    /// An agency user (or a patient while the waiting room is on) must be admitted first.
    pub const APPROVAL_REQUIRED: &str = "approval_required";
    /// A meeting token was asked for before the call opens (15 minutes before the start).
    pub const TOO_EARLY: &str = "too_early";
    /// The server has no Jitsi deployment configured, so it cannot issue meeting tokens.
    pub const JITSI_NOT_CONFIGURED: &str = "jitsi_not_configured";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INTERNAL: &str = "internal_error";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(first: Option<&str>, last: Option<&str>) -> User {
        User {
            id: "u1".into(),
            email: "ada@example.org".into(),
            first_name: first.map(Into::into),
            last_name: last.map(Into::into),
            role: Role::Doctor,
        }
    }

    #[test]
    fn display_name_prefers_names_then_email() {
        assert_eq!(
            user(Some("Ada"), Some("Lovelace")).display_name(),
            "Ada Lovelace"
        );
        assert_eq!(user(Some("Ada"), None).display_name(), "Ada");
        assert_eq!(user(Some("  "), None).display_name(), "ada@example.org");
        assert_eq!(user(None, None).display_name(), "ada@example.org");
    }

    #[test]
    fn envelope_matches_the_contract_shape() {
        let ok = serde_json::to_value(Envelope::ok(1)).unwrap();
        assert_eq!(ok, serde_json::json!({"success": true, "data": 1}));
        let err = serde_json::to_value(Envelope::err("not_found", "No such thing")).unwrap();
        assert_eq!(
            err,
            serde_json::json!({"success": false, "error": {"code": "not_found", "message": "No such thing"}})
        );
    }

    #[test]
    fn roles_round_trip_and_accept_seed_aliases() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("therapist"), Some(Role::Doctor));
        assert_eq!(Role::parse("client"), Some(Role::Patient));
        assert_eq!(Role::parse("root"), None);
        let doctor: Role = serde_json::from_str("\"therapist\"").unwrap();
        let patient: Role = serde_json::from_str("\"client\"").unwrap();
        assert_eq!((doctor, patient), (Role::Doctor, Role::Patient));
        assert_eq!(serde_json::to_string(&Role::Doctor).unwrap(), "\"doctor\"");
    }

    #[test]
    fn tokens_debug_never_shows_secrets() {
        let tokens = Tokens {
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            expires_in: 900,
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret-access") && !shown.contains("secret-refresh"));
        assert!(shown.contains("900"));
    }

    #[test]
    fn login_request_debug_never_shows_the_password() {
        let request = LoginRequest {
            email: "ada@example.org".into(),
            password: "secret-password".into(),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret-password"), "{shown}");
        assert!(shown.contains("ada@example.org") && shown.contains("<redacted>"));
    }

    #[test]
    fn refresh_request_debug_never_shows_the_token() {
        let request = RefreshRequest {
            refresh_token: "secret-refresh".into(),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret-refresh"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn login_request_rejects_unknown_fields() {
        let bad = serde_json::from_str::<LoginRequest>(
            r#"{"email":"a@b.c","password":"x","role":"admin"}"#,
        );
        assert!(bad.is_err());
    }
}
