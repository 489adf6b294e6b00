//! The account store.

use std::fmt;

use consult_types::api::{Role, User};

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

/// Longest accepted email (RFC 5321's path limit less the angle brackets).
const MAX_EMAIL_CHARS: usize = 254;

/// A plausibility check of a normalized email: one `@`, a non-empty local part of at most 64
/// characters, a dotted domain, no spaces or control characters. Deliverability is not checked.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    const INVALID: &str = "The email address is not valid";
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(INVALID);
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(INVALID);
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(INVALID);
    };
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.contains("..")
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-']);
    if local.is_empty() || local.chars().count() > 64 || !domain_ok {
        return Err(INVALID);
    }
    Ok(())
}

/// The columns `SELECT id, email, first_name, last_name, role, password_hash, disabled_at` reads.
pub(crate) type UserRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
);

pub(crate) fn from_row(row: UserRow) -> Result<UserRecord, StoreError> {
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
pub async fn insert_if_absent(db: &Db, new: NewUser<'_>, now: i64) -> Result<bool, StoreError> {
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
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Creates the account inside the caller's transaction; `None` when the email is taken.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    new: NewUser<'_>,
    now: i64,
) -> Result<Option<User>, StoreError> {
    let user = User {
        id: ids::new_id("usr"),
        email: normalize_email(new.email),
        first_name: new.first_name.map(str::to_owned),
        last_name: new.last_name.map(str::to_owned),
        role: new.role,
    };
    let result = sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(new.password_hash)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.role.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok((result.rows_affected() == 1).then_some(user))
}

/// Disables (`true`) or re-enables an account; true when that changed anything.
pub async fn set_disabled(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    disabled: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let result = if disabled {
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await?
    } else {
        sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL")
            .bind(id)
            .execute(conn)
            .await?
    };
    Ok(result.rows_affected() == 1)
}

/// Which accounts `list` returns.
#[derive(Debug, Clone, Copy)]
pub struct UserFilter<'a> {
    /// Only these roles; empty matches nothing.
    pub roles: &'a [Role],
    /// Only this email (normalized here).
    pub email: Option<&'a str>,
    pub include_disabled: bool,
}

/// Accounts matching `filter`, by email.
pub async fn list(db: &Db, filter: UserFilter<'_>) -> Result<Vec<UserRecord>, StoreError> {
    if filter.roles.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=filter.roles.len()).map(|n| format!("${n}")).collect();
    let mut sql = format!(
        "SELECT id, email, first_name, last_name, role, password_hash, disabled_at \
         FROM users WHERE role IN ({})",
        placeholders.join(", ")
    );
    if filter.email.is_some() {
        sql.push_str(&format!(" AND email = ${}", filter.roles.len() + 1));
    }
    if !filter.include_disabled {
        sql.push_str(" AND disabled_at IS NULL");
    }
    sql.push_str(" ORDER BY email");
    let mut query = sqlx::query_as::<_, UserRow>(&sql);
    for role in filter.roles {
        query = query.bind(role.as_str());
    }
    if let Some(email) = filter.email {
        query = query.bind(normalize_email(email));
    }
    query
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    #[test]
    fn plausible_emails_pass_and_others_do_not() {
        for good in [
            "ada@example.org",
            "a.b+c@sub.example.co",
            "dev_1@kiosk.invalid",
        ] {
            assert_eq!(validate_email(good), Ok(()), "{good}");
        }
        let long_local = format!("{}@example.org", "a".repeat(65));
        let long = format!("a@{}.org", "b".repeat(260));
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@localhost",
            "ada@@example.org",
            "a@b@example.org",
            "ada@example..org",
            "ada@.example.org",
            "ada@example.org.",
            "ada lovelace@example.org",
            "ada@exa\nmple.org",
            long_local.as_str(),
            long.as_str(),
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
    }

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
        assert!(insert_if_absent(&db, new(), 0).await.expect("insert"));
        assert!(!insert_if_absent(&db, new(), 0)
            .await
            .expect("second insert"));

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
