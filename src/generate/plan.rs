//! Customer-success plans: the A/B test of seed article 000, with a planted effect.
//!
//! Seed 000 compares two customer-success plans: plan A (monthly product training and a
//! quarterly business review) and plan B (quarterly strategic consulting and early access to
//! features). Table `ods_cs_plan` holds one assignment per enrolled CRM customer:
//! `assignment_id` (`CSP00000001`), `crm_id`, `plan` (`A` or `B`), `start_date` and
//! `assigned_at` (a business-hours instant on a weekday of the 14 days up to `start_date`, never
//! before the customer's CRM record lands). It lands on the business date of `assigned_at` and
//! has no dirty data.
//!
//! Who is enrolled: every CRM customer draws a plan start day uniformly in the rollout window
//! `[last - 330, last - 210]` (clipped to at least `first + 30`; nobody is enrolled when it is
//! empty), an arm (B with probability [`PLAN_B_SHARE`]) and whether it takes part (probability
//! [`PLAN_TAKE_UP`]). A customer is enrolled when it takes part and one of its contracts is in
//! force on the start day (`start_date <= s <= end_date`). All of this is keyed by
//! `Stream::Plan` per customer, so nothing else is drawn differently.
//!
//! The planted effect, plan B only and only from the start day on: contracts ending on or after
//! the start day renew with probability [`PLAN_B_RENEWAL_RATE`] instead of
//! [`BASE_RENEWAL_RATE`] (churners still never renew), and NPS answers submitted on or after it
//! score [`PLAN_B_NPS_LIFT`] higher on the latent scale before rounding and clamping to 0..10.
//! Plan A has no effect at all. Both effects compare the same uniform or normal draw against a
//! different threshold or offset, so customers outside plan B get byte-identical rows, and the
//! contracts that exist only because of plan B are numbered after every other contract.

use super::calendar::{Calendar, business_day};
use super::customers::{World, at_hours};
use super::rng::{Stream, key, rng};
use super::rows::PlanRow;

/// The chance that a contract renews at its end when no plan-B effect applies (churners, whose
/// churn day is within 30 days after the end, never renew).
pub const BASE_RENEWAL_RATE: f64 = 0.8;

/// Planted effect on renewal: the chance that a contract of an enrolled plan-B customer whose
/// `end_date` is on or after the plan's `start_date` renews (instead of [`BASE_RENEWAL_RATE`]).
pub const PLAN_B_RENEWAL_RATE: f64 = 0.95;

/// Planted effect on NPS: added to the latent score `3.0 + 7.5 * health + 1.6 * N(0, 1)` of an
/// enrolled plan-B customer's NPS answer submitted on or after the plan's `start_date`, before
/// rounding and clamping to 0..10.
pub const PLAN_B_NPS_LIFT: f64 = 1.5;

/// The share of customers drawn into plan B (the rest are plan A).
pub const PLAN_B_SHARE: f64 = 0.5;

/// The share of eligible customers (a contract in force on the start day) who take part.
pub const PLAN_TAKE_UP: f64 = 0.9;

/// The rollout window of plan start days: from this many days before the last landing day ...
pub const ROLLOUT_FROM_DAYS_BEFORE_LAST: i32 = 330;

/// ... to this many days before it (inclusive).
pub const ROLLOUT_TO_DAYS_BEFORE_LAST: i32 = 210;

/// No plan starts earlier than this many days after the first landing day.
const ROLLOUT_MIN_DAYS_AFTER_FIRST: i32 = 30;

/// Assignments are made at most this many days before the plan starts.
const ASSIGNMENT_LEAD_DAYS: i32 = 14;

/// An enrolled customer's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Plan B (else plan A).
    pub b: bool,
    /// The day the plan starts.
    pub start: i32,
    /// When the customer was assigned (never after `start`).
    pub assigned_at: i64,
}

impl Plan {
    /// Whether plan B's effect applies on `day`.
    #[inline]
    pub fn b_effect(&self, day: i32) -> bool {
        self.b && day >= self.start
    }
}

