//! The clinic API's bodies beyond auth: appointments, calls, join requests, notifications and
//! push events (`shared/spec/clinic-api.md`). Times are RFC 3339 UTC on the wire.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    Video,
    Audio,
}

impl CallType {
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Video => "video",
            CallType::Audio => "audio",
        }
    }

    pub fn parse(text: &str) -> Option<CallType> {
        match text {
            "video" => Some(CallType::Video),
            "audio" => Some(CallType::Audio),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Scheduled => "scheduled",
            AppointmentStatus::InProgress => "in_progress",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<AppointmentStatus> {
        match text {
            "scheduled" => Some(AppointmentStatus::Scheduled),
            "in_progress" => Some(AppointmentStatus::InProgress),
            "completed" => Some(AppointmentStatus::Completed),
            "cancelled" => Some(AppointmentStatus::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    Created,
    Started,
    Ended,
}

impl MeetingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Created => "created",
            MeetingStatus::Started => "started",
            MeetingStatus::Ended => "ended",
        }
    }

    pub fn parse(text: &str) -> Option<MeetingStatus> {
        match text {
            "created" => Some(MeetingStatus::Created),
            "started" => Some(MeetingStatus::Started),
            "ended" => Some(MeetingStatus::Ended),
            _ => None,
        }
    }
}

/// An appointment. `id` is for CRUD, `sessionId` for joining the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: String,
    pub appointment_code: String,
    pub session_id: String,
    pub doctor_id: String,
    pub patient_id: String,
    pub agency_id: Option<String>,
    /// The exam-room kiosk the patient joins from, if any (an extension of the seeds' model).
    pub kiosk_id: Option<String>,
    pub room_name: String,
    pub call_type: CallType,
    pub status: AppointmentStatus,
    pub meeting_status: MeetingStatus,
    /// Patients must also be admitted by the doctor while this is on.
    pub waiting_room: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_time: OffsetDateTime,
    /// Display names of the people on the appointment, so a schedule needs no extra lookups.
    pub doctor_name: String,
    pub patient_name: String,
    pub agency_name: Option<String>,
}

impl Appointment {
    /// Whether someone with `role` asks the doctor to be let in rather than joining directly:
    /// agencies always, patients and kiosks while the waiting room is on (the server's rule;
    /// it answers `approval_required` otherwise).
    pub fn asks_to_join(&self, role: crate::api::Role) -> bool {
        use crate::api::Role;
        match role {
            Role::Agency => true,
            Role::Patient | Role::Kiosk => self.waiting_room,
            Role::Doctor | Role::Admin => false,
        }
    }
}

/// `POST /appointments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAppointment {
    pub doctor_id: String,
    pub patient_id: String,
    #[serde(default)]
    pub agency_id: Option<String>,
    #[serde(default)]
    pub kiosk_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_time: OffsetDateTime,
    pub call_type: CallType,
    #[serde(default)]
    pub waiting_room: bool,
}

/// `PATCH /appointments/{id}`: only the fields present change. `agencyId: null` removes the
/// agency.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppointmentPatch {
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
    #[serde(default)]
    pub call_type: Option<CallType>,
    #[serde(default)]
    pub waiting_room: Option<bool>,
    /// Absent: unchanged; `null`: removed; a string: set.
    #[serde(default, deserialize_with = "present_or_null")]
    pub agency_id: Option<Option<String>>,
}

/// Tells an absent field (outer `None`, via `default`) from an explicit `null` (`Some(None)`).
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `GET /sessions/{sessionId}/jwt`: what the client needs to join the conference.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JitsiSession {
    pub jitsi_token: String,
    /// The deployment's base URL, e.g. `https://meet.example.org`.
    pub server_url: String,
    /// The room to pass to `JitsiMeetExternalAPI` (with the tenant prefix on JaaS).
    pub room_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub moderator: bool,
    pub display_name: String,
    pub call_type: CallType,
}

