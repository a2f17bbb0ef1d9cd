//! The input of [`resolve_input`](super::resolve_input), held compactly: record names, keys and
//! anchor orders are interned (each distinct string stored once, in one buffer), and each input
//! row is three small integers.
//!
//! At a million customers the match-key stage hands the aggregate 4.5 M rows (1.7 M records,
//! 3.3 M keys, a 30-character anchor order per record). As one owned `String` per field a row
//! took about 127 bytes and the aggregate, which cannot spill, 570 MB; interned it takes about
//! 12 bytes a row plus each distinct string once (bench/NOTES.md, "Memory limits, scale L").
//! [`Numbered`] is the same input with records numbered in name order, keys in text order, and
//! the rows sorted into key groups ([`Run`]s), as the resolution works on it.

use string_interner::backend::StringBackend;
use string_interner::symbol::SymbolU32;
use string_interner::{StringInterner, Symbol};

use super::Relation;

/// Distinct strings, numbered densely from 0 in the order they were first seen.
pub type Strings = StringInterner<StringBackend<SymbolU32>>;

/// The text of string `i` of `strings` (`i` came from the same interner).
pub fn text(strings: &Strings, i: u32) -> &str {
    let symbol = SymbolU32::try_from_usize(i as usize).expect("a symbol index fits in u32");
    strings
        .resolve(symbol)
        .expect("an index handed out by this interner")
}

fn intern(strings: &mut Strings, s: &str, bytes: &mut usize) -> u32 {
    let before = strings.len();
    let i = strings.get_or_intern(s).to_usize() as u32;
    if strings.len() > before {
        // The text, its end offset and about one hash-table slot.
        *bytes += s.len() + size_of::<usize>() + 8;
    }
    i
}

/// One input row: record `record` holds key `key` under `relation` (indexes into
/// [`Input::records`] and [`Input::keys`]). Field order is the sort order of the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pair {
    pub relation: Relation,
    pub key: u32,
    pub record: u32,
}

/// The rows given to the resolution, interned.
#[derive(Debug, Default)]
pub struct Input {
    pub records: Strings,
    pub keys: Strings,
    orders: Strings,
    /// Per record: its smallest anchor order (an index into `orders`), if it was given one.
    order_of: Vec<Option<u32>>,
    pub pairs: Vec<Pair>,
    /// Bytes held by the three interners (kept as strings are added).
    bytes: usize,
}

impl Input {
    /// Add a row; a record's anchor order is the smallest given for it in any row.
    pub fn push(&mut self, record: &str, key: &str, relation: Relation, order: Option<&str>) {
        let r = self.record(record, order);
        let k = self.key(key);
        self.pair(r, k, relation);
    }

    /// The number of record `record`, interned on first sight; `order` is one of its anchor
    /// orders (the smallest given is kept).
    pub fn record(&mut self, record: &str, order: Option<&str>) -> u32 {
        let r = intern(&mut self.records, record, &mut self.bytes);
        if self.order_of.len() <= r as usize {
            self.order_of.resize(r as usize + 1, None);
        }
        if let Some(given) = order {
            let smaller = match self.order_of[r as usize] {
                Some(old) => given < text(&self.orders, old),
                None => true,
            };
            if smaller {
                self.order_of[r as usize] = Some(intern(&mut self.orders, given, &mut self.bytes));
            }
        }
        r
    }

    /// The number of key `key`, interned on first sight.
    pub fn key(&mut self, key: &str) -> u32 {
        intern(&mut self.keys, key, &mut self.bytes)
    }

    /// Add a row over numbers from [`record`](Self::record) and [`key`](Self::key).
    pub fn pair(&mut self, record: u32, key: u32, relation: Relation) {
        self.pairs.push(Pair {
            relation,
            key,
            record,
        });
    }

    /// Record `r`'s anchor order.
    pub fn order(&self, r: u32) -> Option<&str> {
        self.order_of
            .get(r as usize)
            .copied()
            .flatten()
            .map(|o| text(&self.orders, o))
    }

    /// Free the anchor orders (once the records are ranked).
    pub fn forget_orders(&mut self) {
        self.orders = Strings::new();
        self.order_of = Vec::new();
    }

    /// Approximate heap bytes held (what the aggregate reports to the memory pool).
    pub fn size(&self) -> usize {
        self.bytes
            + self.order_of.capacity() * size_of::<Option<u32>>()
            + self.pairs.capacity() * size_of::<Pair>()
    }
}

/// A key group of the sorted pairs: the records holding one key under one relation are the
/// pairs `start..end`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    pub(super) rel: Relation,
    /// The key's position in text order.
    pub(super) key: u32,
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Run {
    pub(super) fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

/// The input with records numbered in name order and keys in text order.
pub(super) struct Numbered {
    pub(super) input: Input,
    /// Record id (position in name order) -> interned record.
    pub(super) record_sym: Vec<u32>,
    /// `rank[id]`: position of the record in (anchor order, name) order, no order last.
    pub(super) rank: Vec<u32>,
    /// Key position (text order) -> interned key.
    pub(super) key_sym: Vec<u32>,
    /// The pairs over record ids and key positions, sorted and without repeats.
    pub(super) pairs: Vec<Pair>,
}

impl Numbered {
    pub(super) fn new(mut input: Input) -> Numbered {
        let order_of_text = |strings: &Strings| {
            let mut by_text: Vec<u32> = (0..strings.len() as u32).collect();
            by_text.sort_unstable_by(|&a, &b| text(strings, a).cmp(text(strings, b)));
            let mut position = vec![0u32; by_text.len()];
            for (p, &s) in by_text.iter().enumerate() {
                position[s as usize] = p as u32;
            }
            (by_text, position)
        };
        let (record_sym, record_id) = order_of_text(&input.records);
        let (key_sym, key_position) = order_of_text(&input.keys);
        let mut by_rank: Vec<u32> = (0..record_sym.len() as u32).collect();
        by_rank.sort_unstable_by(|&a, &b| {
            let (x, y) = (
                input.order(record_sym[a as usize]),
                input.order(record_sym[b as usize]),
            );
            (x.is_none(), x, a).cmp(&(y.is_none(), y, b))
        });
        let mut rank = vec![0u32; by_rank.len()];
        for (p, &i) in by_rank.iter().enumerate() {
            rank[i as usize] = p as u32;
        }
        drop(by_rank);
        input.forget_orders();
        let mut pairs = std::mem::take(&mut input.pairs);
        for p in &mut pairs {
            p.record = record_id[p.record as usize];
            p.key = key_position[p.key as usize];
        }
        pairs.sort_unstable();
        pairs.dedup();
        Numbered {
            input,
            record_sym,
            rank,
            key_sym,
            pairs,
        }
    }

    pub(super) fn records(&self) -> usize {
        self.record_sym.len()
    }

    pub(super) fn name(&self, id: u32) -> &str {
        text(&self.input.records, self.record_sym[id as usize])
    }

    pub(super) fn key(&self, position: u32) -> &str {
        text(&self.input.keys, self.key_sym[position as usize])
    }

    pub(super) fn members(&self, run: &Run) -> impl Iterator<Item = u32> + '_ {
        self.pairs[run.start as usize..run.end as usize]
            .iter()
            .map(|p| p.record)
    }

    /// The key groups, in (relation, key) order.
    pub(super) fn runs(&self) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for (i, p) in self.pairs.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if r.rel == p.relation && r.key == p.key => r.end = i as u32 + 1,
                _ => runs.push(Run {
                    rel: p.relation,
                    key: p.key,
                    start: i as u32,
                    end: i as u32 + 1,
                }),
            }
        }
        runs
    }
}
