//! Kiosk mode's nightly restart, carried out: at each look of the visits driver (every change
//! of the schedule or the call, and at least once a minute), [`crate::nightly::next`] weighs the
//! clock, the kiosk's visits and its call; when it says so the app ends with the restart code
//! ([`Ui::restart_kiosk`](crate::ports::Ui::restart_kiosk)) and the kiosk's service starts it
//! again. Only while signed in with the schedule live: a kiosk that does not know its visits
//! cannot know it is clear of them.

use time::OffsetDateTime;

use consult_types::Connection;

use super::Desktop;
use crate::nightly::{self, Nightly};

impl Desktop {
    /// One look for life `generation`; when to look again at the latest (`None`: no need, or the
    /// restart is under way). `asked` keeps a restart from being asked twice.
    pub(super) async fn nightly_step(
        &self,
        generation: u64,
        asked: &mut bool,
    ) -> Option<OffsetDateTime> {
        let hour = self.setup().ok()?.kiosk()?.nightly_restart_hour?;
        if *asked {
            return None;
        }
        let guard = self.0.life.read().await;
        let life = guard
            .as_ref()
            .filter(|life| life.generation == generation)?;
        let dashboard = life.desk.dashboard().await;
        if !matches!(dashboard.connection, Connection::Online) {
            // The schedule may be stale; the stream's return wakes the driver.
            return None;
        }
        let in_call = self.0.calls.screen().await.is_some();
        match nightly::next(
            OffsetDateTime::now_utc(),
            &self.0.options.desk.zone,
            hour,
            self.0.started_at,
            &dashboard.appointments,
            in_call,
        ) {
            Nightly::RestartNow => {
                tracing::info!(hour, "kiosk: the nightly restart");
                *asked = true;
                self.0.ports.ui.restart_kiosk();
                None
            }
            Nightly::LookAgainAt(at) => Some(at),
        }
    }
}
