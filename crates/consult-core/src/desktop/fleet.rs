//! The administrator's Kiosks screen: claim an enrolment code, send a command to a kiosk. The
//! fleet itself reaches the UI in the dashboard (`Dashboard::kiosks`), kept by the desk.

use consult_types::{AppError, ClaimKioskArgs, DeviceStatus, KioskCommandArgs};

use super::Desktop;

impl Desktop {
    /// Claims the code a kiosk shows; the kiosk joins the fleet on the dashboard. A refusal
    /// (unknown, claimed, expired, too many tries) says what to do.
    pub async fn claim_kiosk(&self, args: ClaimKioskArgs) -> Result<DeviceStatus, AppError> {
        self.touch();
        self.desk().await?.claim_kiosk(args).await
    }

    /// Sends one command to one kiosk; its id, which the kiosk's heartbeat lists once carried
    /// out (`Heartbeat::acknowledged`, in the fleet's `last_report`).
    pub async fn send_kiosk_command(&self, args: KioskCommandArgs) -> Result<String, AppError> {
        self.touch();
        Ok(self.desk().await?.send_kiosk_command(&args).await?.id)
    }
}
