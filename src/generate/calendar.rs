//! Dates, instants and the landing window.
//!
//! Days are `i32` days since 1970-01-01 (the Arrow `Date32` value); instants are `i64`
//! microseconds since the epoch in UTC (the Arrow `Timestamp(us, "UTC")` value). The business
//! zone is Asia/Shanghai, a fixed UTC+8 without daylight saving, so the business date of an
//! instant is a plain shift and floor.

use chrono::{Datelike, NaiveDate, Weekday};

/// Microseconds in one day.
pub(crate) const DAY_US: i64 = 86_400_000_000;
/// Microseconds in one hour.
pub(crate) const HOUR_US: i64 = 3_600_000_000;
/// Microseconds in one minute.
pub(crate) const MINUTE_US: i64 = 60_000_000;
/// The business zone's offset from UTC.
const BUSINESS_OFFSET_US: i64 = 8 * HOUR_US;

/// The epoch day of a calendar date.
pub(crate) fn epoch_day(date: NaiveDate) -> i32 {
    date.to_epoch_days()
}

/// The calendar date of an epoch day (days of validated windows are always representable).
pub(crate) fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_epoch_days(day).unwrap_or(NaiveDate::MAX)
}

/// The UTC instant of business-local time `local_us` (microseconds after local midnight) on `day`.
#[inline]
pub(crate) fn instant(day: i32, local_us: i64) -> i64 {
    i64::from(day) * DAY_US + local_us - BUSINESS_OFFSET_US
}

/// The business date (epoch day) of a UTC instant.
#[inline]
pub(crate) fn business_day(ts: i64) -> i32 {
    i32::try_from((ts + BUSINESS_OFFSET_US).div_euclid(DAY_US)).unwrap_or(i32::MAX)
}

/// The landing window and per-day activity factors.
pub(crate) struct Calendar {
    /// First landing day (epoch day).
    pub first: i32,
    /// Last landing day (epoch day), inclusive.
    pub last: i32,
    /// Seasonality x weekday factor for each window day, for B2B activity.
    factors: Vec<f64>,
    /// True for Saturdays and Sundays, per window day.
    weekend: Vec<bool>,
}

impl Calendar {
    /// The window of `days` landing days ending on `end` (inclusive).
    pub fn new(end: NaiveDate, days: u32) -> Self {
        let last = epoch_day(end);
        let first = last - i32::try_from(days).unwrap_or(i32::MAX) + 1;
        let mut factors = Vec::with_capacity(days as usize);
        let mut weekend = Vec::with_capacity(days as usize);
        for day in first..=last {
            let date = date_of(day);
            let month = MONTH_FACTOR[date.month0() as usize];
            let is_weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            factors.push(month * if is_weekend { 0.45 } else { 1.22 });
            weekend.push(is_weekend);
        }
        Self {
            first,
            last,
            factors,
            weekend,
        }
    }

    /// Activity factor of a window day (mean about 1 over a year).
    #[inline]
    pub fn factor(&self, day: i32) -> f64 {
        self.factors[(day - self.first) as usize]
    }

    /// Whether a window day is a Saturday or Sunday.
    #[inline]
    pub fn is_weekend(&self, day: i32) -> bool {
        self.weekend[(day - self.first) as usize]
    }
}

/// Monthly seasonality of B2B buying in China: Spring Festival dip in February, 618 in June,
/// National Day in October, Double 11 and year-end budgets in November and December.
const MONTH_FACTOR: [f64; 12] = [
    0.9, 0.6, 1.0, 1.0, 1.0, 1.15, 0.95, 0.9, 1.05, 0.85, 1.3, 1.3,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_date_is_shanghai_date() {
        // 2026-11-21T16:30:00Z is 2026-11-22 00:30 in Shanghai.
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        let d21 = epoch_day(date);
        let ts = i64::from(d21) * DAY_US + 16 * HOUR_US + 30 * MINUTE_US;
        assert_eq!(business_day(ts), d21 + 1);
        assert_eq!(business_day(instant(d21, 0)), d21);
        assert_eq!(business_day(instant(d21, DAY_US - 1)), d21);
        assert_eq!(date_of(d21), date);
        assert_eq!(
            epoch_day(NaiveDate::from_ymd_opt(1970, 1, 2).expect("valid date")),
            1
        );
    }
}
