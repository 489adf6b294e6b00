//! Refresh tokens: opaque 256-bit random strings, stored only as SHA-256 digests, grouped in
//! families (one per login). Each use rotates the token; a second use of the same token means it
//! leaked, so the whole family is revoked (RFC 9700 §4.14.2).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::db::{Db, StoreError};
use crate::ids;

/// A refresh token as handed to the client. Debug never shows it.
pub struct RefreshSecret(String);

impl RefreshSecret {
    /// 256 random bits as 64 hex characters: URL-safe and unambiguous to copy.
    pub fn generate() -> RefreshSecret {
        RefreshSecret(ids::hex(&ids::random_bytes::<32>()))
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// This token sealed for the holder of `used`, the token it replaces (see [`unseal`]).
    pub fn seal_for(&self, used: &str) -> String {
        ids::hex(&xor_pad(&self.0, used).unwrap_or_default())
    }

    /// The successor sealed by [`RefreshSecret::seal_for`], for whoever presents `used` again.
    pub fn unseal(sealed: &str, used: &str) -> Option<RefreshSecret> {
        let bytes = xor_pad(sealed, used)?;
        Some(RefreshSecret(ids::hex(&bytes)))
    }
}

/// XORs 32 hex-encoded bytes with SHA-256 of the used token: a one-time pad that only the
/// used token's holder can remove, while the store keeps only that token's (other) digest.
fn xor_pad(hex: &str, used: &str) -> Option<[u8; 32]> {
    let mut pad: [u8; 32] = Sha256::new()
        .chain_update(b"consult refresh successor\0")
        .chain_update(used.as_bytes())
        .finalize()
        .into();
    if hex.len() != 64 {
        return None;
    }
    for (byte, pair) in pad.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte ^= u8::from_str_radix(pair, 16).ok()?;
    }
    Some(pad)
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

/// What the store keeps of a token: SHA-256, hex. A fast hash suffices for 256 random bits.
pub fn digest(token: &str) -> String {
    ids::hex(&Sha256::digest(token.as_bytes()))
}

/// A stored token with its family's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Once used: its successor, sealed with this token (`RefreshSecret::seal_for`).
    pub successor_sealed: Option<String>,
    pub family_revoked_at: Option<i64>,
    /// When the session (family) began: its absolute lifetime counts from here.
    pub family_created_at: i64,
}

/// Why a family was revoked, kept with it for the audit trail and support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    Reuse,
    /// An administrator disabled the account.
    Disabled,
}

impl RevokeReason {
    fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::Reuse => "reuse",
            RevokeReason::Disabled => "disabled",
        }
    }
}

/// Outcome of trying to replace a token with its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// Someone used the token between our read and our write; treat it as reuse.
    AlreadyUsed,
}

/// Whether an access token's session may still act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    /// Revoked family, disabled account, or a family that is not this user's.
    Ended,
}

/// Starts a family (a login) with its first token; returns the family id.
pub async fn start_family(
    db: &Db,
    user_id: &str,
    token_digest: &str,
    now: i64,
    expires_at: i64,
) -> Result<String, StoreError> {
    let family_id = ids::new_id("fam");
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO refresh_token_families (id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(&family_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    insert_token(&mut tx, &family_id, user_id, token_digest, now, expires_at).await?;
    tx.commit().await?;
    Ok(family_id)
}

/// (id, family_id, user_id, expires_at, used_at, successor_sealed, family revoked_at, family
/// created_at)
type TokenRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
);

pub async fn find_by_digest(
    db: &Db,
    token_digest: &str,
) -> Result<Option<StoredToken>, StoreError> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.id, t.family_id, t.user_id, t.expires_at, t.used_at, t.successor_sealed, \
         f.revoked_at, f.created_at \
         FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id \
         WHERE t.token_hash = $1",
    )
    .bind(token_digest)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(
        |(
            id,
            family_id,
            user_id,
            expires_at,
            used_at,
            successor_sealed,
            family_revoked_at,
            family_created_at,
        )| StoredToken {
            id,
            family_id,
            user_id,
            expires_at,
            used_at,
            successor_sealed,
            family_revoked_at,
            family_created_at,
        },
    ))
}

/// Marks `old` used (keeping its successor sealed for a retry) and adds the successor,
/// atomically. The conditional UPDATE is the arbiter: of two concurrent rotations of one token
/// exactly one sees a row change.
pub async fn rotate(
    db: &Db,
    old: &StoredToken,
    new_digest: &str,
    successor_sealed: &str,
    now: i64,
    expires_at: i64,
) -> Result<Rotation, StoreError> {
    // The write comes first so SQLite takes its write lock at once (no stale-snapshot upgrade).
    let mut tx = db.pool().begin().await?;
    let marked = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1, successor_sealed = $2 \
         WHERE id = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(successor_sealed)
    .bind(&old.id)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(Rotation::AlreadyUsed);
    }
    insert_token(
        &mut tx,
        &old.family_id,
        &old.user_id,
        new_digest,
        now,
        expires_at,
    )
    .await?;
    tx.commit().await?;
    Ok(Rotation::Rotated)
}

