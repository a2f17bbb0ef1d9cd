//! The engine's memory pool: DataFusion's fair sharing between spilling operators, with half of
//! the limit kept back for the memory that spilling itself needs.
//!
//! A sort that spills first sorts what it holds, and its merge of the sorted runs is an
//! allocation that cannot spill, about as large as the data being spilled. Under DataFusion's
//! `FairSpillPool` the spilling operators may together fill the whole pool, so at a small limit
//! the merge finds nothing left and the stage fails ("Not enough memory to continue external
//! sort"). Here the shares of operators that can spill are cut from half of the limit; the other
//! half serves merges, hash-join build sides and other allocations that cannot spill. An operator
//! below its share may still use free memory beyond that half while others are above theirs:
//! those are refused on their next request and spill then.
//!
//! The spilling half is shared among the spilling operators that hold memory, not among all that
//! are registered: a plan with ten sorts and as many aggregates registers dozens, most of them
//! idle or finished at any moment, and dividing by all of them left shares smaller than one
//! batch. A reservation is judged by what it holds, not by what its operator holds: an
//! aggregation that has spilled merges its runs under a second reservation that cannot spill.
//! A reservation that holds nothing cannot spill to make room, so its first allocation may use
//! any free memory of the pool up to the spilling half.
//!
//! Memory nobody reserves counts too. DataFusion 55's window operators buffer their input without
//! asking the pool, and Parquet decoders and writers hold buffers of their own; at 5,000,000
//! customers with a 4 GB limit they put the process 1.4 GB above it. A pool made with
//! [`HeadroomPool::watching_resident`] samples the process's resident memory every 50 ms, takes
//! what is resident beyond what the pool has handed out and what the process held when the pool
//! was made as unaccounted, and cuts the spilling
//! half by it (down to an eighth of the limit, so spilling operators still make progress): the
//! operators that can give memory back do, while the ones that cannot hold it. Sessions use it
//! from a 1 GB limit up (see `engine::session`).
//!
//! A hash aggregation holding memory is also refused when its tables' next doubling would not
//! fit between the memory in use and the limit (see `grows_by_doubling`): it asks the pool
//! only after the doubling, so it spills before it instead.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::common::human_readable_size;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

#[derive(Debug, Default)]
struct State {
    /// Bytes held by each consumer that can spill and holds any, by consumer id (all of a
    /// consumer's reservations count for it): the holders the spilling half is shared among.
    held: HashMap<usize, usize>,
    /// Bytes held by consumers that can spill.
    spillable: usize,
    /// Bytes held by consumers that cannot.
    unspillable: usize,
}

impl State {
    fn add(&mut self, r: &MemoryReservation, bytes: usize) {
        if r.consumer().can_spill() {
            *self.held.entry(r.consumer().id()).or_default() += bytes;
            self.spillable += bytes;
        } else {
            self.unspillable += bytes;
        }
    }

    fn remove(&mut self, r: &MemoryReservation, bytes: usize) {
        if r.consumer().can_spill() {
            let id = r.consumer().id();
            if let Some(held) = self.held.get_mut(&id) {
                *held = held.saturating_sub(bytes);
                if *held == 0 {
                    self.held.remove(&id);
                }
            }
            self.spillable = self.spillable.saturating_sub(bytes);
        } else {
            self.unspillable = self.unspillable.saturating_sub(bytes);
        }
    }
}

/// A memory pool of `limit` bytes in which spilling consumers get shares of half of it.
#[derive(Debug)]
pub struct HeadroomPool {
    limit: usize,
    state: Mutex<State>,
    /// The process's resident memory in bytes as last sampled (0: not known).
    resident: Arc<AtomicU64>,
    /// Resident memory when the pool was made (the program, its runtime, the allocator's
    /// arenas): not memory the queries hold.
    baseline: usize,
}

/// How often a watching pool samples resident memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

impl HeadroomPool {
    /// A pool that sees only its own reservations.
    pub fn new(limit: usize) -> Self {
        Self::with_resident(limit, Arc::new(AtomicU64::new(0)))
    }

