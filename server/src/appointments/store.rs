//! Appointment rows and queries.

use consult_types::api::display_name;
use consult_types::clinic::{Appointment, AppointmentStatus, CallType, MeetingStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db;
use crate::db::{Backend, Db, StoreError};
use crate::ids;

/// An appointment as stored, with the names of the people on it.
#[derive(Debug, Clone)]
pub struct AppointmentRecord {
    pub id: String,
    pub appointment_code: String,
    pub session_id: String,
    pub doctor_id: String,
    pub patient_id: String,
    pub agency_id: Option<String>,
    pub kiosk_id: Option<String>,
    pub room_name: String,
    pub call_type: CallType,
    pub status: AppointmentStatus,
    pub meeting_status: MeetingStatus,
    pub waiting_room: bool,
    pub start_time: i64,
    pub end_time: i64,
    pub created_at: i64,
    pub doctor_name: String,
    pub patient_name: String,
    pub agency_name: Option<String>,
}

impl AppointmentRecord {
    pub fn to_api(&self) -> Result<Appointment, StoreError> {
        Ok(Appointment {
            id: self.id.clone(),
            appointment_code: self.appointment_code.clone(),
            session_id: self.session_id.clone(),
            doctor_id: self.doctor_id.clone(),
            patient_id: self.patient_id.clone(),
            agency_id: self.agency_id.clone(),
            kiosk_id: self.kiosk_id.clone(),
            room_name: self.room_name.clone(),
            call_type: self.call_type,
            status: self.status,
            meeting_status: self.meeting_status,
            waiting_room: self.waiting_room,
            start_time: db::to_datetime(self.start_time)?,
            end_time: db::to_datetime(self.end_time)?,
            doctor_name: self.doctor_name.clone(),
            patient_name: self.patient_name.clone(),
            agency_name: self.agency_name.clone(),
        })
    }

    /// Everyone on the appointment: who gets its notifications and events.
    pub fn parties(&self) -> Vec<&str> {
        [
            Some(self.doctor_id.as_str()),
            Some(self.patient_id.as_str()),
            self.agency_id.as_deref(),
            self.kiosk_id.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Everyone but the doctor: who is told the call is ready.
    pub fn guests(&self) -> Vec<&str> {
        self.parties()
            .into_iter()
            .filter(|id| *id != self.doctor_id)
            .collect()
    }

    /// Finished or called off: no more joining, changing or asking.
    pub fn is_closed(&self) -> bool {
        matches!(
            self.status,
            AppointmentStatus::Cancelled | AppointmentStatus::Completed
        ) || self.meeting_status == MeetingStatus::Ended
    }
}

const SELECT: &str = "SELECT a.id, a.appointment_code, a.session_id, a.doctor_id, a.patient_id, \
     a.agency_id, a.kiosk_id, a.room_name, a.call_type, a.status, a.meeting_status, \
     a.waiting_room, a.start_time, a.end_time, a.created_at, \
     d.first_name, d.last_name, d.email, p.first_name, p.last_name, p.email, \
     g.first_name, g.last_name, g.email \
     FROM appointments a JOIN users d ON d.id = a.doctor_id JOIN users p ON p.id = a.patient_id \
     LEFT JOIN users g ON g.id = a.agency_id";

fn from_row(row: &AnyRow) -> Result<AppointmentRecord, StoreError> {
    let id: String = row.try_get(0)?;
    let corrupt = |what: &str, value: &str| {
        StoreError::Corrupt(format!("appointment {id} has unknown {what} {value:?}"))
    };
    let call_type: String = row.try_get(8)?;
    let status: String = row.try_get(9)?;
    let meeting_status: String = row.try_get(10)?;
    let name = |first: usize| -> Result<Option<String>, StoreError> {
        let email: Option<String> = row.try_get(first + 2)?;
        Ok(email.map(|email| {
            display_name(
                row.try_get::<Option<String>, _>(first)
                    .ok()
                    .flatten()
                    .as_deref(),
                row.try_get::<Option<String>, _>(first + 1)
                    .ok()
                    .flatten()
                    .as_deref(),
                &email,
            )
        }))
    };
    Ok(AppointmentRecord {
        appointment_code: row.try_get(1)?,
        session_id: row.try_get(2)?,
        doctor_id: row.try_get(3)?,
        patient_id: row.try_get(4)?,
        agency_id: row.try_get(5)?,
        kiosk_id: row.try_get(6)?,
        room_name: row.try_get(7)?,
        call_type: CallType::parse(&call_type).ok_or_else(|| corrupt("call type", &call_type))?,
        status: AppointmentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        meeting_status: MeetingStatus::parse(&meeting_status)
            .ok_or_else(|| corrupt("meeting status", &meeting_status))?,
        waiting_room: row.try_get::<i64, _>(11)? != 0,
        start_time: row.try_get(12)?,
        end_time: row.try_get(13)?,
        created_at: row.try_get(14)?,
        doctor_name: name(15)?.unwrap_or_default(),
        patient_name: name(18)?.unwrap_or_default(),
        agency_name: name(21)?,
        id,
    })
}

pub async fn find_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<AppointmentRecord>, StoreError> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Like [`find_by_id`] inside a write transaction: on PostgreSQL the row stays locked until the
/// transaction ends, so read-modify-write changes cannot overwrite each other. (SQLite write
/// transactions already hold the database's write lock, see `Db::begin_write`.)
pub async fn find_for_update(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
) -> Result<Option<AppointmentRecord>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE OF a",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1{lock}"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find_by_session(
    db: &Db,
    session_id: &str,
) -> Result<Option<AppointmentRecord>, StoreError> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.session_id = $1"))
        .bind(session_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whose appointments a listing shows.
pub enum Scope<'a> {
    All,
    Participant(&'a str),
}

/// Appointments overlapping `[from, to)`, by start time.
pub async fn list(
    db: &Db,
    scope: Scope<'_>,
    from: Option<i64>,
    to: Option<i64>,
    limit: i64,
) -> Result<Vec<AppointmentRecord>, StoreError> {
    let (who, user) = match scope {
        Scope::All => ("TRUE", ""),
        Scope::Participant(user) => (
            "(a.doctor_id = $1 OR a.patient_id = $1 OR a.agency_id = $1 OR a.kiosk_id = $1)",
            user,
        ),
    };
    let sql = format!(
        "{SELECT} WHERE ($1 = $1) AND {who} AND a.end_time > $2 AND a.start_time < $3 \
         ORDER BY a.start_time, a.id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(user)
        .bind(from.unwrap_or(i64::MIN))
        .bind(to.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// A new appointment's values; ids, codes and room names are generated by [`insert`].
pub struct NewRecord<'a> {
    pub doctor_id: &'a str,
    pub patient_id: &'a str,
    pub agency_id: Option<&'a str>,
    pub kiosk_id: Option<&'a str>,
    pub call_type: CallType,
    pub waiting_room: bool,
    pub start_time: i64,
    pub end_time: i64,
}

/// Inserts and returns the new appointment's id.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewRecord<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let id = ids::new_id("apt");
    sqlx::query(
        "INSERT INTO appointments (id, appointment_code, session_id, doctor_id, patient_id, \
         agency_id, kiosk_id, room_name, call_type, status, meeting_status, waiting_room, \
         start_time, end_time, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'scheduled', 'created', $10, $11, $12, $13, $13)",
    )
    .bind(&id)
    .bind(appointment_code())
    .bind(ids::new_id("ses"))
    .bind(new.doctor_id)
    .bind(new.patient_id)
    .bind(new.agency_id)
    .bind(new.kiosk_id)
    .bind(room_name())
    .bind(new.call_type.as_str())
    .bind(i64::from(new.waiting_room))
    .bind(new.start_time)
    .bind(new.end_time)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Writes the changeable fields back. A moved start time re-arms the reminders.
pub async fn update(
    conn: &mut AnyConnection,
    record: &AppointmentRecord,
    start_moved: bool,
    now: i64,
) -> Result<(), StoreError> {
    let reminders = if start_moved {
        ", reminder_24h_at = NULL, reminder_5m_at = NULL, starting_at = NULL"
    } else {
        ""
    };
    sqlx::query(&format!(
        "UPDATE appointments SET agency_id = $1, call_type = $2, status = $3, \
         meeting_status = $4, waiting_room = $5, start_time = $6, end_time = $7, \
         updated_at = $8{reminders} WHERE id = $9"
    ))
    .bind(record.agency_id.as_deref())
    .bind(record.call_type.as_str())
    .bind(record.status.as_str())
    .bind(record.meeting_status.as_str())
    .bind(i64::from(record.waiting_room))
    .bind(record.start_time)
    .bind(record.end_time)
    .bind(now)
    .bind(&record.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves status and meeting status from `from` to `to` unless another request already did;
/// true when this call made the change (and should announce it).
pub async fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: (AppointmentStatus, MeetingStatus),
    to: (AppointmentStatus, MeetingStatus),
    now: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE appointments SET status = $1, meeting_status = $2, updated_at = $3 \
         WHERE id = $4 AND status = $5 AND meeting_status = $6",
    )
    .bind(to.0.as_str())
    .bind(to.1.as_str())
    .bind(now)
    .bind(id)
    .bind(from.0.as_str())
    .bind(from.1.as_str())
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// `consult-` and 128 random bits in lowercase hex: unguessable and valid for Prosody.
fn room_name() -> String {
    format!("consult-{}", ids::hex(&ids::random_bytes::<16>()))
}

/// Ten characters from an alphabet without look-alikes, for reading out on the phone.
fn appointment_code() -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    ids::random_bytes::<10>()
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_lowercase_and_long_enough() {
        let room = room_name();
        assert!(room
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        // 32 hex digits: 128 bits.
        assert_eq!(room.trim_start_matches("consult-").len(), 32);
        assert_ne!(room, room_name());
    }

    #[test]
    fn codes_avoid_look_alikes() {
        let code = appointment_code();
        assert_eq!(code.len(), 10);
        assert!(!code.contains(['0', 'O', '1', 'I']));
    }
}
