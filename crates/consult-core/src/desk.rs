//! The desk: today's and upcoming appointments, the join requests the doctor decides, the user's
//! own requests to join (the [`waiting`](crate::waiting) room) and the push connection, kept
//! current from the event stream and reloaded from the API whenever the stream cannot tell what
//! was missed. Every change is emitted as a whole [`Dashboard`]; an approval that lets the user in
//! is handed out as a value ([`Desk::admissions`]) for the owner to join.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{StreamExt, TryStreamExt};
use jiff::tz::TimeZone;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use consult_types::{
    AppError, Appointment, AppointmentStatus, ClaimKioskArgs, Connection, Dashboard, Decision,
    DeviceCommand, DeviceStatus, JoinRequest, JoinRequestStatus, KioskCommandArgs, MeetingStatus,
    Notification, NotificationKind, NotificationPrefs, PushEvent, Role, SessionEnded,
};

use crate::alerts::{self, Alert, Side};
use crate::push::{self, PushHandler, PushOptions, PushUpdate};
use crate::session::SessionManager;
use crate::waiting::{Outcome, OwnRequests};

/// How many appointments' join requests are fetched at once during a reload.
const PARALLEL_FETCHES: usize = 4;

/// What the desk tells its owner. Called from the desk's tasks while its state is locked, so
/// that emitted dashboards are never out of order: implementations must not call back into the
/// [`Desk`]. The desk's end is not an event: its owner awaits [`Desk::ended`].
pub trait DeskObserver: Send + Sync + 'static {
    fn dashboard_changed(&self, dashboard: &Dashboard);
    fn alert(&self, alert: &Alert);
    /// What the alert with this [`Alert::id`] asked about is settled (a join request decided
    /// here or elsewhere, its appointment cancelled or over, a resync without it): take its
    /// notification back. Always after that alert's [`DeskObserver::alert`].
    fn alert_withdrawn(&self, alert_id: &str);
}

/// Knobs for tests and special set-ups; [`Desk::start`] uses the defaults.
#[derive(Clone)]
pub struct DeskOptions {
    pub push: PushOptions,
    /// The zone alert times are written in.
    pub zone: TimeZone,
    /// Notifications created before this (less the allowed clock skew) raise no alert.
    pub signed_in_at: OffsetDateTime,
}

impl Default for DeskOptions {
    fn default() -> DeskOptions {
        DeskOptions {
            push: PushOptions::from_env(),
            zone: TimeZone::system(),
            signed_in_at: OffsetDateTime::now_utc(),
        }
    }
}

pub struct Desk {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    admissions: Mutex<Option<mpsc::UnboundedReceiver<JoinRequest>>>,
    device_commands: Mutex<Option<mpsc::UnboundedReceiver<DeviceCommand>>>,
}

struct Shared {
    session: Arc<SessionManager>,
    observer: Arc<dyn DeskObserver>,
    state: Mutex<State>,
    prefs: Mutex<NotificationPrefs>,
    zone: TimeZone,
    signed_in_at: OffsetDateTime,
    /// Why the session is over, once it is; the first reason wins.
    ended: watch::Sender<Option<SessionEnded>>,
    /// Set after the first reload: later reloads (resyncs) may have missed notifications.
    loaded: AtomicBool,
    /// Approvals that let the user in, for the owner to join.
    admissions: mpsc::UnboundedSender<JoinRequest>,
    /// A kiosk's commands from the clinic's administrators, for the owner to carry out.
    device_commands: mpsc::UnboundedSender<DeviceCommand>,
}

struct State {
    appointments: HashMap<String, Appointment>,
    /// Others' requests for the doctor to decide; pending only.
    join_requests: HashMap<String, JoinRequest>,
    /// The user's own requests to join.
    own: OwnRequests,
    connection: Connection,
    raised: Raised,
    /// The clinic's kiosks by device id: an administrator's only (`None` for other roles).
    kiosks: Option<HashMap<String, DeviceStatus>>,
}

/// Alerts on screen that ask about something still open on the desk, by that thing; each is
/// withdrawn once it leaves the desk (the one rule, whichever way it leaves).
#[derive(Default)]
struct Raised {
    /// Join request id → the id of the alert asking to admit it.
    join_requests: HashMap<String, String>,
    /// Appointment id → the ids of alerts about its call (ready, starting, reminders).
    appointments: HashMap<String, Vec<String>>,
}

