//! Demo mode: well-known accounts and a kiosk device for trying the app. Seeded only when the
//! server runs with `--demo`, and only where missing, so restarts and edited accounts are left
//! alone. Demo mode also turns on the password-less `POST /auth/register-or-login`.

use consult_types::api::Role;
use consult_types::clinic::CallType;
use thiserror::Error;

use crate::appointments::store as appointments;
use crate::auth::device::{self, DeviceSecret};
use crate::auth::password::{PasswordError, Passwords};
use crate::db::{Db, StoreError};
use crate::kiosk_exit;
use crate::users::{self, NewUser};

/// Published in the docs on purpose: these accounts are for demos, never for real patients.
pub const DEMO_PASSWORD: &str = "consult-demo";
/// The demo kiosk's credential, published like the password.
pub const DEMO_DEVICE_ID: &str = "dev_demo_kiosk";
pub const DEMO_DEVICE_SECRET: &str = "consult-demo-kiosk";
/// The kiosks' administrator exit PIN in demo mode, published like the password.
pub const DEMO_EXIT_PIN: &str = "135790";
const DEMO_ADMIN_EMAIL: &str = "admin@demo.clinic";
const DEMO_KIOSK_EMAIL: &str = "kiosk@demo.clinic";
const DEMO_KIOSK_LOCATION: &str = "Demo clinic lobby";

#[derive(Debug, Error)]
pub enum DemoError {
    #[error(
        "the database holds the demo accounts ({accounts}) from an earlier start with --demo; \
         their credentials are public, so they are not served without it: start with --demo \
         to keep demonstrating, or use a fresh data directory (or database_url) for real use"
    )]
    LeftOver { accounts: String },
    #[error("cannot seed the demo accounts: {0}")]
    Store(#[from] StoreError),
    #[error("cannot seed the demo accounts: {0}")]
    Password(#[from] PasswordError),
}

struct DemoAccount {
    email: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    role: Role,
}

const ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount {
        email: "doctor@demo.clinic",
        first_name: "Ada",
        last_name: "Lovelace",
        role: Role::Doctor,
    },
    DemoAccount {
        email: "patient@demo.clinic",
        first_name: "Grace",
        last_name: "Hopper",
        role: Role::Patient,
    },
    DemoAccount {
        email: "agency@demo.clinic",
        first_name: "Sunrise",
        last_name: "Care",
        role: Role::Agency,
    },
    DemoAccount {
        email: DEMO_ADMIN_EMAIL,
        first_name: "Alan",
        last_name: "Turing",
        role: Role::Admin,
    },
];

/// Creates the missing demo accounts; returns how many were created.
pub async fn seed(db: &Db, passwords: &Passwords, now: i64) -> Result<usize, DemoError> {
    let mut created = 0;
    for account in &ACCOUNTS {
        // Hashing is slow; skip it for accounts a previous start already made.
        if users::find_by_email(db, account.email).await?.is_some() {
            continue;
        }
        let hash = passwords.hash(DEMO_PASSWORD.to_owned()).await?;
        let inserted = users::insert_if_absent(
            db,
            NewUser {
                email: account.email,
                password_hash: Some(&hash),
                first_name: Some(account.first_name),
                last_name: Some(account.last_name),
                role: account.role,
            },
            now,
        )
        .await?;
        created += usize::from(inserted);
    }
    created += seed_kiosk(db, now).await?;
    seed_exit_pin(db, passwords, now).await?;
    // The credentials are public by design (README); the log names none of them.
    tracing::warn!(
        created,
        device_id = DEMO_DEVICE_ID,
        "demo mode: well-known demo accounts and a kiosk device with published credentials are \
         active, and anyone may register through /auth/register-or-login; never use this server \
         for real patients"
    );
    Ok(created)
}