    /// A pool whose spilling half shrinks by the resident memory it did not hand out, read from
    /// `resident` (bytes; 0 means unknown). Used directly by tests.
    pub fn with_resident(limit: usize, resident: Arc<AtomicU64>) -> Self {
        let baseline = resident.load(Ordering::Relaxed) as usize;
        Self {
            limit,
            state: Mutex::new(State::default()),
            resident,
            baseline,
        }
    }

    /// A pool that samples the process's resident memory every 50 ms on a thread of its own,
    /// which ends when the pool is dropped. Where the system does not report resident memory
    /// it behaves as [`HeadroomPool::new`].
    pub fn watching_resident(limit: usize) -> Self {
        let now = super::guard::resident_bytes();
        let resident = Arc::new(AtomicU64::new(now.unwrap_or(0)));
        if now.is_some() {
            let weak = Arc::downgrade(&resident);
            let _ = std::thread::Builder::new()
                .name("strata-resident".into())
                .spawn(move || {
                    while let Some(r) = weak.upgrade() {
                        r.store(
                            super::guard::resident_bytes().unwrap_or(0),
                            Ordering::Relaxed,
                        );
                        drop(r);
                        std::thread::sleep(SAMPLE_EVERY);
                    }
                });
        }
        Self::with_resident(limit, resident)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain counters, consistent after every statement: a poisoned lock
        // (a panic elsewhere while it was held) leaves nothing half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes the shares of spilling consumers are cut from: half the limit, less whatever
    /// unspillable consumers and memory nobody reserved take beyond the other half, but not
    /// below an eighth of the limit.
    fn spill_budget(&self, s: &State) -> usize {
        let held = s.spillable + s.unspillable;
        let resident = self.resident.load(Ordering::Relaxed) as usize;
        let unaccounted = resident.saturating_sub(self.baseline + held);
        let room = self.limit.saturating_sub(s.unspillable + unaccounted);
        (self.limit / 2)
            .min(self.limit.saturating_sub(s.unspillable))
            .min(room.max(self.limit / 8))
    }

    /// How much more a consumer that holds `own` bytes and may double them (see
    /// [`grows_by_doubling`]) may ask for: its next growth, twice what it will hold, must fit
    /// between the memory the process uses (resident, less the baseline, or the pool's
    /// reservations if more) and the limit. Unlimited while resident memory is not known.
    fn room_to_double(&self, s: &State, own: usize) -> usize {
        let resident = self.resident.load(Ordering::Relaxed) as usize;
        if resident == 0 {
            return usize::MAX;
        }
        let in_use = resident
            .saturating_sub(self.baseline)
            .max(s.spillable + s.unspillable);
        // in_use + 2 * (own + additional) <= limit
        (self.limit.saturating_sub(in_use) / 2).saturating_sub(own)
    }

    fn refuse(
        &self,
        s: &State,
        r: &MemoryReservation,
        additional: usize,
        available: usize,
    ) -> DataFusionError {
        DataFusionError::ResourcesExhausted(format!(
            "Failed to allocate additional {} for {} with {} already allocated for this \
             reservation - {} remain available for it in the memory pool ({}; {} held by {} \
             operators that can spill, {} by others)",
            human_readable_size(additional),
            r.consumer().name(),
            human_readable_size(r.size()),
            human_readable_size(available),
            self,
            human_readable_size(s.spillable),
            s.held.len(),
            human_readable_size(s.unspillable),
        ))
    }
}

impl fmt::Display for HeadroomPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limit {}, half of it for operators that can spill",
            human_readable_size(self.limit)
        )
    }
}

/// Whether a consumer is one of DataFusion's hash aggregations, whose tables grow by doubling.
///
/// A hash aggregation asks the pool for its tables' size after it has inserted a batch, not
/// before, and its hash table (hashbrown) rehashes into one twice the size while the old one is
/// still live: a table the pool counted as `n` bytes briefly takes `3n`. Measured
/// (bench/NOTES.md, heaptrack of dwd_order_latest on 1,000,000 customers at a 1 GB limit, with
/// the system allocator): at the process's peak 830 MB were one aggregation's hash table in the
/// middle of a rehash, while the pool counted 490 MB for it. Sorts hold batches, which do not
/// grow once made.
fn grows_by_doubling(consumer: &MemoryConsumer) -> bool {
    consumer.name().contains("HashAggregateStream")
}