impl Desk {
    /// Starts the desk for the signed-in session: one push stream, which loads the schedule as
    /// soon as it is connected.
    pub fn start(
        session: Arc<SessionManager>,
        prefs: NotificationPrefs,
        observer: Arc<dyn DeskObserver>,
    ) -> Desk {
        Desk::start_with(session, prefs, observer, DeskOptions::default())
    }

    pub fn start_with(
        session: Arc<SessionManager>,
        prefs: NotificationPrefs,
        observer: Arc<dyn DeskObserver>,
        options: DeskOptions,
    ) -> Desk {
        let (admitted, admissions) = mpsc::unbounded_channel();
        let (commanded, device_commands) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            session,
            observer,
            state: Mutex::new(State {
                appointments: HashMap::new(),
                join_requests: HashMap::new(),
                own: OwnRequests::default(),
                connection: Connection::Connecting,
                raised: Raised::default(),
                kiosks: None,
            }),
            prefs: Mutex::new(prefs),
            zone: options.zone,
            signed_in_at: options.signed_in_at,
            ended: watch::Sender::new(None),
            loaded: AtomicBool::new(false),
            admissions: admitted,
            device_commands: commanded,
        });
        let task = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                let mut handler = Handler {
                    shared: Arc::clone(&shared),
                };
                let error = push::run(&shared.session, &options.push, &mut handler).await;
                shared.end_session(&error);
            }
        });
        Desk {
            shared,
            task,
            admissions: Mutex::new(Some(admissions)),
            device_commands: Mutex::new(Some(device_commands)),
        }
    }

    /// A kiosk's commands as its event stream brings them; the owner carries them out. Only the
    /// first caller gets them.
    pub fn device_commands(&self) -> Option<mpsc::UnboundedReceiver<DeviceCommand>> {
        self.device_commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The user's approved requests to join, each once, as they let the user in; the owner joins
    /// their calls. Only the first caller gets them.
    pub fn admissions(&self) -> Option<mpsc::UnboundedReceiver<JoinRequest>> {
        self.admissions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Asks the doctor to be let into an appointment's call. The wait shows on the dashboard;
    /// an approval given before lets the user in at once.
    pub async fn ask_to_join(&self, appointment_id: &str) -> Result<(), AppError> {
        let client = self.shared.session.client();
        let request = self
            .shared
            .call(|token| async move { client.request_to_join(&token, appointment_id).await })
            .await?;
        self.shared.update_own(|own| own.asked(request));
        Ok(())
    }

    /// Stops waiting. The request leaves the dashboard at once, so an approval racing this
    /// opens nothing; if the server cannot be told it comes back, with the error returned.
    pub async fn withdraw(&self, join_request_id: &str) -> Result<(), AppError> {
        let Some(waiting) = self.shared.state().own.take(join_request_id) else {
            return Ok(());
        };
        self.shared.emit();
        let client = self.shared.session.client();
        let id = join_request_id;
        let result = self
            .shared
            .call(|token| async move { client.withdraw_join_request(&token, id).await })
            .await;
        match result {
            Ok(_) => Ok(()),
            // Decided first: approved, the user may still join; declined, nothing to wait for.
            Err(AppError::Rejected { status: 409, .. }) => Ok(()),
            Err(error) => {
                self.shared.update_own(|own| own.reported(waiting));
                Err(error)
            }
        }
    }

    /// Puts a declined request, or an approval whose call did not open, away.
    pub fn dismiss(&self, join_request_id: &str) {
        self.shared
            .update_own(|own| Outcome::changed(own.forget(join_request_id)));
    }

    /// The call an admission asked for opened: the wait is over.
    pub fn joined(&self, join_request_id: &str) {
        self.shared
            .update_own(|own| Outcome::changed(own.joined(join_request_id)));
    }

    /// The call an admission asked for did not open: the waiting room says why.
    pub fn join_failed(&self, join_request_id: &str, why: String) {
        self.shared
            .update_own(|own| Outcome::changed(own.join_failed(join_request_id, why)));
    }

    pub async fn dashboard(&self) -> Dashboard {
        self.shared.state().dashboard()
    }

    /// Emits the current dashboard again (a UI that just started listening), in order with the
    /// desk's own changes.
    pub fn republish(&self) {
        let state = self.shared.state();
        self.shared.observer.dashboard_changed(&state.dashboard());
    }

    /// Resolves once the session behind this desk is over (its refresh was refused, the account
    /// was disabled, …), with the reason to show; never while it lasts.
    pub fn ended(&self) -> impl std::future::Future<Output = SessionEnded> + Send + 'static {
        let mut ended = self.shared.ended.subscribe();
        async move {
            let reason = match ended.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone(),
                Err(_) => None,
            };
            match reason {
                Some(reason) => reason,
                // The desk is gone without an end: it was stopped, so nothing ends from here.
                None => std::future::pending().await,
            }
        }
    }

    /// Admits or declines one join request. Deciding again the same way is harmless; the
    /// opposite of an earlier decision is refused with a message that says so.
    pub async fn decide(
        &self,
        join_request_id: &str,
        decision: Decision,
    ) -> Result<Dashboard, AppError> {
        self.shared.decide(join_request_id, decision).await?;
        Ok(self.shared.state().dashboard())
    }

    /// Admits every pending request (of one appointment, when given). All are tried; the first
    /// failure is returned after the others went through.
    pub async fn admit_all(&self, appointment_id: Option<&str>) -> Result<Dashboard, AppError> {
        let mut ids: Vec<(OffsetDateTime, String)> = self
            .shared
            .state()
            .join_requests
            .values()
            .filter(|request| appointment_id.is_none_or(|id| request.appointment_id == id))
            .map(|request| (request.requested_at, request.id.clone()))
            .collect();
        ids.sort();
        let mut first_error = None;
        for (_, id) in ids {
            if let Err(error) = self.shared.decide(&id, Decision::Admit).await {
                if matches!(error, AppError::SessionExpired | AppError::NotSignedIn) {
                    return Err(error);
                }
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(self.shared.state().dashboard()),
        }
    }

    /// Administrators: claims the enrolment code a kiosk shows; the kiosk joins the fleet at
    /// once (offline until its first heartbeat). A refusal says what to do.
    pub async fn claim_kiosk(&self, args: ClaimKioskArgs) -> Result<DeviceStatus, AppError> {
        let claim = crate::fleet::claim_request(args)?;
        let client = self.shared.session.client();
        let claim = &claim;
        let kiosk = self
            .shared
            .call(|token| async move { client.claim_enrolment(&token, claim).await })
            .await
            .map_err(crate::fleet::claim_refused)?;
        tracing::info!(device_id = %kiosk.device_id, "kiosk claimed");
        self.shared.update(|state| state.apply_kiosk(kiosk.clone()));
        Ok(kiosk)
    }

    /// Administrators: sends one command to one kiosk over its event stream.
    pub async fn send_kiosk_command(
        &self,
        args: &KioskCommandArgs,
    ) -> Result<DeviceCommand, AppError> {
        let command = crate::fleet::command_request(args)?;
        let client = self.shared.session.client();
        let (id, command) = (args.device_id.as_str(), &command);
        let sent = self
            .shared
            .call(|token| async move { client.send_device_command(&token, id, command).await })
            .await
            .map_err(crate::fleet::command_refused)?;
        tracing::info!(device_id = %sent.device_id, command = sent.command.as_str(), "kiosk command sent");
        Ok(sent)
    }

    pub fn set_prefs(&self, prefs: NotificationPrefs) {
        *self
            .shared
            .prefs
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = prefs;
    }

    /// Closes the push stream and stops; no event is emitted after this returns.
    pub async fn stop(self) {
        self.task.abort();
        // A cancelled task is the expected outcome here.
        let _ = self.task.await;
    }
}