/// A customer's plan draw, before its contracts say whether it is enrolled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offer {
    pub plan: Plan,
    /// Takes part if eligible.
    pub takes_part: bool,
}

/// The rollout window of start days, or `None` when the landing window is too short.
pub(crate) fn rollout(cal: &Calendar) -> Option<(i32, i32)> {
    let from =
        (cal.last - ROLLOUT_FROM_DAYS_BEFORE_LAST).max(cal.first + ROLLOUT_MIN_DAYS_AFTER_FIRST);
    let to = cal.last - ROLLOUT_TO_DAYS_BEFORE_LAST;
    (from <= to).then_some((from, to))
}

/// The plan draw of customer `i`, whose CRM record lands on `crm_land`; `None` when the rollout
/// window is empty.
pub(crate) fn offer(seed: u64, cal: &Calendar, i: usize, crm_land: i32) -> Option<Offer> {
    let (from, to) = rollout(cal)?;
    let mut r = rng(key(seed, Stream::Plan, i as u64, 0));
    let start = r.range(i64::from(from), i64::from(to) + 1) as i32;
    let b = r.chance(PLAN_B_SHARE);
    let takes_part = r.chance(PLAN_TAKE_UP);
    // A weekday in the two weeks up to the start, once the CRM record exists.
    let earliest = (start - ASSIGNMENT_LEAD_DAYS).max(crm_land).max(cal.first);
    let weekdays: Vec<i32> = (earliest..=start).filter(|d| !cal.is_weekend(*d)).collect();
    let day = if weekdays.is_empty() {
        start
    } else {
        r.choose(&weekdays)
    };
    let assigned_at = at_hours(&mut r, day, 9, 18);
    Some(Offer {
        plan: Plan {
            b,
            start,
            assigned_at,
        },
        takes_part,
    })
}

/// The assignment rows of every enrolled customer with their landing days, numbered in
/// assignment order (ties by customer).
pub(crate) fn assignments(world: &World) -> Vec<(i32, PlanRow)> {
    let mut enrolled: Vec<(i64, u32, u32, Plan)> = world
        .customers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((c.plan?.assigned_at, i as u32, c.crm?.no, c.plan?)))
        .collect();
    enrolled.sort_unstable_by_key(|e| (e.0, e.1));
    enrolled
        .into_iter()
        .enumerate()
        .filter_map(|(n, (at, _, crm_no, plan))| {
            let landing = business_day(at);
            (landing <= world.cal.last).then_some((
                landing,
                PlanRow {
                    assignment_no: n as u32 + 1,
                    crm_no,
                    b: plan.b,
                    start_date: plan.start,
                    assigned_at: at,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn rollout_window_needs_enough_days() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        let cal = Calendar::new(end, 395);
        assert_eq!(rollout(&cal), Some((cal.last - 330, cal.last - 210)));
        // 260 days: clipped to first + 30.
        let cal = Calendar::new(end, 260);
        assert_eq!(rollout(&cal), Some((cal.first + 30, cal.last - 210)));
        assert_eq!(rollout(&Calendar::new(end, 240)), None);
        assert_eq!(rollout(&Calendar::new(end, 30)), None);
    }

    #[test]
    fn assignment_is_a_weekday_within_two_weeks_before_the_start() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        let cal = Calendar::new(end, 395);
        let mut b = 0;
        for i in 0..2000 {
            let o = offer(7, &cal, i, cal.first).expect("window is open");
            let day = business_day(o.plan.assigned_at);
            assert!((o.plan.start - 14..=o.plan.start).contains(&day), "{o:?}");
            assert!(!cal.is_weekend(day));
            assert!((cal.last - 330..=cal.last - 210).contains(&o.plan.start));
            b += usize::from(o.plan.b);
        }
        assert!((900..1100).contains(&b), "{b} of 2000 in plan B");
    }
}