impl MemoryPool for HeadroomPool {
    fn name(&self) -> &str {
        "headroom"
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.state().held.remove(&consumer.id());
    }

    fn grow(&self, r: &MemoryReservation, additional: usize) {
        self.state().add(r, additional);
    }

    fn shrink(&self, r: &MemoryReservation, shrink: usize) {
        self.state().remove(r, shrink);
    }

    fn try_grow(&self, r: &MemoryReservation, additional: usize) -> Result<()> {
        let mut s = self.state();
        let free = self.limit.saturating_sub(s.spillable + s.unspillable);
        let available = if r.consumer().can_spill() {
            // What this reservation holds, not its operator: an aggregation that has spilled
            // merges its sorted runs under a second reservation, which cannot spill, and asks
            // for it while the first still holds the spilled groups. Judged by its operator's
            // total it was refused, and the stage failed (dwd_customer at M with 1 GB).
            let own = r.size();
            let budget = self.spill_budget(&s);
            let may_hold = if own == 0 {
                // Nothing to spill yet: free memory up to the budget will do for a start.
                budget
            } else {
                // Whatever part of the budget no spiller holds, or else up to an equal share
                // of it among the spillers holding memory. One that is below its share may use
                // free memory even while others are above theirs: they are refused on their
                // next request and spill then. (Shares alone left a large aggregation spilling
                // at a fraction of the budget while the other holders kept a few batches.)
                let share = budget / s.held.len();
                let unheld = budget.saturating_sub(s.spillable);
                share.max(own + unheld)
            };
            let available = may_hold.saturating_sub(own).min(free);
            if own > 0 && grows_by_doubling(r.consumer()) {
                // Never below a sixteenth of the limit: DataFusion 55 merges an aggregation's
                // spilled runs under a reservation of the same consumer, which does not double
                // and cannot spill; refused everything while resident memory was above the
                // limit, the merge failed ("Cannot merge sorted runs", dwd_customer at
                // 5,000,000 customers with 4 GB).
                let floor = (self.limit / 16).saturating_sub(own);
                available.min(self.room_to_double(&s, own).max(floor))
            } else {
                available
            }
        } else {
            free
        };
        if additional > available {
            return Err(self.refuse(&s, r, additional, available));
        }
        s.add(r, additional);
        Ok(())
    }

