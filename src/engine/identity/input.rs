//! The input of [`resolve_input`](super::resolve_input), held compactly: record names, keys and
//! anchor orders are interned (each distinct string stored once, in one buffer), and each input
//! row is three small integers.
//!
//! At a million customers the match-key stage hands the aggregate 4.5 M rows (1.7 M records,
//! 3.3 M keys, a 30-character anchor order per record). As one owned `String` per field a row
//! took about 127 bytes and the aggregate, which cannot spill, 570 MB; interned it takes about
//! 12 bytes a row plus each distinct string once (bench/NOTES.md, "Identity at a memory limit").

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

    /// Distinct records.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }
}
