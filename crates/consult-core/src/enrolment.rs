//! Enrolling a kiosk without a secret on screen, the kiosk's half: it makes a pickup key only it
//! knows, asks the server for a one-time code, shows the code (and a QR code of it) until an
//! administrator claims it, and picks up its device id and secret with the key. The secret goes
//! from the server's answer straight into the kiosk's credential store; nobody sees it.
//! `desktop/enrolment.rs` runs it; this module holds what needs no I/O.

use std::time::Duration;

use qrcode::{Color, EcLevel, QrCode};
use time::OffsetDateTime;

use consult_types::AppError;

/// Between two pickups while the code waits to be claimed.
pub const PICKUP_EVERY: Duration = Duration::from_secs(2);

/// 64 hex characters (256 bits) from the OS's random source: the key that proves a pickup is
/// this kiosk's. Kept in memory only; a restart asks for a new code.
pub fn pickup_key() -> Result<String, AppError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| AppError::Internal {
        detail: format!("no random numbers for the enrolment: {error}"),
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The code as QR modules, one string a row, `1` dark and `0` light (no quiet zone: the screen
/// draws it). The code is short; medium error correction leaves room for a smudged screen.
pub fn qr_rows(code: &str) -> Result<Vec<String>, AppError> {
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::M).map_err(|error| {
        AppError::Internal {
            detail: format!("the enrolment code cannot be drawn as a QR code: {error}"),
        }
    })?;
    let width = qr.width();
    Ok(qr
        .to_colors()
        .chunks(width)
        .map(|row| {
            row.iter()
                .map(|module| if *module == Color::Dark { '1' } else { '0' })
                .collect()
        })
        .collect())
}

/// Whole seconds the code has left at `now` (0 once expired).
pub fn seconds_left(expires_at: OffsetDateTime, now: OffsetDateTime) -> u64 {
    u64::try_from((expires_at - now).whole_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickup_keys_are_the_servers_64_hex_characters_and_never_repeat() {
        let (one, two) = (pickup_key().unwrap(), pickup_key().unwrap());
        assert_eq!(one.len(), 64);
        assert!(one.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(one, two);
    }

    #[test]
    fn the_qr_code_is_square_and_holds_the_finder_patterns() {
        let rows = qr_rows("K7MQ-4TZP").unwrap();
        let width = rows.len();
        assert!(rows.iter().all(|row| row.len() == width), "square");
        // Version 1 is 21 modules wide; each corner but the bottom right has a finder pattern,
        // whose top row is seven dark modules.
        assert_eq!(width, 21);
        assert_eq!(&rows[0][..7], "1111111");
        assert_eq!(&rows[0][width - 7..], "1111111");
        assert_eq!(&rows[width - 7][..7], "1111111");
        assert_ne!(
            rows,
            qr_rows("ABCD-EFGH").unwrap(),
            "another code, another picture"
        );
    }

    #[test]
    fn an_expired_code_has_no_time_left() {
        let now = time::macros::datetime!(2026-12-03 09:00 UTC);
        assert_eq!(seconds_left(now + time::Duration::seconds(90), now), 90);
        assert_eq!(seconds_left(now - time::Duration::seconds(1), now), 0);
    }
}
