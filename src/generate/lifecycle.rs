//! Account lifecycle facts: one-year contracts with renewals, and leads with their 3-7-21
//! follow-ups (seed 000: thanks e-mail within 3 hours, needs analysis by call, meeting or visit
//! within 7 days, a solution within 21 days).
//!
//! Contracts are decided once for the whole window (renewals chain through `renewed_from`;
//! churners do not renew, others mostly do) and also fix the days with product usage and who is
//! enrolled in a customer-success plan (`plan`), as plan B raises renewal. A
//! contract lands when it is both signed and in force, so neither `signed_at` nor `start_date`
//! is ever after its landing date. Follow-up timings keep clear of the deadlines (never within
//! ten minutes of 3 hours, or hours of 7 and 21 days), so compliance is unambiguous.

use chrono::Months;

use super::calendar::{DAY_US, HOUR_US, MINUTE_US, business_day, date_of, epoch_day};
use super::customers::{World, at_hours};
use super::plan::{BASE_RENEWAL_RATE, PLAN_B_RENEWAL_RATE, offer};
use super::rng::{Rng, Stream, key, rng};
use super::rows::{ContractRow, InteractionRow, LeadRow};
use super::text::{NEEDS, SOLUTION, THANKS};

/// Decide every contract and plan enrollment; set each customer's usage coverage and plan.
/// Returns `(landing day, row)` pairs for the contracts that land in the window.
///
/// Contracts are numbered in customer order. The renewals that only plan B's effect brings
/// (the baseline draw would have ended the chain) are numbered after all the others, so every
/// other contract keeps the id it has without the plan.
pub(crate) fn contracts(world: &mut World) -> Vec<(i32, ContractRow)> {
    let (first, last, seed) = (world.cal.first, world.cal.last, world.seed);
    let cal = &world.cal;
    let mut out = Vec::new();
    // Indexes into `out` of contracts numbered from `extra_id` (`true` when `renewed_from` is
    // too); renumbered after the loop.
    let mut extras: Vec<(usize, bool)> = Vec::new();
    let mut next_id = 1u32;
    let mut extra_id = 1u32;
    for (i, c) in world.customers.iter_mut().enumerate() {
        let Some(crm) = c.crm else { continue };
        let mut r = rng(key(seed, Stream::Contract, i as u64, 0));
        let p = if c.erp.is_some() {
            [0.08, 0.18, 0.3, 0.45][c.size as usize]
        } else if c.is_buyer() {
            0.02
        } else {
            0.0
        };
        if !r.chance(p) {
            continue;
        }
        let offer = offer(seed, cal, i, crm.land_day);
        let mut eligible = false;
        let created = business_day(crm.created);
        let mut start = if created < first {
            (created + 30).max(first - r.range(0, 365) as i32)
        } else {
            created + r.range(7, 90) as i32
        };
        let mut value = r.lognormal(30_000.0 * [0.5, 1.0, 2.5, 6.0][c.size as usize], 0.5);
        // The previous contract's id and whether it is numbered among the extras.
        let mut previous: Option<(u32, bool)> = None;
        // Whether the chain would still run without plan B's effect.
        let mut baseline = true;
        c.usage_from = start;
        while start <= last {
            let end = epoch_day(date_of(start) + Months::new(12)) - 1;
            if let Some(o) = offer {
                eligible |= (start..=end).contains(&o.plan.start);
            }
            let signed_day = start - r.range(0, 21) as i32;
            let signed_at = at_hours(&mut r, signed_day, 9, 18);
            let landing = if start < first {
                first
            } else {
                business_day(signed_at).max(start) + i32::from(r.chance(0.3))
            };
            let id = if baseline {
                next_id += 1;
                next_id - 1
            } else {
                extra_id += 1;
                extra_id - 1
            };
            if landing <= last {
                if !baseline {
                    extras.push((out.len(), previous.is_some_and(|p| p.1)));
                }
                out.push((
                    landing,
                    ContractRow {
                        contract_no: id,
                        crm_no: crm.no,
                        start_date: start,
                        end_date: end,
                        annual_value: (value / 100.0).round() as i128 * 10_000,
                        renewed_from: previous.take().map(|p| p.0),
                        signed_at,
                    },
                ));
            }
            c.usage_to = end;
            let plan_b = offer.is_some_and(|o| o.takes_part && eligible && o.plan.b_effect(end));
            let rate = if plan_b {
                PLAN_B_RENEWAL_RATE
            } else {
                BASE_RENEWAL_RATE
            };
            // Churners never renew; others draw one uniform and compare it with the rate that
            // applies, as `r.chance(rate)` would.
            let u = if c.churn_day > end + 30 {
                r.f()
            } else {
                f64::INFINITY
            };
            if u >= rate {
                break;
            }
            previous = Some((id, !baseline));
            baseline &= u < BASE_RENEWAL_RATE;
            value *= 0.9 + 0.25 * r.f();
            start = end + 1;
        }
        if let Some(o) = offer.filter(|o| o.takes_part && eligible) {
            c.plan = Some(o.plan);
        }
    }
    let offset = next_id - 1;
    for (at, from_extra) in extras {
        let row = &mut out[at].1;
        row.contract_no += offset;
        if from_extra {
            row.renewed_from = row.renewed_from.map(|p| p + offset);
        }
    }
    out
}

