//! What the desk and the call hub report, relayed to the ports: states numbered for the UI,
//! alerts to native notifications, the embedded call's allowances to the window. The call's idle
//! hold lives here too, since this is where the call is seen to open and close.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use url::Url;

use consult_types::{CallScreen, Dashboard, KnockingParticipant, Revised};

use crate::alerts::{self, Alert};
use crate::call::deployment::Deployment;
use crate::call::CallHost;
use crate::desk::DeskObserver;
use crate::idle::{IdleHold, IdleTimer};
use crate::ports::{CallWindow, Notifier, Ui};

use super::setup::Setup;

/// Numbers the states sent to the UI, in the order they were made.
#[derive(Default)]
pub struct Revisions(AtomicU64);

impl Revisions {
    pub fn stamp<T>(&self, value: T) -> Revised<T> {
        Revised {
            revision: self.0.fetch_add(1, Ordering::SeqCst) + 1,
            value,
        }
    }
}

/// The notifier as the desk and the call use it: it remembers what is on screen, so the end of
/// a life can take back every notification it showed (they may name patients).
pub struct OnScreen {
    notifier: Arc<dyn Notifier>,
    shown: Mutex<HashSet<String>>,
}

impl OnScreen {
    pub fn new(notifier: Arc<dyn Notifier>) -> OnScreen {
        OnScreen {
            notifier,
            shown: Mutex::new(HashSet::new()),
        }
    }

    /// Withdraws every notification still on screen.
    pub fn withdraw_all(&self) {
        let shown = std::mem::take(&mut *self.shown());
        for alert_id in shown {
            self.notifier.withdraw(&alert_id);
        }
    }