// The Jitsi token must never reach a log line.
impl std::fmt::Debug for JitsiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitsiSession")
            .field("jitsi_token", &"<redacted>")
            .field("server_url", &self.server_url)
            .field("room_name", &self.room_name)
            .field("expires_at", &self.expires_at)
            .field("moderator", &self.moderator)
            .field("display_name", &self.display_name)
            .field("call_type", &self.call_type)
            .finish()
    }
}

/// `GET /meetings/{appointmentId}/link`: a personalized browser link for people without the app.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeetingLink {
    /// Carries the caller's Jitsi token: treat it like a password.
    pub meeting_url: String,
    pub display_name: String,
    pub is_moderator: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
    /// Minutes.
    pub duration: i64,
    pub status: AppointmentStatus,
}

impl std::fmt::Debug for MeetingLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeetingLink")
            .field("meeting_url", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("is_moderator", &self.is_moderator)
            .field("scheduled_at", &self.scheduled_at)
            .field("duration", &self.duration)
            .field("status", &self.status)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JoinRequestStatus {
    Pending,
    Approved,
    Rejected,
    /// The requester stopped waiting before a decision.
    Withdrawn,
}

impl JoinRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinRequestStatus::Pending => "pending",
            JoinRequestStatus::Approved => "approved",
            JoinRequestStatus::Rejected => "rejected",
            JoinRequestStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<JoinRequestStatus> {
        match text {
            "pending" => Some(JoinRequestStatus::Pending),
            "approved" => Some(JoinRequestStatus::Approved),
            "rejected" => Some(JoinRequestStatus::Rejected),
            "withdrawn" => Some(JoinRequestStatus::Withdrawn),
            _ => None,
        }
    }
}

/// A request to be let into an appointment's call (the lobby).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub id: String,
    pub appointment_id: String,
    pub session_id: String,
    pub requester_id: String,
    pub requester_name: String,
    pub requester_role: crate::api::Role,
    pub status: JoinRequestStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    AppointmentCreated,
    /// The doctor started the meeting: the call can be joined now.
    VideoCallReady,
    /// The appointment's start time has come.
    VideoCallStarting,
    /// 24 hours and 5 minutes before the start.
    VideoCallReminder,
    JoinRequestCreated,
    JoinRequestDecided,
    MeetingEnded,
    /// The kiosk a visit in the next 15 minutes joins from is offline or failed its self-test
    /// (to the doctor and administrators).
    KioskUnavailable,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::AppointmentCreated => "appointment_created",
            NotificationKind::VideoCallReady => "video_call_ready",
            NotificationKind::VideoCallStarting => "video_call_starting",
            NotificationKind::VideoCallReminder => "video_call_reminder",
            NotificationKind::JoinRequestCreated => "join_request_created",
            NotificationKind::JoinRequestDecided => "join_request_decided",
            NotificationKind::MeetingEnded => "meeting_ended",
            NotificationKind::KioskUnavailable => "kiosk_unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<NotificationKind> {
        [
            NotificationKind::AppointmentCreated,
            NotificationKind::VideoCallReady,
            NotificationKind::VideoCallStarting,
            NotificationKind::VideoCallReminder,
            NotificationKind::JoinRequestCreated,
            NotificationKind::JoinRequestDecided,
            NotificationKind::MeetingEnded,
            NotificationKind::KioskUnavailable,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub appointment_id: String,
    pub session_id: Option<String>,
    /// For `join_request_*` kinds: the request, so a client can act on it directly.
    #[serde(default)]
    pub join_request_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

/// One message of `GET /events`. The SSE `event:` field is the variant's name (`notification`,
/// `appointment`, `join_request`); `data:` is the JSON of its payload; `id:` is the per-user
/// sequence number to resume from with `Last-Event-ID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum PushEvent {
    Notification(Notification),
    Appointment(Appointment),
    JoinRequest(JoinRequest),
    /// A kiosk came online, went offline, or reported another state or health (to
    /// administrators; one event per change).
    DeviceStatus(DeviceStatus),
    /// A command an administrator sent to this kiosk.
    DeviceCommand(DeviceCommand),
}

impl PushEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            PushEvent::Notification(_) => "notification",
            PushEvent::Appointment(_) => "appointment",
            PushEvent::JoinRequest(_) => "join_request",
            PushEvent::DeviceStatus(_) => "device_status",
            PushEvent::DeviceCommand(_) => "device_command",
        }
    }
}

