//! Demo mode: well-known accounts for trying the app. Seeded only when the server runs with
//! `--demo`, and only where missing, so restarts and edited accounts are left alone.

use consult_types::api::Role;
use thiserror::Error;

use crate::auth::password::{PasswordError, Passwords};
use crate::db::{Db, StoreError};
use crate::users::{self, NewUser};

/// Published in the docs on purpose: these accounts are for demos, never for real patients.
pub const DEMO_PASSWORD: &str = "consult-demo";

#[derive(Debug, Error)]
pub enum DemoError {
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
        email: "admin@demo.clinic",
        first_name: "Alan",
        last_name: "Turing",
        role: Role::Admin,
    },
];

/// Creates the missing demo accounts; returns how many were created.
pub async fn seed(db: &Db, passwords: &Passwords) -> Result<usize, DemoError> {
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
        )
        .await?;
        created += usize::from(inserted);
    }
    tracing::warn!(
        created,
        "demo mode: well-known demo accounts are active; never use this server for real patients"
    );
    Ok(created)
}
