//! Calendar days of message times in the exchange's time zone: the day a
//! record is counted on, and "today" for the checks that need one.

use std::cell::Cell;

use chrono::{NaiveDate, TimeZone};

use super::Checks;

thread_local! {
    /// The last day computed, with its bounds in epoch milliseconds.
    static DAY: Cell<Option<(chrono_tz::Tz, i64, i64, NaiveDate)>> = const { Cell::new(None) };
}

impl Checks {
    /// The calendar day of a message time in the exchange's time zone.
    pub fn day_of(&self, timestamp_ms: i64) -> NaiveDate {
        let tz = self.time_zone;
        // Messages arrive in time order, mostly within one day: remember its bounds.
        if let Some((cached, start, end, day)) = DAY.with(Cell::get)
            && cached == tz
            && (start..end).contains(&timestamp_ms)
        {
            return day;
        }
        let day = match tz.timestamp_millis_opt(timestamp_ms) {
            chrono::LocalResult::Single(t) => t.date_naive(),
            _ => return chrono::DateTime::UNIX_EPOCH.date_naive(),
        };
        let start_of = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
                .map(|t| t.timestamp_millis())
        };
        if let (Some(start), Some(end)) = (start_of(day), day.succ_opt().and_then(start_of)) {
            DAY.with(|c| c.set(Some((tz, start, end, day))));
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn day_of_follows_the_exchange_time_zone_across_midnight() {
        let checks =
            crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap();
        // 2026-06-15T23:59:59.999+08:00, then a millisecond later, then back.
        let last_ms = 1_781_539_199_999;
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(checks.day_of(last_ms), d(2026, 6, 15));
        assert_eq!(checks.day_of(last_ms + 1), d(2026, 6, 16));
        assert_eq!(checks.day_of(last_ms), d(2026, 6, 15));
        assert_eq!(checks.day_of(last_ms - 86_400_000), d(2026, 6, 14));
    }
}
