//! Notification rows.

use consult_types::clinic::{Notification, NotificationKind, PushEvent};
use sqlx::AnyConnection;

use crate::appointments::AppointmentRecord;
use crate::db;
use crate::db::{Db, StoreError};
use crate::ids;
use crate::push::Outbox;

/// What a notification says and what it is about; one draft may go to several people.
pub struct Draft<'a> {
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub appointment: &'a AppointmentRecord,
    pub join_request_id: Option<&'a str>,
}

/// Stores `draft` for each of `user_ids` and queues it for their event streams.
pub async fn notify(
    conn: &mut AnyConnection,
    outbox: &mut Outbox,
    user_ids: &[&str],
    draft: &Draft<'_>,
    now: i64,
) -> Result<(), StoreError> {
    for user_id in user_ids {
        let notification = Notification {
            id: ids::new_id("ntf"),
            kind: draft.kind,
            title: draft.title.clone(),
            body: draft.body.clone(),
            appointment_id: draft.appointment.id.clone(),
            session_id: Some(draft.appointment.session_id.clone()),
            join_request_id: draft.join_request_id.map(str::to_owned),
            created_at: db::to_datetime(now)?,
            read_at: None,
        };
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, appointment_id, \
             session_id, join_request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&notification.id)
        .bind(*user_id)
        .bind(notification.kind.as_str())
        .bind(&notification.title)
        .bind(&notification.body)
        .bind(&notification.appointment_id)
        .bind(notification.session_id.as_deref())
        .bind(notification.join_request_id.as_deref())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        outbox.push(user_id, PushEvent::Notification(notification));
    }
    Ok(())
}

type NotificationRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
);

fn from_row(row: NotificationRow) -> Result<Notification, StoreError> {
    let (id, kind, title, body, appointment_id, session_id, join_request_id, created, read) = row;
    Ok(Notification {
        kind: NotificationKind::parse(&kind).ok_or_else(|| {
            StoreError::Corrupt(format!("notification {id} has unknown kind {kind:?}"))
        })?,
        id,
        title,
        body,
        appointment_id,
        session_id,
        join_request_id,
        created_at: db::to_datetime(created)?,
        read_at: db::to_datetime_opt(read)?,
    })
}

const COLUMNS: &str =
    "id, kind, title, body, appointment_id, session_id, join_request_id, created_at, read_at";

/// The user's notifications, newest first.
pub async fn list(
    db: &Db,
    user_id: &str,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<Notification>, StoreError> {
    let unread = if unread_only {
        " AND read_at IS NULL"
    } else {
        ""
    };
    let rows: Vec<NotificationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE user_id = $1{unread} \
         ORDER BY seq DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Marks one of the user's notifications read (again: harmless); `None` if it is not theirs.
pub async fn mark_read(
    db: &Db,
    user_id: &str,
    id: &str,
    now: i64,
) -> Result<Option<Notification>, StoreError> {
    sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    let row: Option<NotificationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(from_row).transpose()
}