/// Ends a session. True when this call revoked it, false when it already was.
pub async fn revoke_family(
    db: &Db,
    family_id: &str,
    reason: RevokeReason,
    now: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE refresh_token_families SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(family_id)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Ends every live session of a user inside the caller's transaction; returns how many.
pub async fn revoke_all_for_user(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    reason: RevokeReason,
    now: i64,
) -> Result<u64, StoreError> {
    let result = sqlx::query(
        "UPDATE refresh_token_families SET revoked_at = $1, revoked_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Checked on every authenticated request, so logout, reuse detection and the end of the
/// session's absolute lifetime (begun at or before `born_by`: ended) end access tokens too.
pub async fn session_state(
    db: &Db,
    family_id: &str,
    user_id: &str,
    born_by: i64,
) -> Result<SessionState, StoreError> {
    // No stored id contains NUL, and PostgreSQL would refuse the query rather than find nothing.
    if family_id.contains('\0') || user_id.contains('\0') {
        return Ok(SessionState::Ended);
    }
    let row: Option<(Option<i64>, Option<i64>, i64)> = sqlx::query_as(
        "SELECT f.revoked_at, u.disabled_at, f.created_at \
         FROM refresh_token_families f JOIN users u ON u.id = f.user_id \
         WHERE f.id = $1 AND f.user_id = $2",
    )
    .bind(family_id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        Some((None, None, created_at)) if created_at > born_by => SessionState::Active,
        _ => SessionState::Ended,
    })
}

async fn insert_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    family_id: &str,
    user_id: &str,
    token_digest: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ids::new_id("rtk"))
    .bind(family_id)
    .bind(user_id)
    .bind(token_digest)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;
    use crate::users::{self, NewUser};
    use consult_types::api::Role;

    #[test]
    fn secrets_are_256_bit_hex_and_redacted() {
        let secret = RefreshSecret::generate();
        assert_eq!(format!("{secret:?}"), "RefreshSecret(<redacted>)");
        let digest = secret.digest();
        let text = secret.into_string();
        assert_eq!(text.len(), 64);
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(digest, super::digest(&text));
        assert_ne!(digest, text);
    }

    #[test]
    fn a_sealed_successor_opens_only_with_the_used_token() {
        let successor = RefreshSecret::generate();
        let used = RefreshSecret::generate().into_string();
        let sealed = successor.seal_for(&used);
        assert_eq!(sealed.len(), 64);
        assert_ne!(sealed, successor.0);
        let opened = RefreshSecret::unseal(&sealed, &used).expect("opens");
        assert_eq!(opened.0, successor.0);
        let wrong = RefreshSecret::unseal(&sealed, "another token").expect("hex");
        assert_ne!(wrong.0, successor.0);
        assert!(RefreshSecret::unseal("not hex", &used).is_none());
    }

    #[test]
    fn digest_is_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn rotation_happens_once_and_revocation_ends_the_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&ServerConfig::with_data_dir(dir.path()))
            .await
            .expect("db");
        users::insert_if_absent(
            &db,
            NewUser {
                email: "a@b.c",
                password_hash: None,
                first_name: None,
                last_name: None,
                role: Role::Patient,
            },
            0,
        )
        .await
        .expect("user");
        let user = users::find_by_email(&db, "a@b.c")
            .await
            .expect("query")
            .expect("user");
        let user_id = user.user.id;

        let family = start_family(&db, &user_id, "digest-1", 100, 200)
            .await
            .expect("family");
        let first = find_by_digest(&db, "digest-1")
            .await
            .expect("query")
            .expect("stored");
        assert_eq!(first.family_id, family);
        assert_eq!((first.expires_at, first.used_at), (200, None));
        assert_eq!(first.family_created_at, 100);
        // Past its absolute lifetime (begun at or before the cut-off) a session has ended.
        assert_eq!(
            session_state(&db, &family, &user_id, 100)
                .await
                .expect("state"),
            SessionState::Ended
        );
        assert_eq!(
            session_state(&db, &family, &user_id, 0)
                .await
                .expect("state"),
            SessionState::Active
        );
        assert_eq!(
            session_state(&db, &family, "usr_other", 0)
                .await
                .expect("state"),
            SessionState::Ended
        );

        assert_eq!(
            rotate(&db, &first, "digest-2", "sealed", 110, 210)
                .await
                .expect("rotate"),
            Rotation::Rotated
        );
        assert_eq!(
            rotate(&db, &first, "digest-3", "sealed", 111, 211)
                .await
                .expect("rotate"),
            Rotation::AlreadyUsed
        );
        assert!(find_by_digest(&db, "digest-3")
            .await
            .expect("query")
            .is_none());
        let second = find_by_digest(&db, "digest-2")
            .await
            .expect("query")
            .expect("successor");
        assert_eq!(second.family_id, family);

        assert!(revoke_family(&db, &family, RevokeReason::Logout, 120)
            .await
            .expect("revoke"));
        assert!(!revoke_family(&db, &family, RevokeReason::Reuse, 121)
            .await
            .expect("revoke again"));
        assert_eq!(
            session_state(&db, &family, &user_id, 0)
                .await
                .expect("state"),
            SessionState::Ended
        );
        let revoked = find_by_digest(&db, "digest-2")
            .await
            .expect("query")
            .expect("still stored");
        assert_eq!(revoked.family_revoked_at, Some(120));
        db.close().await;
    }
}
