//! The audit trail: who did what, when, from where. Events are typed and carry only fields that
//! are safe to keep, so no token, password or hash can end up in a row.

use std::net::IpAddr;

use serde_json::json;

use crate::db::{Db, StoreError};

/// Attempted emails are user input of any length; the trail keeps a bounded prefix.
const MAX_EMAIL_CHARS: usize = 320;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    UnknownEmail,
    WrongPassword,
    NoPassword,
    Disabled,
}

impl LoginFailure {
    fn as_str(self) -> &'static str {
        match self {
            LoginFailure::UnknownEmail => "unknown_email",
            LoginFailure::WrongPassword => "wrong_password",
            LoginFailure::NoPassword => "no_password",
            LoginFailure::Disabled => "disabled",
        }
    }
}

/// How a token pair was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Password,
    RefreshToken,
}

impl Grant {
    fn as_str(self) -> &'static str {
        match self {
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum AuditEvent<'a> {
    LoginSucceeded {
        user_id: &'a str,
        family_id: &'a str,
    },
    LoginFailed {
        /// As typed (normalized), never the password.
        email: &'a str,
        user_id: Option<&'a str>,
        reason: LoginFailure,
    },
    TokenIssued {
        user_id: &'a str,
        family_id: &'a str,
        grant: Grant,
    },
    RefreshTokenReused {
        user_id: &'a str,
        family_id: &'a str,
    },
    Logout {
        user_id: &'a str,
        family_id: &'a str,
    },
}

impl AuditEvent<'_> {
    pub fn action(&self) -> &'static str {
        match self {
            AuditEvent::LoginSucceeded { .. } => "auth.login_succeeded",
            AuditEvent::LoginFailed { .. } => "auth.login_failed",
            AuditEvent::TokenIssued { .. } => "auth.token_issued",
            AuditEvent::RefreshTokenReused { .. } => "auth.refresh_token_reused",
            AuditEvent::Logout { .. } => "auth.logout",
        }
    }

    fn actor(&self) -> Option<&str> {
        match *self {
            AuditEvent::LoginFailed { user_id, .. } => user_id,
            AuditEvent::LoginSucceeded { user_id, .. }
            | AuditEvent::TokenIssued { user_id, .. }
            | AuditEvent::RefreshTokenReused { user_id, .. }
            | AuditEvent::Logout { user_id, .. } => Some(user_id),
        }
    }

    fn detail(&self) -> serde_json::Value {
        match *self {
            AuditEvent::LoginFailed { email, reason, .. } => {
                let email: String = email.chars().take(MAX_EMAIL_CHARS).collect();
                json!({ "email": email, "reason": reason.as_str() })
            }
            AuditEvent::TokenIssued {
                family_id, grant, ..
            } => json!({ "familyId": family_id, "grant": grant.as_str() }),
            AuditEvent::LoginSucceeded { family_id, .. }
            | AuditEvent::RefreshTokenReused { family_id, .. }
            | AuditEvent::Logout { family_id, .. } => json!({ "familyId": family_id }),
        }
    }
}

/// Appends one event. A failure fails the request: an action that cannot be recorded is refused.
pub async fn record(
    db: &Db,
    event: AuditEvent<'_>,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor_user_id, action, detail, ip) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now)
    .bind(event.actor())
    .bind(event.action())
    .bind(event.detail().to_string())
    .bind(ip.map(|ip| ip.to_string()))
    .execute(db.pool())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_keep_a_bounded_email_and_no_actor_when_unknown() {
        let long = "x".repeat(1000);
        let event = AuditEvent::LoginFailed {
            email: &long,
            user_id: None,
            reason: LoginFailure::UnknownEmail,
        };
        assert_eq!(event.actor(), None);
        let detail = event.detail();
        assert_eq!(detail["reason"], "unknown_email");
        assert_eq!(
            detail["email"].as_str().map(str::len),
            Some(MAX_EMAIL_CHARS)
        );
    }

    #[test]
    fn token_events_name_the_family_and_grant() {
        let event = AuditEvent::TokenIssued {
            user_id: "usr_1",
            family_id: "fam_1",
            grant: Grant::RefreshToken,
        };
        assert_eq!(event.action(), "auth.token_issued");
        assert_eq!(event.actor(), Some("usr_1"));
        assert_eq!(
            event.detail(),
            json!({"familyId": "fam_1", "grant": "refresh_token"})
        );
    }
}