    fn reserved(&self) -> usize {
        let s = self.state();
        s.spillable + s.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const MB: usize = 1 << 20;

    fn pool(limit: usize) -> Arc<dyn MemoryPool> {
        Arc::new(HeadroomPool::new(limit))
    }

    fn spiller(p: &Arc<dyn MemoryPool>, name: &str) -> MemoryReservation {
        MemoryConsumer::new(name).with_can_spill(true).register(p)
    }

    fn fixed(p: &Arc<dyn MemoryPool>, name: &str) -> MemoryReservation {
        MemoryConsumer::new(name).register(p)
    }

    #[test]
    fn one_spiller_gets_half_and_the_rest_is_headroom() {
        let p = pool(100 * MB);
        let sort = spiller(&p, "sort");
        sort.try_grow(50 * MB).unwrap();
        assert!(sort.try_grow(1).is_err());
        // The merge of the spill, which cannot spill, still finds the other half.
        let merge = fixed(&p, "merge");
        merge.try_grow(50 * MB).unwrap();
        assert!(merge.try_grow(1).is_err());
        assert_eq!(p.reserved(), 100 * MB);
        drop(sort);
        assert_eq!(p.reserved(), 50 * MB);
    }

    #[test]
    fn spillers_holding_memory_share_their_half_equally() {
        let p = pool(100 * MB);
        let a = spiller(&p, "a");
        let b = spiller(&p, "b");
        a.try_grow(25 * MB).unwrap();
        b.try_grow(25 * MB).unwrap();
        assert!(a.try_grow(1).is_err());
        assert!(b.try_grow(1).is_err());
        // When one goes away the other may take the whole half.
        drop(b);
        a.try_grow(25 * MB).unwrap();
        assert!(a.try_grow(1).is_err());
    }

    #[test]
    fn idle_spillers_do_not_shrink_the_share() {
        let p = pool(100 * MB);
        let idle: Vec<_> = (0..20).map(|i| spiller(&p, &format!("idle{i}"))).collect();
        let busy = spiller(&p, "busy");
        busy.try_grow(10 * MB).unwrap();
        busy.try_grow(40 * MB).unwrap();
        assert!(busy.try_grow(1).is_err());
        assert_eq!(idle.len(), 20);
    }

    #[test]
    fn a_second_reservation_is_judged_by_what_it_holds() {
        // An aggregation that spilled merges its runs under a new reservation of the same
        // operator while the first still holds the spilled groups; the merge cannot spill.
        let p = pool(100 * MB);
        let groups = spiller(&p, "aggregate");
        groups.try_grow(50 * MB).unwrap();
        let merge = groups.new_empty();
        merge.try_grow(MB).unwrap();
        merge.try_grow(8 * MB).unwrap();
        // The first reservation is refused (it would spill); the pool limit still holds.
        assert!(groups.try_grow(1).is_err());
        merge.try_grow(41 * MB).unwrap();
        assert!(merge.try_grow(1).is_err());
        assert_eq!(p.reserved(), 100 * MB);
    }

    #[test]
    fn a_spiller_may_use_the_part_of_the_half_nobody_holds() {
        let p = pool(100 * MB);
        let small: Vec<_> = (0..4)
            .map(|i| {
                let r = spiller(&p, &format!("small{i}"));
                r.try_grow(MB).unwrap();
                r
            })
            .collect();
        let big = spiller(&p, "big");
        big.try_grow(10 * MB).unwrap();
        // Equal shares would stop it at 10 MB; the 36 MB of the half that nobody holds are
        // there for the taking.
        big.try_grow(36 * MB).unwrap();
        assert!(big.try_grow(1).is_err());
        // A small holder still gets up to its share of 10 MB from the free other half.
        small[0].try_grow(9 * MB).unwrap();
        assert!(small[0].try_grow(1).is_err());
    }

    #[test]
    fn a_spiller_below_its_share_may_use_free_memory() {
        let p = pool(100 * MB);
        let early = spiller(&p, "early");
        early.try_grow(50 * MB).unwrap();
        // The half is used up, but "late" has nothing to spill: it may borrow from the rest,
        // up to its share of the half.
        let late = spiller(&p, "late");
        late.try_grow(10 * MB).unwrap();
        late.try_grow(15 * MB).unwrap();
        assert!(late.try_grow(1).is_err());
        // "early" is above its share now: refused, so it spills.
        let err = early.try_grow(1).unwrap_err().to_string();
        assert!(err.contains("for early"), "{err}");
        assert!(err.contains("Resources exhausted"), "{err}");
        early.shrink(30 * MB);
        early.try_grow(5 * MB).unwrap();
        assert!(early.try_grow(1).is_err());
        assert_eq!(p.reserved(), 50 * MB);
    }

    #[test]
    fn spillers_never_pass_the_pool_limit() {
        let p = pool(100 * MB);
        let build = fixed(&p, "build");
        build.try_grow(80 * MB).unwrap();
        // The budget is 20 MB: 10 MB shares for two spillers.
        let a = spiller(&p, "a");
        let b = spiller(&p, "b");
        a.try_grow(MB).unwrap();
        b.try_grow(MB).unwrap();
        a.try_grow(9 * MB).unwrap();
        let merge = fixed(&p, "merge");
        merge.try_grow(5 * MB).unwrap();
        // b's share has 9 MB left, but only 4 MB of the pool are free.
        assert!(b.try_grow(5 * MB).is_err());
        b.try_grow(4 * MB).unwrap();
        assert_eq!(p.reserved(), 100 * MB);
    }

    #[test]
    fn unspillable_use_beyond_half_shrinks_the_spill_budget() {
        let p = pool(100 * MB);
        let build = fixed(&p, "hash join build");
        build.try_grow(80 * MB).unwrap();
        let sort = spiller(&p, "sort");
        sort.try_grow(20 * MB).unwrap();
        assert!(sort.try_grow(1).is_err());
        assert!(build.try_grow(1).is_err());
        build.shrink(80 * MB);
        sort.try_grow(30 * MB).unwrap();
        assert!(sort.try_grow(1).is_err());
    }

    #[test]
    fn memory_nobody_reserved_shrinks_the_spill_budget_to_an_eighth() {
        let resident = Arc::new(AtomicU64::new(0));
        let p: Arc<dyn MemoryPool> =
            Arc::new(HeadroomPool::with_resident(100 * MB, resident.clone()));
        let sort = spiller(&p, "sort");
        sort.try_grow(10 * MB).unwrap();
        // 70 MB resident of which the pool handed out 10: 60 MB nobody reserved. The spilling
        // budget is 100 - 60 = 40 MB instead of 50.
        resident.store(70 * MB as u64, Ordering::Relaxed);
        sort.try_grow(30 * MB).unwrap();
        // The next sample sees the sort's 30 MB resident too; still 60 MB unaccounted.
        resident.store(100 * MB as u64, Ordering::Relaxed);
        assert!(sort.try_grow(1).is_err());
        // With 95 MB unaccounted the room left (5 MB) is below an eighth of the limit (12.5
        // MB): the spiller keeps that much, no more.
        resident.store(135 * MB as u64, Ordering::Relaxed);
        sort.shrink(40 * MB);
        sort.try_grow(12 * MB).unwrap();
        assert!(sort.try_grow(MB).is_err());
        // An operator that cannot spill is not cut: it gets the free memory of the pool.
        let merge = fixed(&p, "merge");
        merge.try_grow(80 * MB).unwrap();
    }

    #[test]
    fn a_hash_aggregation_keeps_room_to_double_what_it_holds() {
        // 300 MB, and the process 150 MB above its baseline: an aggregation may hold x as long
        // as 150 + 2x <= 300, that is 75 MB; a sort is held only by its share, 150 MB.
        let resident = Arc::new(AtomicU64::new(MB as u64));
        let p: Arc<dyn MemoryPool> =
            Arc::new(HeadroomPool::with_resident(300 * MB, resident.clone()));
        resident.store(151 * MB as u64, Ordering::Relaxed);
        let agg = spiller(&p, "FinalHashAggregateStream[0]");
        agg.try_grow(50 * MB).unwrap();
        agg.try_grow(25 * MB).unwrap();
        assert!(agg.try_grow(MB).is_err());
        drop(agg);
        let sort = spiller(&p, "ExternalSorter[0]");
        sort.try_grow(50 * MB).unwrap();
        sort.try_grow(80 * MB).unwrap();
        drop(sort);
        // With resident memory unknown, the share alone decides (150 MB).
        let p = pool(300 * MB);
        let agg = spiller(&p, "GroupedHashAggregateStream[1]");
        agg.try_grow(50 * MB).unwrap();
        agg.try_grow(100 * MB).unwrap();
        assert!(agg.try_grow(1).is_err());
    }

    #[test]
    fn a_hash_aggregation_keeps_a_sixteenth_of_the_limit_whatever_is_resident() {
        // 320 MB, and the process already 400 MB above its baseline: no room to double at all,
        // but an aggregation (or the merge of its spilled runs, under the same consumer) may
        // still hold 320 / 16 = 20 MB.
        let resident = Arc::new(AtomicU64::new(MB as u64));
        let p: Arc<dyn MemoryPool> =
            Arc::new(HeadroomPool::with_resident(320 * MB, resident.clone()));
        resident.store(401 * MB as u64, Ordering::Relaxed);
        let merge = spiller(&p, "FinalHashAggregateStream[0]");
        merge.try_grow(4 * MB).unwrap();
        merge.try_grow(16 * MB).unwrap();
        assert!(merge.try_grow(1).is_err());
    }

    #[test]
    fn grow_is_accounted_without_checks() {
        let p = pool(10 * MB);
        let a = fixed(&p, "a");
        a.grow(30 * MB);
        assert_eq!(p.reserved(), 30 * MB);
        assert!(fixed(&p, "b").try_grow(1).is_err());
        a.free();
        assert_eq!(p.reserved(), 0);
        assert!(matches!(p.memory_limit(), MemoryLimit::Finite(n) if n == 10 * MB));
    }
}
