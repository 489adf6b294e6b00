//! The administrator's side of the kiosk fleet, I/O-free: what a refused claim or command tells
//! the administrator to do, what is checked before a command goes out, and the fleet's order on
//! screen. The desk ([`crate::desk`]) holds the fleet and carries these out.

use std::collections::HashMap;

use consult_types::{
    AppError, ClaimKioskArgs, ClaimRequest, DeviceCommandKind, DeviceStatus, KioskCommandArgs,
    NewDeviceCommand,
};

/// The longest message a kiosk shows the room (the server's limit too).
pub const MAX_MESSAGE_CHARS: usize = 280;

/// The claim as the server takes it, or why it cannot go out as typed.
pub fn claim_request(args: ClaimKioskArgs) -> Result<ClaimRequest, AppError> {
    let code = args.code.trim().to_owned();
    let location = args.location.trim().to_owned();
    if code.is_empty() {
        return Err(refused("Type the code the kiosk shows on its screen."));
    }
    if location.is_empty() {
        return Err(refused(
            "Say where the kiosk stands (for example \"Room 3\"): the fleet lists kiosks by location.",
        ));
    }
    let name = args
        .name
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    Ok(ClaimRequest {
        code,
        location,
        name,
    })
}

/// What a refused claim means for the administrator. Other failures (network, session) keep
/// their own words.
pub fn claim_refused(error: AppError) -> AppError {
    match error {
        AppError::Rejected { status: 404, .. } => {
            refused("No such code: check what the kiosk shows and type it again.")
        }
        AppError::Rejected { status: 409, .. } => {
            refused("That code is already claimed: the kiosk is enrolled. If it is not yours, ask the kiosk for a new code.")
        }
        AppError::Rejected { status: 410, .. } => {
            refused("That code has expired: ask the kiosk for a new code (restart its enrolment screen).")
        }
        AppError::RateLimited { .. } => {
            refused("Too many tries to claim a code; wait a minute and try again.")
        }
        AppError::Rejected {
            status: 403,
            message,
            ..
        } => refused(&format!(
            "Only an administrator can claim a kiosk ({message})."
        )),
        AppError::Rejected {
            status: 422 | 400,
            message,
            ..
        } => refused(&format!("The claim was refused: {message}")),
        other => other,
    }
}

/// The command as the server takes it, or why it cannot go out: a message only with "show
/// message", 1 to [`MAX_MESSAGE_CHARS`] characters.
pub fn command_request(args: &KioskCommandArgs) -> Result<NewDeviceCommand, AppError> {
    let message = args
        .message
        .as_deref()
        .map(str::trim)
        .filter(|message| !message.is_empty());
    match (args.command, message) {
        (DeviceCommandKind::ShowMessage, None) => {
            Err(refused("Type the message to show on the kiosk first."))
        }
        (DeviceCommandKind::ShowMessage, Some(message))
            if message.chars().count() > MAX_MESSAGE_CHARS =>
        {
            Err(refused(&format!(
                "The message is {} characters long; a kiosk shows at most {MAX_MESSAGE_CHARS}. Shorten it and send it again.",
                message.chars().count()
            )))
        }
        (DeviceCommandKind::ShowMessage, Some(message)) => Ok(NewDeviceCommand {
            command: DeviceCommandKind::ShowMessage,
            message: Some(message.to_owned()),
        }),
        // Only a message carries text: anything typed beside another command is not sent.
        (command, _) => Ok(NewDeviceCommand {
            command,
            message: None,
        }),
    }
}

/// What a refused command means for the administrator.
pub fn command_refused(error: AppError) -> AppError {
    match error {
        AppError::Rejected { status: 404, .. } => {
            refused("That kiosk is no longer enrolled (it was removed): nothing was sent.")
        }
        AppError::Rejected {
            status: 403,
            message,
            ..
        } => refused(&format!(
            "Only an administrator can send commands to kiosks ({message})."
        )),
        AppError::Rejected {
            status: 422 | 400,
            message,
            ..
        } => refused(&format!("The kiosk's command was refused: {message}")),
        other => other,
    }
}

/// The fleet as the screen lists it: by location, then by device id.
pub fn listed(kiosks: &HashMap<String, DeviceStatus>) -> Vec<DeviceStatus> {
    let mut listed: Vec<DeviceStatus> = kiosks.values().cloned().collect();
    listed.sort_by(|a, b| (&a.location, &a.device_id).cmp(&(&b.location, &b.device_id)));
    listed
}

fn refused(detail: &str) -> AppError {
    AppError::FleetRefused {
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16) -> AppError {
        AppError::Rejected {
            status,
            reason: "x".into(),
            message: "server words".into(),
        }
    }

    fn words(error: AppError) -> String {
        match error {
            AppError::FleetRefused { detail } => detail,
            other => panic!("not a fleet refusal: {other:?}"),
        }
    }

    #[test]
    fn each_refused_claim_says_what_to_do() {
        assert!(words(claim_refused(rejected(404))).contains("check what the kiosk shows"));
        assert!(words(claim_refused(rejected(409))).contains("already claimed"));
        assert!(words(claim_refused(rejected(410))).contains("ask the kiosk for a new code"));
        let limited = AppError::RateLimited {
            retry_after_secs: 60,
        };
        assert!(words(claim_refused(limited)).contains("wait a minute"));
        // A network failure keeps its own words (what to check is different).
        let unreachable = AppError::ServerUnreachable {
            server: "https://clinic.example".into(),
        };
        assert_eq!(claim_refused(unreachable.clone()), unreachable);
    }

    #[test]
    fn a_claim_needs_a_code_and_a_location_and_is_sent_trimmed() {
        let args = |code: &str, location: &str| ClaimKioskArgs {
            code: code.into(),
            location: location.into(),
            name: Some("  ".into()),
        };
        assert!(words(claim_request(args(" ", "Room 3")).unwrap_err()).contains("code"));
        assert!(words(claim_request(args("ABCD-EFGH", "")).unwrap_err()).contains("where"));
        let claim = claim_request(args(" abcd-efgh ", " Room 3 ")).unwrap();
        assert_eq!(
            (claim.code.as_str(), claim.location.as_str(), claim.name),
            ("abcd-efgh", "Room 3", None)
        );
    }

    #[test]
    fn only_show_message_carries_a_message_of_at_most_280_characters() {
        let args = |command, message: Option<&str>| KioskCommandArgs {
            device_id: "dev_1".into(),
            command,
            message: message.map(Into::into),
        };
        let show = DeviceCommandKind::ShowMessage;
        assert!(words(command_request(&args(show, Some("   "))).unwrap_err()).contains("Type"));
        let long = "x".repeat(281);
        assert!(words(command_request(&args(show, Some(&long))).unwrap_err()).contains("281"));
        assert_eq!(
            command_request(&args(show, Some(" Back in 5 minutes "))).unwrap(),
            NewDeviceCommand {
                command: show,
                message: Some("Back in 5 minutes".into())
            }
        );
        assert_eq!(
            command_request(&args(DeviceCommandKind::Reload, Some("left in the field"))).unwrap(),
            NewDeviceCommand {
                command: DeviceCommandKind::Reload,
                message: None
            }
        );
    }
}