impl State {
    /// Remembers what `alert` asks about, so it is withdrawn when that leaves the desk. A join
    /// request's notification usually comes just before the request's own event: the pending
    /// request it names (fetched) is put on the desk now. True when the dashboard changed.
    fn raise(&mut self, alert: &Alert, join_request: Option<&JoinRequest>) -> bool {
        match join_request {
            Some(request) => {
                let changed = self.apply_join_request(request.clone());
                if self.join_requests.contains_key(&request.id) {
                    self.raised
                        .join_requests
                        .insert(request.id.clone(), alert.id.clone());
                }
                changed
            }
            None => {
                if alert.join_request_id.is_none()
                    && self.appointments.contains_key(&alert.appointment_id)
                {
                    self.raised
                        .appointments
                        .entry(alert.appointment_id.clone())
                        .or_default()
                        .push(alert.id.clone());
                }
                false
            }
        }
    }

    /// Forgets and returns the alerts whose subject left the desk: a join request no longer
    /// pending here, an appointment no longer on the schedule.
    fn settled_alerts(&mut self) -> Vec<String> {
        let mut settled = Vec::new();
        let requests = &self.join_requests;
        self.raised.join_requests.retain(|request_id, alert_id| {
            let open = requests.contains_key(request_id);
            if !open {
                settled.push(std::mem::take(alert_id));
            }
            open
        });
        let appointments = &self.appointments;
        self.raised
            .appointments
            .retain(|appointment_id, alert_ids| {
                let open = appointments.contains_key(appointment_id);
                if !open {
                    settled.append(alert_ids);
                }
                open
            });
        settled
    }