/// A lead and its follow-up interactions; the caller numbers interactions.
pub(crate) struct LeadEvents {
    pub lead: LeadRow,
    pub lead_landing: i32,
    /// Follow-ups with their landing days; the caller sets `interaction_no`.
    pub followups: Vec<(i32, InteractionRow)>,
}

/// The lead of customer `customer` (whose `lead_at` is set) and its follow-ups.
pub(crate) fn lead(world: &World, customer: u32, lead_no: u64) -> Option<LeadEvents> {
    let c = &world.customers[customer as usize];
    let (crm, at) = (c.crm?, c.lead_at?);
    let mut r = rng(key(world.seed, Stream::Lead, u64::from(customer), 0));
    let lead = LeadRow {
        lead_no,
        crm_no: crm.no,
        rep: c.rep,
        first_contact_at: at,
    };
    let lead_landing = business_day(at) + i32::from(r.chance(0.3));
    let mut followups = Vec::new();
    let mut push = |r: &mut Rng,
                    ts: i64,
                    channel: &'static str,
                    purpose: &'static str,
                    texts: &[&'static str]| {
        let row = InteractionRow {
            interaction_no: 0,
            crm_no: Some(crm.no),
            channel,
            direction: "out",
            purpose: Some(purpose),
            occurred_at: ts,
            rep: c.rep,
            opened: (channel == "email").then(|| opened(r)).flatten(),
            content: Some(r.choose(texts)),
        };
        followups.push((business_day(ts) + i32::from(r.chance(0.25)), row));
    };
    // Thanks e-mail: on time (10 min .. 2 h 50), late (3 h 10 .. 48 h) or never.
    let thanks = match r.weighted(&[0.78, 0.12, 0.10]) {
        0 => Some(r.range(10, 170) * MINUTE_US),
        1 => Some(r.range(190, 48 * 60) * MINUTE_US),
        _ => None,
    };
    if let Some(offset) = thanks {
        push(&mut r, at + offset, "email", "thanks", THANKS);
    }
    // Needs analysis: within 12 h .. 6 d 19 h, late 7 d 5 h .. 20 d, or never.
    let channel = ["call", "meeting", "visit"][r.weighted(&[0.5, 0.3, 0.2])];
    let needs = match r.weighted(&[0.7, 0.15, 0.15]) {
        0 => Some(r.range(12 * HOUR_US, 6 * DAY_US + 19 * HOUR_US)),
        1 => Some(r.range(7 * DAY_US + 5 * HOUR_US, 20 * DAY_US)),
        _ => None,
    };
    if let Some(offset) = needs {
        push(&mut r, at + offset, channel, "needs_analysis", NEEDS);
    }
    // Solution: within 8 d .. 20 d 19 h, late 21 d 5 h .. 40 d, or never.
    let channel = if r.chance(0.6) { "email" } else { "meeting" };
    let solution = match r.weighted(&[0.6, 0.2, 0.2]) {
        0 => Some(r.range(8 * DAY_US, 20 * DAY_US + 19 * HOUR_US)),
        1 => Some(r.range(21 * DAY_US + 5 * HOUR_US, 40 * DAY_US)),
        _ => None,
    };
    if let Some(offset) = solution {
        push(&mut r, at + offset, channel, "solution", SOLUTION);
    }
    Some(LeadEvents {
        lead,
        lead_landing,
        followups,
    })
}

/// Whether an e-mail was opened: true, false, or unknown (tracking blocked).
pub(crate) fn opened(r: &mut Rng) -> Option<bool> {
    match r.weighted(&[0.45, 0.4, 0.15]) {
        0 => Some(true),
        1 => Some(false),
        _ => None,
    }
}