/// `POST /devices/me/heartbeat`: a kiosk says it is alive and how it is, every 30 seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Heartbeat {
    /// The app's version.
    pub version: String,
    pub state: KioskActivity,
    /// How the kiosk carries calls.
    pub call_path: crate::CallPathKind,
    /// The last self-test, if one ran.
    #[serde(default)]
    pub self_test: Option<SelfTest>,
    /// The last error the kiosk met, in words (never patient data).
    #[serde(default)]
    pub last_error: Option<String>,
    /// Commands carried out since the last beat (their ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged: Vec<String>,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAnswer {
    /// Seconds until the next beat is due.
    pub next_beat_secs: i64,
}

/// What a kiosk is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum KioskActivity {
    /// Waiting for a visit.
    Idle,
    /// A visit is about to start or running, the call not (yet) joined.
    Visit,
    InCall,
    /// Back after losing the network or the server.
    OfflineRecovered,
}

/// A kiosk's self-test: camera, microphone, speaker, the Jitsi deployment, the clinic server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelfTest {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub camera: Check,
    pub microphone: Check,
    pub speaker: Check,
    pub jitsi: Check,
    pub server: Check,
}

impl SelfTest {
    /// Whether any part failed.
    pub fn failed(&self) -> bool {
        [
            self.camera,
            self.microphone,
            self.speaker,
            self.jitsi,
            self.server,
        ]
        .contains(&Check::Failed)
    }
}

/// One part of a self-test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Check {
    Passed,
    Failed,
    /// Not tried (no such device, or the test could not run).
    Skipped,
}

/// A kiosk's health as the fleet view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum DeviceHealth {
    /// No self-test reported yet.
    Unknown,
    /// The last self-test passed (or skipped) every part.
    Healthy,
    /// A part of the last self-test failed.
    Unhealthy,
}

impl DeviceHealth {
    pub fn of(report: Option<&Heartbeat>) -> DeviceHealth {
        match report.and_then(|report| report.self_test.as_ref()) {
            None => DeviceHealth::Unknown,
            Some(test) if test.failed() => DeviceHealth::Unhealthy,
            Some(_) => DeviceHealth::Healthy,
        }
    }
}

/// `data:` of a `device_status` event: a kiosk's liveness and its last report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    pub device_id: String,
    pub location: String,
    /// Heartbeats arrive; false after three missed ones (90 s), true again at the next.
    pub online: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    pub health: DeviceHealth,
    /// The last heartbeat as the kiosk sent it.
    #[serde(default)]
    pub last_report: Option<Heartbeat>,
}

/// What an administrator may ask of a kiosk: a closed list, so no remote shell and no address
/// to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum DeviceCommandKind {
    /// Load the kiosk's page again.
    Reload,
    /// Restart the app (its service starts it again).
    Restart,
    /// Run the self-test now.
    SelfTest,
    /// Leave the running call.
    LeaveCall,
    /// Show `message` to the room.
    ShowMessage,
    /// Take a new device secret (`POST /devices/me/secret`).
    RotateSecret,
}

impl DeviceCommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceCommandKind::Reload => "reload",
            DeviceCommandKind::Restart => "restart",
            DeviceCommandKind::SelfTest => "selfTest",
            DeviceCommandKind::LeaveCall => "leaveCall",
            DeviceCommandKind::ShowMessage => "showMessage",
            DeviceCommandKind::RotateSecret => "rotateSecret",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceCommandKind> {
        [
            DeviceCommandKind::Reload,
            DeviceCommandKind::Restart,
            DeviceCommandKind::SelfTest,
            DeviceCommandKind::LeaveCall,
            DeviceCommandKind::ShowMessage,
            DeviceCommandKind::RotateSecret,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// `POST /devices/{deviceId}/commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewDeviceCommand {
    pub command: DeviceCommandKind,
    /// For `showMessage` only: 1 to 280 characters.
    #[serde(default)]
    pub message: Option<String>,
}

/// A command sent to a kiosk (also the `data:` of a `device_command` event to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeviceCommand {
    pub id: String,
    pub device_id: String,
    pub command: DeviceCommandKind,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the kiosk's heartbeat said it was carried out.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
}

