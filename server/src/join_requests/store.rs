//! Join-request rows.

use consult_types::api::{display_name, Role};
use consult_types::clinic::{JoinRequest, JoinRequestStatus};
use sqlx::AnyConnection;

use crate::db;
use crate::db::{Db, StoreError};
use crate::ids;

/// A request as stored, with what the API shows about the requester.
#[derive(Debug, Clone)]
pub struct JoinRequestRecord {
    pub id: String,
    pub appointment_id: String,
    pub session_id: String,
    pub requester_id: String,
    pub requester_name: String,
    pub requester_role: Role,
    pub status: JoinRequestStatus,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
}

impl JoinRequestRecord {
    pub fn to_api(&self) -> Result<JoinRequest, StoreError> {
        Ok(JoinRequest {
            id: self.id.clone(),
            appointment_id: self.appointment_id.clone(),
            session_id: self.session_id.clone(),
            requester_id: self.requester_id.clone(),
            requester_name: self.requester_name.clone(),
            requester_role: self.requester_role,
            status: self.status,
            requested_at: db::to_datetime(self.requested_at)?,
            decided_at: db::to_datetime_opt(self.decided_at)?,
        })
    }
}

const SELECT: &str = "SELECT j.id, j.appointment_id, a.session_id, j.requester_id, \
     u.first_name, u.last_name, u.email, u.role, j.status, j.requested_at, j.decided_at \
     FROM join_requests j JOIN appointments a ON a.id = j.appointment_id \
     JOIN users u ON u.id = j.requester_id";

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

fn from_row(row: Row) -> Result<JoinRequestRecord, StoreError> {
    let (
        id,
        appointment_id,
        session_id,
        requester_id,
        first,
        last,
        email,
        role,
        status,
        at,
        decided,
    ) = row;
    let corrupt = |what: &str, value: &str| {
        StoreError::Corrupt(format!("join request {id} has unknown {what} {value:?}"))
    };
    Ok(JoinRequestRecord {
        requester_name: display_name(first.as_deref(), last.as_deref(), &email),
        requester_role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        status: JoinRequestStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        id,
        appointment_id,
        session_id,
        requester_id,
        requested_at: at,
        decided_at: decided,
    })
}

pub async fn find(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<JoinRequestRecord>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE j.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(from_row).transpose()
}

/// The requester's pending request for the appointment, if any.
pub async fn find_pending(
    conn: &mut AnyConnection,
    appointment_id: &str,
    requester_id: &str,
) -> Result<Option<JoinRequestRecord>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE j.appointment_id = $1 AND j.requester_id = $2 AND j.status = 'pending'"
    ))
    .bind(appointment_id)
    .bind(requester_id)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Whether the requester has been admitted to the appointment.
pub async fn is_approved(
    db: &Db,
    appointment_id: &str,
    requester_id: &str,
) -> Result<bool, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM join_requests \
         WHERE appointment_id = $1 AND requester_id = $2 AND status = 'approved'",
    )
    .bind(appointment_id)
    .bind(requester_id)
    .fetch_one(db.pool())
    .await?;
    Ok(count > 0)
}

/// The latest approved request, so asking again after admission returns it.
pub async fn find_approved(
    conn: &mut AnyConnection,
    appointment_id: &str,
    requester_id: &str,
) -> Result<Option<JoinRequestRecord>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE j.appointment_id = $1 AND j.requester_id = $2 AND j.status = 'approved' \
         ORDER BY j.decided_at DESC LIMIT 1"
    ))
    .bind(appointment_id)
    .bind(requester_id)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Inserts a pending request unless one exists (the partial unique index decides); returns the
/// new id, or `None` when another request is already pending.
pub async fn insert_pending(
    conn: &mut AnyConnection,
    appointment_id: &str,
    requester_id: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let id = ids::new_id("jrq");
    let result = sqlx::query(
        "INSERT INTO join_requests (id, appointment_id, requester_id, status, requested_at) \
         VALUES ($1, $2, $3, 'pending', $4) \
         ON CONFLICT (appointment_id, requester_id) WHERE status = 'pending' DO NOTHING",
    )
    .bind(&id)
    .bind(appointment_id)
    .bind(requester_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok((result.rows_affected() == 1).then_some(id))
}

pub async fn list(
    db: &Db,
    appointment_id: &str,
    status: Option<JoinRequestStatus>,
) -> Result<Vec<JoinRequestRecord>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE j.appointment_id = $1 AND ($2 = '' OR j.status = $2) \
         ORDER BY j.requested_at, j.id"
    ))
    .bind(appointment_id)
    .bind(status.map_or("", JoinRequestStatus::as_str))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Settles a pending request: the doctor's decision (`approved`, `rejected`) or the requester's
/// withdrawal (`withdrawn`), by `decided_by`; true when this call settled it (false: it was
/// already settled).
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    decision: JoinRequestStatus,
    decided_by: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE join_requests SET status = $1, decided_at = $2, decided_by = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(decision.as_str())
    .bind(now)
    .bind(decided_by)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
