//! The audit trail: who did what, when, from where. Events are typed and carry only fields that
//! are safe to keep, so no token, password or hash can end up in a row.

use std::net::IpAddr;

use serde_json::json;

use consult_types::api::Role;
use serde::Serialize;
use time::OffsetDateTime;

use crate::db;
use crate::db::{Db, StoreError};
use crate::rate_limit::{Account, Endpoint, Scope};

/// Attempted emails are user input of any length; the trail keeps a bounded prefix.
const MAX_EMAIL_CHARS: usize = 320;

/// A bounded prefix of user input (an attempted email or device id, a location).
fn bounded(text: &str) -> String {
    text.chars().take(MAX_EMAIL_CHARS).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    UnknownEmail,
    WrongPassword,
    NoPassword,
    Disabled,
    UnknownDevice,
    WrongSecret,
    /// Register-or-login named an existing account with another role.
    RoleMismatch,
}

impl LoginFailure {
    fn as_str(self) -> &'static str {
        match self {
            LoginFailure::UnknownEmail => "unknown_email",
            LoginFailure::WrongPassword => "wrong_password",
            LoginFailure::NoPassword => "no_password",
            LoginFailure::Disabled => "disabled",
            LoginFailure::UnknownDevice => "unknown_device",
            LoginFailure::WrongSecret => "wrong_secret",
            LoginFailure::RoleMismatch => "role_mismatch",
        }
    }
}

/// How a token pair was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Password,
    RefreshToken,
    /// A kiosk's device id and secret.
    Device,
    /// The demo-only password-less flow.
    RegisterOrLogin,
}

impl Grant {
    fn as_str(self) -> &'static str {
        match self {
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
            Grant::Device => "device",
            Grant::RegisterOrLogin => "register_or_login",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum AuditEvent<'a> {
    LoginSucceeded {
        user_id: &'a str,
        family_id: &'a str,
        grant: Grant,
    },
    LoginFailed {
        /// The email as typed (normalized) or the device id; never the password or secret.
        account: Account<'a>,
        user_id: Option<&'a str>,
        reason: LoginFailure,
        grant: Grant,
    },
    /// An attempt refused by a rate limit, before any account lookup or hashing.
    RateLimited {
        endpoint: Endpoint,
        scope: Scope,
        account: Option<Account<'a>>,
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
    /// An administrator created an account.
    UserCreated {
        admin_id: &'a str,
        user_id: &'a str,
        role: Role,
    },
    /// The demo-only register-or-login flow created an account.
    UserRegistered {
        user_id: &'a str,
        role: Role,
        /// The caller's own id for the person (the seeds' `userId`), as sent.
        external_user_id: &'a str,
    },
    UserDisabled {
        admin_id: &'a str,
        user_id: &'a str,
        /// Sessions (refresh-token families) ended by the disabling.
        revoked_sessions: u64,
    },
    UserEnabled {
        admin_id: &'a str,
        user_id: &'a str,
    },
    DeviceCreated {
        admin_id: &'a str,
        device_id: &'a str,
        user_id: &'a str,
        location: &'a str,
    },
    /// An unenrolled kiosk asked for a code (no account yet: no actor).
    EnrolmentStarted {
        enrolment_id: &'a str,
    },
    /// An administrator claimed a kiosk's code; the device was created with it.
    EnrolmentClaimed {
        admin_id: &'a str,
        enrolment_id: &'a str,
        device_id: &'a str,
    },
    /// The kiosk took its device id and a fresh secret.
    EnrolmentPickedUp {
        enrolment_id: &'a str,
        device_id: &'a str,
    },
    /// An administrator sent a kiosk a command.
    DeviceCommandSent {
        admin_id: &'a str,
        device_id: &'a str,
        command_id: &'a str,
        command: &'a str,
    },
    /// The kiosk's heartbeat said it carried the command out.
    DeviceCommandAcknowledged {
        device_id: &'a str,
        command_id: &'a str,
    },
    /// The kiosk took a new secret (rotation).
    DeviceSecretIssued {
        device_id: &'a str,
    },
    AppointmentCreated {
        user_id: &'a str,
        appointment_id: &'a str,
    },
    AppointmentCancelled {
        user_id: &'a str,
        appointment_id: &'a str,
    },
    MeetingStarted {
        user_id: &'a str,
        appointment_id: &'a str,
    },
    MeetingEnded {
        user_id: &'a str,
        appointment_id: &'a str,
    },
    JoinRequestDecided {
        user_id: &'a str,
        join_request_id: &'a str,
        appointment_id: &'a str,
        requester_id: &'a str,
        /// `approved` or `rejected`.
        decision: &'a str,
    },
    /// The requester withdrew a pending join request.
    JoinRequestWithdrawn {
        user_id: &'a str,
        join_request_id: &'a str,
        appointment_id: &'a str,
    },
    JitsiTokenIssued {
        user_id: &'a str,
        appointment_id: &'a str,
        moderator: bool,
    },
    /// An administrator set the kiosks' exit PIN (never the PIN or its hash).
    KioskExitPinSet {
        admin_id: &'a str,
    },
    /// A PIN typed on a kiosk to open its administrator exit, and what came of it.
    KioskExitAttempt {
        user_id: &'a str,
        outcome: ExitOutcome,
    },
}

/// What came of a PIN typed on a kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitOutcome {
    Granted,
    /// Wrong, with tries left.
    Wrong,
    /// Wrong, and the last try: the exit is now locked.
    WrongAndLocked,
    /// Not checked: the exit was locked.
    Locked,
}

impl ExitOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ExitOutcome::Granted => "granted",
            ExitOutcome::Wrong => "wrong",
            ExitOutcome::WrongAndLocked => "wrong_and_locked",
            ExitOutcome::Locked => "locked",
        }
    }
}