    fn shown(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.shown.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Notifier for OnScreen {
    fn show(&self, alert: &Alert) {
        self.shown().insert(alert.id.clone());
        self.notifier.show(alert);
    }

    fn withdraw(&self, alert_id: &str) {
        self.shown().remove(alert_id);
        self.notifier.withdraw(alert_id);
    }
}

/// The desk's observer. The desk calls it with its state locked, so stamping here keeps the
/// revisions in the order of its changes.
pub struct DeskRelay {
    pub ui: Arc<dyn Ui>,
    pub notifier: Arc<dyn Notifier>,
    pub revisions: Arc<Revisions>,
    /// Told of every change (a kiosk's visits driver waits on it).
    pub changed: Arc<Notify>,
}

impl DeskObserver for DeskRelay {
    fn dashboard_changed(&self, dashboard: &Dashboard) {
        self.ui
            .dashboard_changed(&self.revisions.stamp(dashboard.clone()));
        self.changed.notify_one();
    }

    fn alert(&self, alert: &Alert) {
        self.notifier.show(alert);
    }

    fn alert_withdrawn(&self, alert_id: &str) {
        self.notifier.withdraw(alert_id);
    }
}

/// The call hub's host.
pub struct CallRelay {
    pub ui: Arc<dyn Ui>,
    pub notifier: Arc<dyn Notifier>,
    pub window: Arc<dyn CallWindow>,
    pub revisions: Arc<Revisions>,
    pub idle: Arc<IdleTimer>,
    /// Held from the call's first state to its close: a call is not idleness.
    pub hold: Mutex<Option<IdleHold>>,
    /// For `show_patient_names`; `None` when the app is not configured (no call can run then).
    pub setup: Option<Arc<Setup>>,
    /// Told of every change (a kiosk's visits driver waits on it).
    pub changed: Arc<Notify>,
    /// Told of every change too: the updates' driver never asks during a call.
    pub updates_wake: Arc<Notify>,
}

impl CallRelay {
    fn show_names(&self) -> bool {
        self.setup
            .as_ref()
            .is_none_or(|setup| setup.settings().notifications.show_patient_names)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<IdleHold>> {
        self.hold.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CallHost for CallRelay {
    fn changed(&self, screen: &CallScreen) {
        self.held().get_or_insert_with(|| self.idle.hold());
        self.ui
            .call_changed(&self.revisions.stamp(Some(screen.clone())));
        self.changed.notify_one();
        self.updates_wake.notify_one();
    }

    fn closed(&self) {
        self.held().take();
        self.ui.call_changed(&self.revisions.stamp(None));
        self.changed.notify_one();
        self.updates_wake.notify_one();
    }

    fn knocking(&self, knocker: &KnockingParticipant, screen: &CallScreen) {
        let alert = alerts::lobby_knock(
            knocker,
            screen.appointment_id.as_deref(),
            &screen.session_id,
            self.show_names(),
        );
        self.notifier.show(&alert);
    }

    fn knock_settled(&self, participant_id: &str, screen: &CallScreen) {
        self.notifier
            .withdraw(&alerts::lobby_knock_id(&screen.session_id, participant_id));
    }

    fn open_embedded(&self, call_page: &Url, deployment: &Deployment) {
        self.window.open_embedded(call_page, deployment);
    }

    fn close_embedded(&self) {
        self.window.close_embedded();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::{CallPathKind, CallSupport, FocusAppointment, SessionEnded};

    /// Records the notifications shown and withdrawn; the other ports do nothing.
    #[derive(Default)]
    struct Shell {
        shown: Mutex<Vec<String>>,
        withdrawn: Mutex<Vec<String>>,
    }

    impl Ui for Shell {
        fn dashboard_changed(&self, _dashboard: &Revised<Dashboard>) {}
        fn call_changed(&self, _call: &Revised<Option<CallScreen>>) {}
        fn session_ended(&self, _ended: &SessionEnded) {}
        fn kiosk_changed(&self, _status: &Revised<consult_types::KioskStatus>) {}
        fn focus_appointment(&self, _focus: &FocusAppointment) {}
        fn show(&self) {}
        fn reload(&self) {}
        fn leave_kiosk(&self) {}
        fn restart_kiosk(&self) {}
        fn kiosk_message(&self, _message: &Revised<Option<consult_types::RoomMessage>>) {}
        fn update_changed(&self, _banner: &consult_types::UpdateBanner) {}
    }

    impl Notifier for Shell {
        fn show(&self, alert: &Alert) {
            self.shown.lock().unwrap().push(alert.id.clone());
        }
        fn withdraw(&self, alert_id: &str) {
            self.withdrawn.lock().unwrap().push(alert_id.to_owned());
        }
    }

    impl CallWindow for Shell {
        fn open_embedded(&self, _call_page: &Url, _deployment: &Deployment) {}
        fn close_embedded(&self) {}
        fn forget_visit(&self) {}
    }

    #[test]
    fn a_settled_knock_withdraws_the_notification_its_knock_showed() {
        let shell = Arc::new(Shell::default());
        let relay = CallRelay {
            ui: shell.clone(),
            notifier: shell.clone(),
            window: shell.clone(),
            revisions: Arc::default(),
            idle: Arc::new(IdleTimer::new(std::time::Duration::ZERO)),
            hold: Mutex::new(None),
            setup: None,
            changed: Arc::default(),
            updates_wake: Arc::default(),
        };
        let screen = CallScreen {
            session_id: "ses_1".into(),
            appointment_id: Some("apt_1".into()),
            support: CallSupport {
                path: CallPathKind::Embedded,
                browser: None,
                forced: false,
                reason: None,
                install_hint: None,
            },
            frame_url: None,
            room_name: "room".into(),
            audio_only: false,
            view: crate::call::CallState::new("Dr", false, false)
                .view()
                .clone(),
        };
        for id in ["k1", "k2"] {
            let knocker = KnockingParticipant {
                id: id.into(),
                name: None,
            };
            relay.knocking(&knocker, &screen);
        }
        relay.knock_settled("k2", &screen);
        let shown = shell.shown.lock().unwrap().clone();
        assert_eq!(*shell.withdrawn.lock().unwrap(), [shown[1].clone()]);
    }
}
