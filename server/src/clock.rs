//! Wall-clock time as unix seconds, the one time format the store keeps (portable through the
//! Any driver on SQLite and PostgreSQL alike).

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use crate::db::StoreError;

/// Seconds since the unix epoch; a clock before 1970 reads as 0 rather than failing requests.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A stored unix time as the API's RFC 3339 time.
pub fn to_datetime(unix: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| StoreError::Corrupt(format!("time {unix} is out of range")))
}

/// Like [`to_datetime`], for optional columns.
pub fn to_datetime_opt(unix: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    unix.map(to_datetime).transpose()
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_2020() {
        assert!(super::now_unix() > 1_577_836_800);
    }
}