/// `POST /devices/enrolments`: an unenrolled kiosk asks for a code to show.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartEnrolment {
    /// 64 hex characters the kiosk made and keeps in memory; it proves the pickup is its own.
    pub pickup_key: String,
}

/// A code to show on the kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    pub enrolment_id: String,
    /// Eight characters as `ABCD-EFGH`; the dash (and case) do not matter when claiming.
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `POST /devices/enrolments/{id}/pickup`: the kiosk asks whether its code was claimed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PickupRequest {
    pub pickup_key: String,
}

/// Where the kiosk's enrolment is.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Pickup {
    /// Not claimed yet: ask again.
    #[serde(rename_all = "camelCase")]
    Waiting {
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// Claimed: the device's id and its secret, shown this once (`Debug` hides the secret).
    #[serde(rename_all = "camelCase")]
    Enrolled {
        device_id: String,
        device_secret: String,
        location: String,
    },
}

impl std::fmt::Debug for Pickup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pickup::Waiting { expires_at } => f
                .debug_struct("Waiting")
                .field("expires_at", expires_at)
                .finish(),
            Pickup::Enrolled {
                device_id,
                location,
                ..
            } => f
                .debug_struct("Enrolled")
                .field("device_id", device_id)
                .field("device_secret", &"<redacted>")
                .field("location", location)
                .finish(),
        }
    }
}

/// `POST /devices/claims` (administrators): claim the code a kiosk shows, naming its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimRequest {
    /// The code the kiosk shows.
    pub code: String,
    pub location: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl std::fmt::Debug for StartEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartEnrolment(<redacted>)")
    }
}

impl std::fmt::Debug for PickupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PickupRequest(<redacted>)")
    }
}

/// `POST /devices/me/secret`: the kiosk's new secret, shown this once. No Debug.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    pub device_secret: String,
}

impl DeviceStatus {
    /// A kiosk's status; its health follows from its last report.
    pub fn new(
        device_id: String,
        location: String,
        online: bool,
        last_seen: Option<OffsetDateTime>,
        last_report: Option<Heartbeat>,
    ) -> DeviceStatus {
        DeviceStatus {
            device_id,
            location,
            online,
            last_seen,
            health: DeviceHealth::of(last_report.as_ref()),
            last_report,
        }
    }
}

/// `data:` of the `ready` event, the first message of `GET /events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadyEvent {
    /// The id the stream resumes after: the `Last-Event-ID` sent, or the latest event's.
    pub last_event_id: i64,
    /// The missed events cannot be replayed: reload state through the other endpoints.
    pub resync: bool,
}

impl ReadyEvent {
    /// The SSE `event:` field.
    pub const EVENT: &'static str = "ready";
}

/// `data:` of the `end` event, the last message of `GET /events`; the server then closes the
/// stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndEvent {
    pub reason: StreamEndReason,
}

impl EndEvent {
    /// The SSE `event:` field.
    pub const EVENT: &'static str = "end";
}

/// Why the server ends an event stream. A client resumes with the last `id` it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StreamEndReason {
    /// The access token that opened the stream expired: reconnect with a fresh one.
    TokenExpired,
    /// The session was logged out, or the account disabled.
    SessionEnded,
    /// The server is shutting down: reconnect later.
    ServerStopping,
    /// The server could not read the event log: reconnect later.
    ServerError,
}

impl StreamEndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamEndReason::TokenExpired => "token_expired",
            StreamEndReason::SessionEnded => "session_ended",
            StreamEndReason::ServerStopping => "server_stopping",
            StreamEndReason::ServerError => "server_error",
        }
    }
}

/// `POST /auth/device-login`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceLoginRequest {
    pub device_id: String,
    pub device_secret: String,
}

impl std::fmt::Debug for DeviceLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLoginRequest")
            .field("device_id", &self.device_id)
            .field("device_secret", &"<redacted>")
            .finish()
    }
}