    fn dashboard(&self) -> Dashboard {
        let mut appointments: Vec<Appointment> = self.appointments.values().cloned().collect();
        appointments.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
        let mut join_requests: Vec<JoinRequest> = self.join_requests.values().cloned().collect();
        join_requests.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
        Dashboard {
            appointments,
            join_requests,
            own_requests: self.own.list(),
            connection: self.connection.clone(),
            kiosks: self.kiosks.as_ref().map(crate::fleet::listed),
        }
    }

    /// A kiosk's status from a `device_status` event or a claim replaces its entry (or adds
    /// it); true when the fleet changed. Not an administrator's desk: nothing to keep.
    fn apply_kiosk(&mut self, kiosk: DeviceStatus) -> bool {
        let Some(kiosks) = self.kiosks.as_mut() else {
            return false;
        };
        let changed = kiosks.get(&kiosk.device_id) != Some(&kiosk);
        kiosks.insert(kiosk.device_id.clone(), kiosk);
        changed
    }

    /// Applies a changed appointment; true when the schedule changed.
    fn apply_appointment(&mut self, appointment: Appointment) -> bool {
        if on_schedule(&appointment) {
            let changed = self.appointments.get(&appointment.id) != Some(&appointment);
            self.appointments
                .insert(appointment.id.clone(), appointment);
            changed
        } else {
            let removed = self.appointments.remove(&appointment.id).is_some();
            let before = self.join_requests.len();
            // Nobody is admitted to a call that is over.
            self.join_requests
                .retain(|_, request| request.appointment_id != appointment.id);
            let own = self.own.retain_appointments(|id| id != appointment.id);
            removed || before != self.join_requests.len() || own
        }
    }

    fn apply_join_request(&mut self, request: JoinRequest) -> bool {
        if request.status == JoinRequestStatus::Pending {
            let changed = self.join_requests.get(&request.id) != Some(&request);
            self.join_requests.insert(request.id.clone(), request);
            changed
        } else {
            self.join_requests.remove(&request.id).is_some()
        }
    }
}