/// Without `--demo`: refuses a database that holds any demo account or the demo kiosk, whose
/// credentials are published and would otherwise stay valid forever.
pub async fn refuse_leftovers(db: &Db) -> Result<(), DemoError> {
    let mut found = Vec::new();
    for email in ACCOUNTS
        .iter()
        .map(|account| account.email)
        .chain([DEMO_KIOSK_EMAIL])
    {
        if users::find_by_email(db, email).await?.is_some() {
            found.push(email);
        }
    }
    if device::find_credential(db, DEMO_DEVICE_ID).await?.is_some() {
        found.push(DEMO_DEVICE_ID);
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(DemoError::LeftOver {
        accounts: found.join(", "),
    })
}

/// The demo kiosk account and its device; returns how many of the two were created.
async fn seed_kiosk(db: &Db, now: i64) -> Result<usize, StoreError> {
    if device::find_credential(db, DEMO_DEVICE_ID).await?.is_some() {
        return Ok(0);
    }
    let existing = users::find_by_email(db, DEMO_KIOSK_EMAIL).await?;
    if let Some(record) = existing.as_ref().filter(|r| r.user.role != Role::Kiosk) {
        tracing::warn!(user_id = %record.user.id, "{DEMO_KIOSK_EMAIL} is not a kiosk account; demo kiosk not seeded");
        return Ok(0);
    }
    let mut tx = db.pool().begin().await?;
    let mut created = 0;
    let user_id = match existing {
        Some(record) => record.user.id,
        None => {
            let new = NewUser {
                email: DEMO_KIOSK_EMAIL,
                password_hash: None,
                first_name: Some("Kiosk"),
                last_name: Some(DEMO_KIOSK_LOCATION),
                role: Role::Kiosk,
            };
            let user = users::insert(&mut tx, new, now).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("{DEMO_KIOSK_EMAIL} appeared while seeding"))
            })?;
            created += 1;
            user.id
        }
    };
    let secret = DeviceSecret::from_known(DEMO_DEVICE_SECRET);
    let inserted = device::insert(
        &mut tx,
        DEMO_DEVICE_ID,
        &user_id,
        &secret,
        DEMO_KIOSK_LOCATION,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(created + usize::from(inserted))
}

/// The demo exit PIN, set by the demo administrator (so a database left from a demo is
/// refused without `--demo` like the rest), unless a PIN is set already.
async fn seed_exit_pin(db: &Db, passwords: &Passwords, now: i64) -> Result<(), DemoError> {
    if kiosk_exit::stored_hash(db).await?.is_some() {
        return Ok(());
    }
    let Some(admin) = users::find_by_email(db, DEMO_ADMIN_EMAIL).await? else {
        return Ok(());
    };
    let hash = passwords.hash(DEMO_EXIT_PIN.to_owned()).await?;
    let mut conn = db.pool().acquire().await.map_err(StoreError::from)?;
    kiosk_exit::store_hash(&mut conn, &hash, &admin.user.id, now, false).await?;
    Ok(())
}

/// Demo appointments relative to now: (minutes from now, minutes long, call type, agency on it,
/// waiting room).
const DEMO_SCHEDULE: [(i64, i64, CallType, bool, bool); 4] = [
    (10, 30, CallType::Video, true, false),
    (3 * 60, 20, CallType::Audio, false, false),
    (24 * 60, 30, CallType::Video, true, true),
    (3 * 24 * 60, 45, CallType::Video, false, false),
];

/// Books the demo schedule for the demo doctor unless they have an upcoming appointment;
/// returns how many were booked.
pub async fn seed_appointments(db: &Db, now: i64) -> Result<usize, DemoError> {
    let find = |email: &'static str| async move {
        users::find_by_email(db, email)
            .await?
            .map(|record| record.user.id)
            .ok_or_else(|| StoreError::Corrupt(format!("demo account {email} is missing")))
    };
    let doctor = find("doctor@demo.clinic").await?;
    let patient = find("patient@demo.clinic").await?;
    let agency = find("agency@demo.clinic").await?;
    let upcoming = appointments::list(
        db,
        appointments::Scope::Participant(&doctor),
        Some(now),
        None,
        1,
    )
    .await?;
    if !upcoming.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    for (starts_in, minutes, call_type, with_agency, waiting_room) in DEMO_SCHEDULE {
        let start_time = now + starts_in * 60;
        let record = appointments::NewRecord {
            doctor_id: &doctor,
            patient_id: &patient,
            agency_id: with_agency.then_some(agency.as_str()),
            kiosk_id: None,
            call_type,
            waiting_room,
            start_time,
            end_time: start_time + minutes * 60,
        };
        appointments::insert(&mut tx, &record, now).await?;
    }
    tx.commit().await?;
    tracing::info!(count = DEMO_SCHEDULE.len(), "demo appointments booked");
    Ok(DEMO_SCHEDULE.len())
}