impl AuditEvent<'_> {
    pub fn action(&self) -> &'static str {
        match self {
            AuditEvent::LoginSucceeded { .. } => "auth.login_succeeded",
            AuditEvent::LoginFailed { .. } => "auth.login_failed",
            AuditEvent::TokenIssued { .. } => "auth.token_issued",
            AuditEvent::RefreshTokenReused { .. } => "auth.refresh_token_reused",
            AuditEvent::Logout { .. } => "auth.logout",
            AuditEvent::RateLimited { .. } => "auth.rate_limited",
            AuditEvent::UserCreated { .. } => "user.created",
            AuditEvent::UserRegistered { .. } => "user.registered",
            AuditEvent::UserDisabled { .. } => "user.disabled",
            AuditEvent::UserEnabled { .. } => "user.enabled",
            AuditEvent::DeviceCreated { .. } => "device.created",
            AuditEvent::EnrolmentStarted { .. } => "device.enrolment_started",
            AuditEvent::EnrolmentClaimed { .. } => "device.enrolment_claimed",
            AuditEvent::EnrolmentPickedUp { .. } => "device.enrolment_picked_up",
            AuditEvent::DeviceCommandSent { .. } => "device.command_sent",
            AuditEvent::DeviceCommandAcknowledged { .. } => "device.command_acknowledged",
            AuditEvent::DeviceSecretIssued { .. } => "device.secret_issued",
            AuditEvent::AppointmentCreated { .. } => "appointment.created",
            AuditEvent::AppointmentCancelled { .. } => "appointment.cancelled",
            AuditEvent::MeetingStarted { .. } => "meeting.started",
            AuditEvent::MeetingEnded { .. } => "meeting.ended",
            AuditEvent::JoinRequestDecided { .. } => "join_request.decided",
            AuditEvent::JoinRequestWithdrawn { .. } => "join_request.withdrawn",
            AuditEvent::JitsiTokenIssued { .. } => "jitsi.token_issued",
            AuditEvent::KioskExitPinSet { .. } => "kiosk.exit_pin_set",
            AuditEvent::KioskExitAttempt { .. } => "kiosk.exit_attempt",
        }
    }

    fn actor(&self) -> Option<&str> {
        match *self {
            AuditEvent::LoginFailed { user_id, .. } => user_id,
            AuditEvent::RateLimited { .. }
            | AuditEvent::EnrolmentStarted { .. }
            | AuditEvent::EnrolmentPickedUp { .. }
            | AuditEvent::DeviceCommandAcknowledged { .. }
            | AuditEvent::DeviceSecretIssued { .. } => None,
            AuditEvent::UserCreated { admin_id, .. }
            | AuditEvent::UserDisabled { admin_id, .. }
            | AuditEvent::UserEnabled { admin_id, .. }
            | AuditEvent::DeviceCreated { admin_id, .. }
            | AuditEvent::EnrolmentClaimed { admin_id, .. }
            | AuditEvent::DeviceCommandSent { admin_id, .. }
            | AuditEvent::KioskExitPinSet { admin_id } => Some(admin_id),
            AuditEvent::UserRegistered { user_id, .. } => Some(user_id),
            AuditEvent::LoginSucceeded { user_id, .. }
            | AuditEvent::TokenIssued { user_id, .. }
            | AuditEvent::RefreshTokenReused { user_id, .. }
            | AuditEvent::Logout { user_id, .. }
            | AuditEvent::AppointmentCreated { user_id, .. }
            | AuditEvent::AppointmentCancelled { user_id, .. }
            | AuditEvent::MeetingStarted { user_id, .. }
            | AuditEvent::MeetingEnded { user_id, .. }
            | AuditEvent::JoinRequestDecided { user_id, .. }
            | AuditEvent::JoinRequestWithdrawn { user_id, .. }
            | AuditEvent::JitsiTokenIssued { user_id, .. }
            | AuditEvent::KioskExitAttempt { user_id, .. } => Some(user_id),
        }
    }

    fn detail(&self) -> serde_json::Value {
        match *self {
            AuditEvent::LoginFailed {
                account,
                reason,
                grant,
                ..
            } => {
                let mut detail = account_detail(account);
                detail["reason"] = json!(reason.as_str());
                detail["grant"] = json!(grant.as_str());
                detail
            }
            AuditEvent::RateLimited {
                endpoint,
                scope,
                account,
            } => {
                let mut detail = account.map_or_else(|| json!({}), account_detail);
                detail["endpoint"] = json!(endpoint.as_str());
                detail["scope"] = json!(scope.as_str());
                detail
            }
            AuditEvent::TokenIssued {
                family_id, grant, ..
            }
            | AuditEvent::LoginSucceeded {
                family_id, grant, ..
            } => json!({ "familyId": family_id, "grant": grant.as_str() }),
            AuditEvent::UserCreated { user_id, role, .. } => {
                json!({ "userId": user_id, "role": role.as_str() })
            }
            AuditEvent::UserRegistered {
                user_id,
                role,
                external_user_id,
            } => json!({
                "userId": user_id,
                "role": role.as_str(),
                "externalUserId": bounded(external_user_id),
            }),
            AuditEvent::UserDisabled {
                user_id,
                revoked_sessions,
                ..
            } => json!({ "userId": user_id, "revokedSessions": revoked_sessions }),
            AuditEvent::UserEnabled { user_id, .. } => json!({ "userId": user_id }),
            AuditEvent::DeviceCreated {
                device_id,
                user_id,
                location,
                ..
            } => json!({
                "deviceId": device_id,
                "userId": user_id,
                "location": bounded(location),
            }),
            AuditEvent::RefreshTokenReused { family_id, .. }
            | AuditEvent::Logout { family_id, .. } => json!({ "familyId": family_id }),
            AuditEvent::AppointmentCreated { appointment_id, .. }
            | AuditEvent::AppointmentCancelled { appointment_id, .. }
            | AuditEvent::MeetingStarted { appointment_id, .. }
            | AuditEvent::MeetingEnded { appointment_id, .. } => {
                json!({ "appointmentId": appointment_id })
            }
            AuditEvent::JoinRequestDecided {
                join_request_id,
                appointment_id,
                requester_id,
                decision,
                ..
            } => json!({
                "joinRequestId": join_request_id,
                "appointmentId": appointment_id,
                "requesterId": requester_id,
                "decision": decision,
            }),
            AuditEvent::JoinRequestWithdrawn {
                join_request_id,
                appointment_id,
                ..
            } => json!({
                "joinRequestId": join_request_id,
                "appointmentId": appointment_id,
            }),
            AuditEvent::JitsiTokenIssued {
                appointment_id,
                moderator,
                ..
            } => json!({ "appointmentId": appointment_id, "moderator": moderator }),
            AuditEvent::EnrolmentStarted { enrolment_id } => json!({ "enrolmentId": enrolment_id }),
            AuditEvent::EnrolmentClaimed {
                enrolment_id,
                device_id,
                ..
            }
            | AuditEvent::EnrolmentPickedUp {
                enrolment_id,
                device_id,
            } => json!({ "enrolmentId": enrolment_id, "deviceId": device_id }),
            AuditEvent::DeviceCommandSent {
                device_id,
                command_id,
                command,
                ..
            } => json!({ "deviceId": device_id, "commandId": command_id, "command": command }),
            AuditEvent::DeviceCommandAcknowledged {
                device_id,
                command_id,
            } => json!({ "deviceId": device_id, "commandId": command_id }),
            AuditEvent::DeviceSecretIssued { device_id } => json!({ "deviceId": device_id }),
            AuditEvent::KioskExitPinSet { .. } => json!({}),
            AuditEvent::KioskExitAttempt { outcome, .. } => json!({ "outcome": outcome.as_str() }),
        }
    }
}