/// Whether an appointment belongs on the schedule: not cancelled, completed or ended.
fn on_schedule(appointment: &Appointment) -> bool {
    !matches!(
        appointment.status,
        AppointmentStatus::Cancelled | AppointmentStatus::Completed
    ) && appointment.meeting_status != MeetingStatus::Ended
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is replaced or updated in single steps; a panic elsewhere leaves it whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn prefs(&self) -> NotificationPrefs {
        self.prefs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the user's own requests; an admission goes to the owner, in order with the
    /// dashboard that shows it.
    fn update_own(&self, change: impl FnOnce(&mut OwnRequests) -> Outcome) {
        let mut state = self.state();
        let outcome = change(&mut state.own);
        if outcome.changed {
            self.observer.dashboard_changed(&state.dashboard());
        }
        if let Some(request) = outcome.admitted {
            tracing::info!(join_request_id = %request.id, "let in: joining the call");
            // The owner is gone only when the desk is stopping.
            let _ = self.admissions.send(request);
        }
    }

    fn emit(&self) {
        let state = self.state();
        self.observer.dashboard_changed(&state.dashboard());
    }

    /// Whether a request is the signed-in user's own.
    async fn is_own(&self, request: &JoinRequest) -> bool {
        self.session
            .current()
            .await
            .is_some_and(|view| view.user.id == request.requester_id)
    }

    /// Applies a join request the stream or a fetch reports, to the side it belongs to.
    async fn apply_reported(&self, request: JoinRequest) {
        if self.is_own(&request).await {
            self.update_own(|own| own.reported(request));
        } else {
            self.update(|state| state.apply_join_request(request));
        }
    }

    /// Changes the state and emits the dashboard if `change` says something changed, then
    /// withdraws the alerts whose subject the change settled.
    fn update(&self, change: impl FnOnce(&mut State) -> bool) {
        let mut state = self.state();
        if change(&mut state) {
            self.observer.dashboard_changed(&state.dashboard());
        }
        self.withdraw_settled(&mut state);
    }

    /// Called with the state locked, like every event, so that a withdrawal never overtakes
    /// the alert it takes back.
    fn withdraw_settled(&self, state: &mut State) {
        for alert_id in state.settled_alerts() {
            tracing::debug!(%alert_id, "alert withdrawn: what it asked about is settled");
            self.observer.alert_withdrawn(&alert_id);
        }
    }

    fn set_connection(&self, connection: Connection) {
        self.update(|state| {
            let changed = state.connection != connection;
            state.connection = connection;
            changed
        });
    }

    /// Records why the session is over, once; [`Desk::ended`] resolves with it.
    fn end_session(&self, error: &AppError) {
        let reason = match error {
            // Any other cause is the same for the user: sign in again.
            AppError::SessionExpired | AppError::NotSignedIn => {
                AppError::SessionExpired.to_string()
            }
            other => other.to_string(),
        };
        let first = self.ended.send_if_modified(|ended| {
            ended.is_none() && {
                *ended = Some(SessionEnded { reason });
                true
            }
        });
        if first {
            tracing::info!("the session ended; the desk stops");
        }
    }

    /// Runs an API call with the session's token (one refresh on a 401); a refused refresh ends
    /// the session.
    async fn call<T, F, Fut>(&self, call: F) -> Result<T, AppError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        let result = self.session.authorized(call).await;
        if let Err(error @ (AppError::SessionExpired | AppError::NotSignedIn)) = &result {
            self.end_session(error);
        }
        result
    }

    async fn decide(&self, id: &str, decision: Decision) -> Result<(), AppError> {
        let client = self.session.client();
        let result = self
            .call(|token| async move { client.decide_join_request(&token, id, decision).await })
            .await;
        match result {
            Ok(request) => {
                self.update(|state| state.apply_join_request(request));
                Ok(())
            }
            Err(error) => {
                match &error {
                    // Decided elsewhere: show the request as it is now.
                    AppError::Rejected { status: 409, .. } => {
                        let current = self
                            .call(|token| async move { client.join_request(&token, id).await })
                            .await;
                        if let Ok(request) = current {
                            self.update(|state| state.apply_join_request(request));
                        }
                    }
                    AppError::Rejected { status: 404, .. } => {
                        self.update(|state| state.join_requests.remove(id).is_some());
                    }
                    _ => {}
                }
                Err(error)
            }
        }
    }

    /// Replaces the schedule and join requests with the API's. On a resync it also raises the
    /// alerts of unread notifications the stream could not replay (the first load does not:
    /// what happened before the sign-in is on the dashboard, not worth a pop-up).
    async fn reload(&self) -> Result<(), AppError> {
        let client = self.session.client();
        let from = self.start_of_today();
        let appointments = self
            .call(|token| async move { client.appointments(&token, Some(from)).await })
            .await?;
        let appointments: Vec<Appointment> = appointments.into_iter().filter(on_schedule).collect();
        let ids: Vec<String> = appointments.iter().map(|a| a.id.clone()).collect();
        // Owned ids: a closure handing out borrows trips the compiler's Send inference here.
        let requests: Vec<Vec<JoinRequest>> = futures_util::stream::iter(ids)
            .map(|id: String| {
                async move {
                    let id = id.as_str();
                    let listed = self
                        .call(|token| async move { client.pending_join_requests(&token, id).await })
                        .await;
                    match listed {
                        // Cancelled or removed since the listing: nothing to show.
                        Err(AppError::Rejected { status: 404, .. }) => Ok(Vec::new()),
                        // Only the appointment's doctor decides who joins; a patient or an
                        // agency signed in here has a schedule without requests to answer.
                        Err(AppError::Rejected { status: 403, .. }) => Ok(Vec::new()),
                        other => other,
                    }
                }
            })
            .buffer_unordered(PARALLEL_FETCHES)
            .try_collect()
            .await?;
        // The fleet, like the schedule, is whole after every (re)load; events keep it since.
        let admin = self
            .session
            .current()
            .await
            .is_some_and(|view| view.user.role == Role::Admin);
        let kiosks = if admin {
            let devices = self
                .call(|token| async move { client.devices(&token).await })
                .await?;
            Some(
                devices
                    .into_iter()
                    .map(|kiosk| (kiosk.device_id.clone(), kiosk))
                    .collect(),
            )
        } else {
            None
        };
        self.update(|state| {
            state.kiosks = kiosks;
            state.appointments = appointments
                .into_iter()
                .map(|appointment| (appointment.id.clone(), appointment))
                .collect();
            state.join_requests = requests
                .into_iter()
                .flatten()
                .filter(|request| request.status == JoinRequestStatus::Pending)
                .map(|request| (request.id.clone(), request))
                .collect();
            let appointments = &state.appointments;
            state
                .own
                .retain_appointments(|id| appointments.contains_key(id));
            true
        });
        // The stream may have missed the answer to a wait: ask for each.
        let waiting = self.state().own.pending_ids();
        for id in waiting {
            let id = id.as_str();
            let current = self
                .call(|token| async move { client.join_request(&token, id).await })
                .await;
            match current {
                Ok(request) => self.apply_reported(request).await,
                Err(AppError::Rejected { status: 404, .. }) => {
                    self.update_own(|own| Outcome::changed(own.forget(id)));
                }
                Err(error) => return Err(error),
            }
        }
        tracing::info!("desk reloaded from the clinic server");
        if !self.loaded.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let unread = self
            .call(|token| async move { client.notifications(&token, true).await })
            .await?;
        // Oldest first, as they happened.
        for notification in unread.into_iter().rev() {
            self.notify(notification).await;
        }
        Ok(())
    }

    /// Local midnight today, as the schedule's start.
    fn start_of_today(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        jiff::Timestamp::from_second(now.unix_timestamp())
            .ok()
            .and_then(|timestamp| timestamp.to_zoned(self.zone.clone()).start_of_day().ok())
            .and_then(|midnight| {
                OffsetDateTime::from_unix_timestamp(midnight.timestamp().as_second()).ok()
            })
            .unwrap_or(now - time::Duration::days(1))
    }

    /// Raises the alert for a notification, if it is new, wanted and still relevant.
    async fn notify(&self, notification: Notification) {
        if !alerts::is_since(&notification, self.signed_in_at) {
            return;
        }
        let prefs = self.prefs();
        if !alerts::wanted(notification.kind, &prefs) || !alerts::first_time(&notification.id) {
            return;
        }
        let client = self.session.client();
        let known = self
            .state()
            .appointments
            .get(&notification.appointment_id)
            .cloned();
        let appointment = match known {
            Some(appointment) => Some(appointment),
            None => {
                let id = notification.appointment_id.as_str();
                self.call(|token| async move { client.appointment(&token, id).await })
                    .await
                    .ok()
            }
        };
        let join_request = match (&notification.kind, &notification.join_request_id) {
            (NotificationKind::JoinRequestCreated, Some(id)) => {
                let known = self.state().join_requests.get(id).cloned();
                match known {
                    Some(request) => Some(request),
                    // The notification comes before the request's own event: fetch it.
                    None => self
                        .call(|token| async move { client.join_request(&token, id).await })
                        .await
                        .ok(),
                }
            }
            // The requester's own request, decided: what was decided is on the request.
            (NotificationKind::JoinRequestDecided, Some(id)) => self
                .call(|token| async move { client.join_request(&token, id).await })
                .await
                .ok(),
            _ => None,
        };
        if notification.kind == NotificationKind::JoinRequestCreated
            && join_request
                .as_ref()
                .is_some_and(|request| request.status != JoinRequestStatus::Pending)
        {
            // Decided already (a replay after a reconnect): nothing left to ask.
            return;
        }
        let side = match self.session.current().await {
            Some(view) => Side::of(view.user.role),
            None => return,
        };
        let Some(alert) = alerts::compose(
            &notification,
            appointment.as_ref(),
            join_request.as_ref(),
            &prefs,
            &self.zone,
            side,
        ) else {
            return;
        };
        // Only a request to decide belongs on the doctor's panel.
        let join_request = join_request.filter(|_| side == Side::Doctor);
        // Under the lock: a decision racing this (the panel's) is applied either before, and
        // the stream's later event for it withdraws the alert, or after, and withdraws it then.
        let mut state = self.state();
        if state.raise(&alert, join_request.as_ref()) {
            self.observer.dashboard_changed(&state.dashboard());
        }
        tracing::info!(kind = notification.kind.as_str(), "alert raised");
        self.observer.alert(&alert);
    }
}

