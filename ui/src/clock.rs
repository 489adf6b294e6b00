//! Time as the doctor reads it: local wall-clock times, "join opens 15 minutes before", "waiting
//! 3 min". Views take a [`Clock`] as a prop, so they render the same on the host (tests) as in
//! the webview; only [`Clock::now`] asks the webview.

use time::{Duration, OffsetDateTime, UtcOffset};
use wasm_bindgen::JsValue;

/// How long before the start the doctor may join a call.
pub const JOIN_OPENS_BEFORE: Duration = Duration::minutes(15);

/// "Now" and the local time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now: OffsetDateTime,
    pub zone: Zone,
}

/// The local time zone: a fixed offset (tests), or the webview's own rules, asked for each
/// instant so that a time across a daylight-saving change is shown in its own offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Fixed(UtcOffset),
    Webview,
}

impl Zone {
    pub fn offset_at(self, instant: OffsetDateTime) -> UtcOffset {
        match self {
            Zone::Fixed(offset) => offset,
            Zone::Webview => {
                let millis = (instant.unix_timestamp_nanos() / 1_000_000) as f64;
                let date = js_sys::Date::new(&JsValue::from_f64(millis));
                // `getTimezoneOffset` is minutes *behind* UTC (positive west of Greenwich).
                let behind_minutes = date.get_timezone_offset() as i32;
                UtcOffset::from_whole_seconds(-behind_minutes * 60).unwrap_or(UtcOffset::UTC)
            }
        }
    }
}

impl Clock {
    /// The webview's clock and time zone (`Date`). Panics outside a browser, so only the
    /// stateful pages call it; views get a `Clock` as a prop.
    pub fn now() -> Clock {
        let millis = js_sys::Date::now() as i128;
        let now = OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Clock {
            now,
            zone: Zone::Webview,
        }
    }

    /// A start time as the doctor reads it: "14:30" today, "Tomorrow 09:00", else
    /// "Wed 2 Dec 09:00".
    pub fn start_label(&self, start: OffsetDateTime) -> String {
        let local = start.to_offset(self.zone.offset_at(start));
        let today = self.now.to_offset(self.zone.offset_at(self.now)).date();
        let hhmm = format!("{:02}:{:02}", local.hour(), local.minute());
        if local.date() == today {
            hhmm
        } else if today.next_day() == Some(local.date()) {
            format!("Tomorrow {hhmm}")
        } else {
            let weekday = local.weekday().to_string();
            let month = local.month().to_string();
            format!("{} {} {} {hhmm}", &weekday[..3], local.day(), &month[..3])
        }
    }

    /// Whether the call may be joined: from 15 minutes before the start.
    pub fn join_open(&self, start: OffsetDateTime) -> bool {
        self.now >= start - JOIN_OPENS_BEFORE
    }

    /// How long someone has been waiting, e.g. "waiting 3 min".
    pub fn waiting_label(&self, since: OffsetDateTime) -> String {
        let minutes = (self.now - since).whole_minutes().max(0);
        match minutes {
            0 => "waiting less than a minute".to_owned(),
            1..=59 => format!("waiting {minutes} min"),
            _ => format!("waiting {} h {} min", minutes / 60, minutes % 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    fn clock() -> Clock {
        Clock {
            now: datetime!(2026-12-01 12:00 UTC),
            zone: Zone::Fixed(offset!(+1)),
        }
    }

    #[test]
    fn start_labels_are_local_and_name_the_day_when_not_today() {
        let clock = clock();
        assert_eq!(clock.start_label(datetime!(2026-12-01 13:30 UTC)), "14:30");
        assert_eq!(
            clock.start_label(datetime!(2026-12-02 08:00 UTC)),
            "Tomorrow 09:00"
        );
        assert_eq!(
            clock.start_label(datetime!(2026-12-05 08:05 UTC)),
            "Sat 5 Dec 09:05"
        );
        // 23:30 UTC is already tomorrow at +01:00.
        assert_eq!(
            clock.start_label(datetime!(2026-12-01 23:30 UTC)),
            "Tomorrow 00:30"
        );
    }

    #[test]
    fn join_opens_fifteen_minutes_before_the_start() {
        let clock = clock();
        assert!(!clock.join_open(datetime!(2026-12-01 12:16 UTC)));
        assert!(clock.join_open(datetime!(2026-12-01 12:15 UTC)));
        assert!(clock.join_open(datetime!(2026-12-01 11:50 UTC)));
    }

    #[test]
    fn waiting_labels_count_minutes_and_hours() {
        let clock = clock();
        assert_eq!(
            clock.waiting_label(datetime!(2026-12-01 11:59:30 UTC)),
            "waiting less than a minute"
        );
        assert_eq!(
            clock.waiting_label(datetime!(2026-12-01 11:57 UTC)),
            "waiting 3 min"
        );
        assert_eq!(
            clock.waiting_label(datetime!(2026-12-01 10:55 UTC)),
            "waiting 1 h 5 min"
        );
    }
}
