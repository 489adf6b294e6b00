//! The account store.

use std::fmt;

use consult_types::api::{Role, User};

use crate::clock;
use crate::db::{Db, StoreError};
use crate::ids;

/// An account with what the API never shows.
pub struct UserRecord {
    pub user: User,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

// The hash must never reach a log line.
impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// What creating an account needs; the email is normalized on insert.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub role: Role,
}

/// The one place emails are canonicalized: surrounding spaces dropped, lowercase.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

type UserRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
);

fn from_row(row: UserRow) -> Result<UserRecord, StoreError> {
    let (id, email, first_name, last_name, role, password_hash, disabled_at) = row;
    let role = Role::parse(&role)
        .ok_or_else(|| StoreError::Corrupt(format!("user {id} has unknown role {role:?}")))?;
    Ok(UserRecord {
        user: User {
            id,
            email,
            first_name,
            last_name,
            role,
        },
        password_hash,
        disabled: disabled_at.is_some(),
    })
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRecord>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, first_name, last_name, role, password_hash, disabled_at \
         FROM users WHERE email = $1",
    )
    .bind(normalize_email(email))
    .fetch_optional(db.pool())
    .await?;
    row.map(from_row).transpose()
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<UserRecord>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, first_name, last_name, role, password_hash, disabled_at \
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.map(from_row).transpose()
}

/// Creates the account unless one with that email exists; true when it was created.
pub async fn insert_if_absent(db: &Db, new: NewUser<'_>) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
    )
    .bind(ids::new_id("usr"))
    .bind(normalize_email(new.email))
    .bind(new.password_hash)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.role.as_str())
    .bind(clock::now_unix())
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(normalize_email("  Ada@Example.ORG "), "ada@example.org");
    }

    #[tokio::test]
    async fn insert_is_idempotent_and_lookups_ignore_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&ServerConfig::with_data_dir(dir.path()))
            .await
            .expect("db");
        let new = || NewUser {
            email: "Ada@Example.org",
            password_hash: Some("not-a-real-hash"),
            first_name: Some("Ada"),
            last_name: None,
            role: Role::Doctor,
        };
        assert!(insert_if_absent(&db, new()).await.expect("insert"));
        assert!(!insert_if_absent(&db, new()).await.expect("second insert"));

        let found = find_by_email(&db, "ADA@example.ORG")
            .await
            .expect("query")
            .expect("found");
        assert_eq!(found.user.email, "ada@example.org");
        assert_eq!(found.user.role, Role::Doctor);
        assert_eq!(found.user.last_name, None);
        assert!(!found.disabled);
        assert!(!format!("{found:?}").contains("not-a-real-hash"));

        let by_id = find_by_id(&db, &found.user.id)
            .await
            .expect("query")
            .expect("found");
        assert_eq!(by_id.user, found.user);
        assert!(find_by_id(&db, "usr_missing")
            .await
            .expect("query")
            .is_none());
        db.close().await;
    }
}
