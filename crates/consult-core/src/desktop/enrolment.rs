//! Enrolling a kiosk that has no credential yet (no `[kiosk] device_id`, nothing stored): it
//! shows a one-time code ([`KioskStatus::Enrolling`]) until an administrator claims it in the
//! app's Kiosks screen, picks up its device id and secret with the key only it knows, and keeps
//! them in its credential store; the sign-in loop then signs in with them. An expired code is
//! replaced by a new one; while the server is away the code stays on screen and the kiosk keeps
//! asking, since the administrator may claim it meanwhile.

use time::OffsetDateTime;

use consult_types::{AppError, KioskStatus, Pickup};

use super::kiosk_commands::store_credential;
use super::Desktop;
use crate::clinic::ClinicClient;
use crate::enrolment::{self, PICKUP_EVERY};
use crate::kiosk::{Credential, CredentialStore};

impl Desktop {
    /// Enrols the kiosk and returns the credential it stored. An error (no code could be had,
    /// or the credential could not be stored) ends this try; the sign-in loop says so and tries
    /// again.
    pub(super) async fn enrol(
        &self,
        client: &ClinicClient,
        store: &CredentialStore,
    ) -> Result<Credential, AppError> {
        loop {
            let key = enrolment::pickup_key()?;
            let code = client.start_enrolment(&key).await?;
            tracing::info!(
                enrolment_id = %code.enrolment_id,
                "kiosk: not enrolled; showing a code for an administrator to claim"
            );
            self.set_kiosk(KioskStatus::Enrolling {
                code: code.code.clone(),
                qr: enrolment::qr_rows(&code.code)?,
                valid_for_secs: enrolment::seconds_left(code.expires_at, OffsetDateTime::now_utc()),
            });
            loop {
                tokio::time::sleep(PICKUP_EVERY).await;
                match client.pick_up_enrolment(&code.enrolment_id, &key).await {
                    Ok(Pickup::Waiting { .. }) => {}
                    Ok(Pickup::Enrolled {
                        device_id,
                        device_secret,
                        location,
                    }) => {
                        tracing::info!(%device_id, %location, "kiosk: enrolled");
                        let credential = Credential {
                            device_id,
                            secret: device_secret.into(),
                        };
                        return store_credential(store.clone(), credential).await;
                    }
                    // Expired unclaimed, or no longer this kiosk's: a new code.
                    Err(AppError::Rejected {
                        status: 404 | 410, ..
                    }) => break,
                    Err(error) => {
                        tracing::warn!(%error, "kiosk: the enrolment could not be checked; asking again");
                        if OffsetDateTime::now_utc() >= code.expires_at {
                            break;
                        }
                    }
                }
            }
        }
    }
}
