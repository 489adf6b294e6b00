//! A kiosk's remote commands, I/O-free: what a command from the clinic's administrators makes
//! the kiosk do. The list is closed (reload, restart, self-test, leave the call, a message to the
//! room, a new secret): no shell, no address to open. A command arrives once over the kiosk's
//! event stream; one that is replayed runs nothing twice, and one that waited too long (the
//! kiosk was off or offline) is acknowledged without running, so a restart queued yesterday
//! cannot cut into today's visit. `desktop/kiosk_commands.rs` carries the actions out.

use std::time::Duration;

use time::OffsetDateTime;

use consult_types::{DeviceCommand, DeviceCommandKind, RoomMessage};

/// A command older than this is too late to run.
pub const STALE_AFTER: Duration = Duration::from_secs(15 * 60);
/// How long a room message stays unless someone taps it away.
pub const MESSAGE_SHOWN_FOR: Duration = Duration::from_secs(10 * 60);

/// What the kiosk does with one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Load the kiosk's page again.
    Reload,
    /// End the app so that its service starts it again.
    Restart,
    SelfTest,
    LeaveCall,
    ShowMessage(RoomMessage),
    RotateSecret,
    /// Run nothing; acknowledge it anyway when `acknowledge`, and say why in the log.
    Skip {
        why: &'static str,
        acknowledge: bool,
    },
}

/// What `command` asks of a kiosk that has (`already_done`) or has not carried it out.
pub fn plan(command: &DeviceCommand, already_done: bool, now: OffsetDateTime) -> Action {
    if already_done {
        return Action::Skip {
            why: "already carried out",
            acknowledge: false,
        };
    }
    let age = now - command.created_at;
    if age > STALE_AFTER {
        return Action::Skip {
            why: "sent more than 15 minutes ago; not run so late",
            acknowledge: true,
        };
    }
    match command.command {
        DeviceCommandKind::Reload => Action::Reload,
        DeviceCommandKind::Restart => Action::Restart,
        DeviceCommandKind::SelfTest => Action::SelfTest,
        DeviceCommandKind::LeaveCall => Action::LeaveCall,
        DeviceCommandKind::RotateSecret => Action::RotateSecret,
        DeviceCommandKind::ShowMessage => match command.message.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Action::ShowMessage(RoomMessage {
                id: command.id.clone(),
                text: text.to_owned(),
            }),
            _ => Action::Skip {
                why: "a message without words",
                acknowledge: true,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(kind: DeviceCommandKind, message: Option<&str>, age_secs: i64) -> DeviceCommand {
        DeviceCommand {
            id: "cmd_1".into(),
            device_id: "dev_1".into(),
            command: kind,
            message: message.map(str::to_owned),
            created_at: now() - time::Duration::seconds(age_secs),
            acknowledged_at: None,
        }
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-03 09:00 UTC)
    }

    #[test]
    fn each_command_maps_to_its_one_action() {
        for (kind, action) in [
            (DeviceCommandKind::Reload, Action::Reload),
            (DeviceCommandKind::Restart, Action::Restart),
            (DeviceCommandKind::SelfTest, Action::SelfTest),
            (DeviceCommandKind::LeaveCall, Action::LeaveCall),
            (DeviceCommandKind::RotateSecret, Action::RotateSecret),
        ] {
            assert_eq!(plan(&command(kind, None, 5), false, now()), action);
        }
    }

    #[test]
    fn a_message_is_shown_trimmed_and_an_empty_one_is_not() {
        let shown = plan(
            &command(
                DeviceCommandKind::ShowMessage,
                Some("  Dr Ames is 5 min late "),
                5,
            ),
            false,
            now(),
        );
        assert_eq!(
            shown,
            Action::ShowMessage(RoomMessage {
                id: "cmd_1".into(),
                text: "Dr Ames is 5 min late".into()
            })
        );
        let empty = plan(
            &command(DeviceCommandKind::ShowMessage, Some("   "), 5),
            false,
            now(),
        );
        assert!(matches!(
            empty,
            Action::Skip {
                acknowledge: true,
                ..
            }
        ));
    }

    #[test]
    fn a_replayed_command_runs_nothing_twice() {
        let again = plan(&command(DeviceCommandKind::Restart, None, 5), true, now());
        assert!(matches!(
            again,
            Action::Skip {
                acknowledge: false,
                ..
            }
        ));
    }

    #[test]
    fn a_restart_queued_long_ago_is_acknowledged_but_not_run() {
        let late = plan(
            &command(DeviceCommandKind::Restart, None, 16 * 60),
            false,
            now(),
        );
        assert!(matches!(
            late,
            Action::Skip {
                acknowledge: true,
                ..
            }
        ));
        let in_time = plan(
            &command(DeviceCommandKind::Restart, None, 14 * 60),
            false,
            now(),
        );
        assert_eq!(in_time, Action::Restart);
    }
}
