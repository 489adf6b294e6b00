//! Kiosk devices: a device id (public) and a 256-bit secret stored only as its SHA-256 digest,
//! bound to one `kiosk` account. `POST /auth/device-login` trades the pair for a session.

use std::fmt;

use subtle::ConstantTimeEq;

use super::refresh_token;
use crate::db::{Db, StoreError};
use crate::ids;
use crate::users::{self, UserRecord};

/// A device secret as handed to the administrator once. Debug never shows it.
pub struct DeviceSecret(String);

impl DeviceSecret {
    /// 256 random bits as 64 hex characters.
    pub fn generate() -> DeviceSecret {
        DeviceSecret(ids::hex(&ids::random_bytes::<32>()))
    }

    /// A secret fixed elsewhere (the demo kiosk's published one).
    pub fn from_known(secret: &str) -> DeviceSecret {
        DeviceSecret(secret.to_owned())
    }

    pub fn digest(&self) -> String {
        refresh_token::digest(&self.0)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceSecret(<redacted>)")
    }
}

/// A device as stored, with its account.
#[derive(Debug)]
pub struct DeviceRecord {
    pub id: String,
    pub location: String,
    pub created_at: i64,
    pub account: UserRecord,
    /// Its last heartbeat (unix seconds), whether it counts as online, and its last report
    /// as JSON ([`crate::fleet`]).
    pub last_seen: Option<i64>,
    pub online: bool,
    pub last_report: Option<String>,
}

/// A device with the digest its secret must match; never leaves the auth flow.
pub struct DeviceCredential {
    pub device: DeviceRecord,
    secret_digest: String,
    /// A rotated secret the kiosk took and has not signed in with yet.
    pending_digest: Option<String>,
}

/// Which of a device's secrets was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMatch {
    Current,
    /// The rotated one, used for the first time: it replaces the current one.
    Pending,
    None,
}

impl DeviceCredential {
    /// Compares SHA-256 digests in constant time, so timing says nothing about the stored ones.
    pub fn secret_matches(&self, presented: &str) -> SecretMatch {
        let presented = refresh_token::digest(presented);
        let current = bool::from(presented.as_bytes().ct_eq(self.secret_digest.as_bytes()));
        let pending = self
            .pending_digest
            .as_ref()
            .is_some_and(|pending| bool::from(presented.as_bytes().ct_eq(pending.as_bytes())));
        match (current, pending) {
            (_, true) => SecretMatch::Pending,
            (true, false) => SecretMatch::Current,
            (false, false) => SecretMatch::None,
        }
    }
}

/// Makes the pending secret the device's secret (its first sign-in with it); the old one stops
/// working. False when another sign-in did it first.
pub async fn promote_pending(db: &Db, id: &str, presented: &str) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE devices SET secret_hash = pending_secret_hash, pending_secret_hash = NULL \
         WHERE id = $1 AND pending_secret_hash = $2",
    )
    .bind(id)
    .bind(refresh_token::digest(presented))
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

impl fmt::Debug for DeviceCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCredential")
            .field("device", &self.device)
            .field("secret_digest", &"<redacted>")
            .finish()
    }
}

/// Device columns followed by the account's, as `users` reads them.
const SELECT: &str = "SELECT d.id, d.location, d.created_at, d.secret_hash, \
     u.id, u.email, u.first_name, u.last_name, u.role, u.password_hash, u.disabled_at, \
     d.last_seen, d.online, d.last_report, d.pending_secret_hash \
     FROM devices d JOIN users u ON u.id = d.user_id";

/// (id, location, created_at, secret_hash, the account's columns, then last_seen, online,
/// last_report)
type DeviceRow = (
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
);

fn from_row(row: DeviceRow) -> Result<DeviceCredential, StoreError> {
    let (
        id,
        location,
        created_at,
        secret_digest,
        user_id,
        email,
        first,
        last,
        role,
        hash,
        disabled,
        last_seen,
        online,
        last_report,
        pending_digest,
    ) = row;
    Ok(DeviceCredential {
        device: DeviceRecord {
            id,
            location,
            created_at,
            account: users::from_row((user_id, email, first, last, role, hash, disabled))?,
            last_seen,
            online: online != 0,
            last_report,
        },
        secret_digest,
        pending_digest,
    })
}

/// The device and its credential, for a login attempt.
pub async fn find_credential(db: &Db, id: &str) -> Result<Option<DeviceCredential>, StoreError> {
    let row: Option<DeviceRow> = sqlx::query_as(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.map(from_row).transpose()
}

/// Every device, oldest first.
pub async fn list(db: &Db) -> Result<Vec<DeviceRecord>, StoreError> {
    let rows: Vec<DeviceRow> = sqlx::query_as(&format!("{SELECT} ORDER BY d.created_at, d.id"))
        .fetch_all(db.pool())
        .await?;
    rows.into_iter()
        .map(|row| from_row(row).map(|credential| credential.device))
        .collect()
}

/// Binds a device to an existing kiosk account, inside the caller's transaction. False when
/// a device with this id already exists.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    user_id: &str,
    secret: &DeviceSecret,
    location: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO devices (id, user_id, secret_hash, location, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(user_id)
    .bind(secret.digest())
    .bind(location)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A fresh device id, `dev_…`.
pub fn new_id() -> String {
    ids::new_id("dev")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_hex_redacted_and_compared_by_digest() {
        let secret = DeviceSecret::generate();
        assert_eq!(format!("{secret:?}"), "DeviceSecret(<redacted>)");
        let digest = secret.digest();
        let text = secret.into_string();
        assert_eq!(text.len(), 64);
        assert_ne!(digest, text);
        let credential = DeviceCredential {
            device: DeviceRecord {
                id: "dev_1".into(),
                location: "Lobby".into(),
                created_at: 0,
                account: UserRecord {
                    user: consult_types::api::User {
                        id: "usr_1".into(),
                        email: "k@x".into(),
                        first_name: None,
                        last_name: None,
                        role: consult_types::api::Role::Kiosk,
                    },
                    password_hash: None,
                    disabled: false,
                },
                last_seen: None,
                online: false,
                last_report: None,
            },
            secret_digest: digest,
            pending_digest: None,
        };
        assert_eq!(credential.secret_matches(&text), SecretMatch::Current);
        assert_eq!(
            credential.secret_matches(&text.to_uppercase()),
            SecretMatch::None
        );
        assert_eq!(credential.secret_matches(""), SecretMatch::None);
        assert!(!format!("{credential:?}").contains(&credential.secret_digest));
    }
}