/// `{"email": …}` or `{"deviceId": …}`, bounded.
fn account_detail(account: Account<'_>) -> serde_json::Value {
    match account {
        Account::Email(email) => json!({ "email": bounded(email) }),
        Account::Device(id) => json!({ "deviceId": bounded(id) }),
    }
}

/// Appends one event. A failure fails the request: an action that cannot be recorded is refused.
pub async fn record(
    db: &Db,
    event: AuditEvent<'_>,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<(), StoreError> {
    let mut conn = db.pool().acquire().await?;
    record_in(&mut conn, event, ip, now).await
}

/// Appends one event on `conn`, typically inside the transaction of the action it records, so
/// the action and its audit row commit (or roll back) together.
pub async fn record_in(
    conn: &mut sqlx::AnyConnection,
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
    .execute(conn)
    .await?;
    Ok(())
}

/// One row of the trail as `GET /audit` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
}

/// Which rows to read: `from <= at < to` (unix seconds), an exact action, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery<'a> {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub action: Option<&'a str>,
    pub limit: u32,
}

type AuditRow = (i64, i64, Option<String>, String, String, Option<String>);

/// The newest events matching `query`, newest first.
pub async fn list(db: &Db, query: &AuditQuery<'_>) -> Result<Vec<AuditEntry>, StoreError> {
    // Absent bounds become the widest ones, so one statement serves every combination.
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor_user_id, action, detail, ip FROM audit_events \
         WHERE at >= $1 AND at < $2 AND ($3 = '' OR action = $3) \
         ORDER BY at DESC, id DESC LIMIT $4",
    )
    .bind(query.from.unwrap_or(i64::MIN))
    .bind(query.to.unwrap_or(i64::MAX))
    .bind(query.action.unwrap_or(""))
    .bind(i64::from(query.limit))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(id, at, actor_user_id, action, detail, ip)| {
            Ok(AuditEntry {
                id,
                at: db::to_datetime(at)?,
                actor_user_id,
                action,
                // Written by `record` as JSON; shown as text should a row ever not be.
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                ip,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_keep_a_bounded_email_and_no_actor_when_unknown() {
        let long = "x".repeat(1000);
        let event = AuditEvent::LoginFailed {
            account: Account::Email(&long),
            user_id: None,
            reason: LoginFailure::UnknownEmail,
            grant: Grant::Password,
        };
        assert_eq!(event.actor(), None);
        let detail = event.detail();
        assert_eq!(detail["reason"], "unknown_email");
        assert_eq!(detail["grant"], "password");
        assert_eq!(
            detail["email"].as_str().map(str::len),
            Some(MAX_EMAIL_CHARS)
        );
    }

    #[test]
    fn device_failures_and_rate_limits_name_the_device_not_the_secret() {
        let event = AuditEvent::LoginFailed {
            account: Account::Device("dev_1"),
            user_id: Some("usr_k"),
            reason: LoginFailure::WrongSecret,
            grant: Grant::Device,
        };
        assert_eq!(event.action(), "auth.login_failed");
        assert_eq!(
            event.detail(),
            json!({"deviceId": "dev_1", "reason": "wrong_secret", "grant": "device"})
        );
        let limited = AuditEvent::RateLimited {
            endpoint: Endpoint::Refresh,
            scope: Scope::Ip,
            account: None,
        };
        assert_eq!(limited.actor(), None);
        assert_eq!(
            limited.detail(),
            json!({"endpoint": "refresh", "scope": "ip"})
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