/// `POST /auth/register-or-login` (demo mode only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterOrLoginRequest {
    pub user_id: String,
    pub email: String,
    pub role: crate::api::Role,
}

/// A PIN typed by a person: `PUT /kiosk/exit-pin` (an administrator sets the kiosks' exit
/// PIN) and `POST /kiosk/exit-pin/check` (a kiosk checks one). Debug never shows it.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExitPin {
    /// 6 to 12 digits.
    pub pin: String,
}

impl std::fmt::Debug for ExitPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExitPin(<redacted>)")
    }
}

/// The server's answer to a kiosk's PIN check (a locked exit is `429 rate_limited` instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExitPinVerdict {
    pub granted: bool,
    /// Wrong PINs left before the exit locks.
    pub tries_left: u32,
}

/// `GET /kiosk/exit-pin`: what a kiosk keeps to check a PIN while the server cannot be
/// reached, with the same lockout rule. Debug never shows the hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExitPinPolicy {
    /// The PIN's Argon2id hash as a PHC string.
    pub pin_hash: String,
    /// Wrong PINs in a row that lock the exit.
    pub max_failures: u32,
    /// How long it then stays locked.
    pub lockout_secs: u64,
}

impl std::fmt::Debug for ExitPinPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitPinPolicy")
            .field("pin_hash", &"<redacted>")
            .field("max_failures", &self.max_failures)
            .field("lockout_secs", &self.lockout_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ready_and_end_keep_their_wire_format() {
        let ready = ReadyEvent {
            last_event_id: 41,
            resync: false,
        };
        let json = serde_json::to_string(&ready).expect("json");
        assert_eq!(json, r#"{"lastEventId":41,"resync":false}"#);
        assert_eq!(
            serde_json::from_str::<ReadyEvent>(&json).expect("ready"),
            ready
        );
        for reason in [
            StreamEndReason::TokenExpired,
            StreamEndReason::SessionEnded,
            StreamEndReason::ServerStopping,
            StreamEndReason::ServerError,
        ] {
            let json = serde_json::to_string(&EndEvent { reason }).expect("json");
            assert_eq!(json, format!(r#"{{"reason":"{}"}}"#, reason.as_str()));
            let back: EndEvent = serde_json::from_str(&json).expect("end");
            assert_eq!(back.reason, reason);
        }
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let absent: AppointmentPatch = serde_json::from_str("{}").expect("absent");
        assert_eq!(absent.agency_id, None);
        let null: AppointmentPatch = serde_json::from_str(r#"{"agencyId":null}"#).expect("null");
        assert_eq!(null.agency_id, Some(None));
        let set: AppointmentPatch = serde_json::from_str(r#"{"agencyId":"usr_1"}"#).expect("set");
        assert_eq!(set.agency_id, Some(Some("usr_1".into())));
    }

    #[test]
    fn push_events_are_tagged_by_type() {
        assert_eq!(
            NotificationKind::parse("video_call_reminder"),
            Some(NotificationKind::VideoCallReminder)
        );
        for kind in [
            "appointment_created",
            "meeting_ended",
            "join_request_decided",
        ] {
            assert_eq!(
                NotificationKind::parse(kind).map(|k| k.as_str()),
                Some(kind)
            );
        }
    }

    #[test]
    fn new_appointments_refuse_unknown_fields_and_bad_times() {
        let good = r#"{"doctorId":"d","patientId":"p","startTime":"2026-11-22T10:00:00Z",
            "endTime":"2026-11-22T10:30:00Z","callType":"audio"}"#;
        let parsed: NewAppointment = serde_json::from_str(good).expect("good");
        assert_eq!(parsed.call_type, CallType::Audio);
        assert!(!parsed.waiting_room);
        let unknown = good.replace("\"callType\"", "\"moderator\":true,\"callType\"");
        assert!(serde_json::from_str::<NewAppointment>(&unknown).is_err());
        let bad_time = good.replace("2026-11-22T10:00:00Z", "tomorrow");
        assert!(serde_json::from_str::<NewAppointment>(&bad_time).is_err());
    }
}