/// Feeds the push stream into the desk.
struct Handler {
    shared: Arc<Shared>,
}

impl PushHandler for Handler {
    async fn handle(&mut self, update: PushUpdate) -> Result<(), AppError> {
        let shared = &self.shared;
        match update {
            PushUpdate::Connecting => {
                // Offline stays shown (with its reason) until the stream is back.
                let offline = matches!(shared.state().connection, Connection::Offline { .. });
                if !offline {
                    shared.set_connection(Connection::Connecting);
                }
            }
            PushUpdate::Ready { reload } => {
                if reload {
                    shared.reload().await?;
                }
                shared.set_connection(Connection::Online);
            }
            PushUpdate::Event(event) => match *event {
                PushEvent::Appointment(appointment) => {
                    shared.update(|state| state.apply_appointment(appointment));
                }
                PushEvent::JoinRequest(request) => shared.apply_reported(request).await,
                PushEvent::Notification(notification) => {
                    shared.notify(notification).await;
                }
                PushEvent::DeviceStatus(kiosk) => {
                    shared.update(|state| state.apply_kiosk(kiosk));
                }
                PushEvent::DeviceCommand(command) => {
                    // Nobody listening (not a kiosk's life) is no error.
                    let _ = shared.device_commands.send(command);
                }
            },
            PushUpdate::Offline { reason, retry_in } => {
                shared.set_connection(Connection::Offline {
                    reason,
                    retry_in_secs: retry_in.as_secs_f64().ceil() as u64,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::CallType;
    use time::macros::datetime;

    fn appointment(id: &str) -> Appointment {
        Appointment {
            id: id.into(),
            appointment_code: "ABC".into(),
            session_id: format!("ses_{id}"),
            doctor_id: "usr_d".into(),
            patient_id: "usr_p".into(),
            agency_id: None,
            kiosk_id: None,
            room_name: "room".into(),
            call_type: CallType::Video,
            status: AppointmentStatus::Scheduled,
            meeting_status: MeetingStatus::Created,
            waiting_room: false,
            start_time: datetime!(2030-03-04 13:30 UTC),
            end_time: datetime!(2030-03-04 14:00 UTC),
            doctor_name: "Ada Lovelace".into(),
            patient_name: "Grace Hopper".into(),
            agency_name: None,
        }
    }

    fn request(id: &str, appointment_id: &str) -> JoinRequest {
        JoinRequest {
            id: id.into(),
            appointment_id: appointment_id.into(),
            session_id: format!("ses_{appointment_id}"),
            requester_id: "usr_x".into(),
            requester_name: "Sam Carer".into(),
            requester_role: Role::Agency,
            status: JoinRequestStatus::Pending,
            requested_at: datetime!(2030-03-04 13:20 UTC),
            decided_at: None,
        }
    }

    fn alert(id: &str, appointment_id: &str, join_request_id: Option<&str>) -> Alert {
        Alert {
            id: id.into(),
            kind: if join_request_id.is_some() {
                NotificationKind::JoinRequestCreated
            } else {
                NotificationKind::VideoCallStarting
            },
            title: "t".into(),
            body: "b".into(),
            appointment_id: appointment_id.into(),
            session_id: None,
            join_request_id: join_request_id.map(Into::into),
            lobby_participant_id: None,
        }
    }

    fn desk_with(appointments: &[&str]) -> State {
        State {
            appointments: appointments
                .iter()
                .map(|id| ((*id).to_owned(), appointment(id)))
                .collect(),
            join_requests: HashMap::new(),
            own: OwnRequests::default(),
            connection: Connection::Online,
            raised: Raised::default(),
            kiosks: None,
        }
    }

    #[test]
    fn a_resync_without_the_request_withdraws_its_alert_and_keeps_the_others() {
        let mut state = desk_with(&["a1", "a2"]);
        let (kept, dropped) = (request("j1", "a1"), request("j2", "a2"));
        assert!(state.raise(&alert("n1", "a1", Some("j1")), Some(&kept)));
        assert!(state.raise(&alert("n2", "a2", Some("j2")), Some(&dropped)));
        assert!(!state.raise(&alert("n3", "a2", None), None));
        assert_eq!(state.settled_alerts(), Vec::<String>::new());

        // A reload that no longer lists j2 (decided while the stream was away).
        state.join_requests = HashMap::from([(kept.id.clone(), kept.clone())]);
        assert_eq!(state.settled_alerts(), ["n2"]);
        assert_eq!(state.settled_alerts(), Vec::<String>::new(), "once only");

        // The appointment leaves the schedule: its call alert and its requests' alerts go.
        let mut over = appointment("a1");
        over.meeting_status = MeetingStatus::Ended;
        assert!(state.apply_appointment(over));
        assert_eq!(state.settled_alerts(), ["n1"]);
        let mut cancelled = appointment("a2");
        cancelled.status = AppointmentStatus::Cancelled;
        state.apply_appointment(cancelled);
        assert_eq!(state.settled_alerts(), ["n3"]);
    }

    #[test]
    fn a_request_decided_before_its_alert_is_raised_is_withdrawn_by_the_decisions_event() {
        let mut state = desk_with(&["a1"]);
        // The panel's decision lands first; the alert's fetched copy still says pending.
        let pending = request("j1", "a1");
        assert!(state.raise(&alert("n1", "a1", Some("j1")), Some(&pending)));
        assert_eq!(state.settled_alerts(), Vec::<String>::new());
        let mut decided = pending;
        decided.status = JoinRequestStatus::Approved;
        assert!(state.apply_join_request(decided));
        assert_eq!(state.settled_alerts(), ["n1"]);
    }

    fn kiosk(id: &str, online: bool) -> DeviceStatus {
        DeviceStatus::new(id.into(), format!("Room {id}"), online, None, None)
    }

    #[test]
    fn a_device_status_replaces_its_kiosk_on_an_administrators_desk_only() {
        let mut doctor = desk_with(&[]);
        assert!(!doctor.apply_kiosk(kiosk("k1", true)));
        assert_eq!(
            doctor.dashboard().kiosks,
            None,
            "not an administrator's desk"
        );

        let mut admin = desk_with(&[]);
        admin.kiosks = Some(HashMap::from([("k1".to_owned(), kiosk("k1", false))]));
        assert!(admin.apply_kiosk(kiosk("k1", true)));
        assert!(
            !admin.apply_kiosk(kiosk("k1", true)),
            "the same status again"
        );
        assert!(
            admin.apply_kiosk(kiosk("k0", false)),
            "a kiosk new to the fleet"
        );
        let listed = admin.dashboard().kiosks.unwrap();
        let seen: Vec<(&str, bool)> = listed
            .iter()
            .map(|k| (k.device_id.as_str(), k.online))
            .collect();
        assert_eq!(seen, [("k0", false), ("k1", true)], "by location");
    }
}
