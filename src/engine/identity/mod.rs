//! Identity resolution: which customer records are one customer (DOMAIN.md, "Identity
//! resolution").
//!
//! Input: [`Row`]s (record, key, relation, anchor order). A record is
//! `dwd_customer_match_key.r`. A relation is `key` (a normalized phone `p:`, e-mail `e:` or
//! company name `n:` the record carries), `must_link` or `cannot_link` (a steward's override
//! pair: both records carry the same pair key). The anchor order ranks a record as the id
//! bearer of its customer (the bundled pipeline passes the record's first landing date).
//!
//! [`resolve`] is deterministic whatever the input order (it sorts first):
//! 1. Keys that may not link are refused: junk values and person names ([`junk`],
//!    [`person`]; the match-key stage marks a person's name `h:`). A key held by more than
//!    `max_records_per_key` records links only the holders that agree with its oldest holder
//!    ([`guard`]): `accepted` for those, `refused` (`shared_by_too_many`) for the others.
//! 2. `must_link` pairs are joined first. Then the remaining keys join their records strongest
//!    first (e-mail, phone, name; fewer records first; then by key), a union-find over records
//!    (petgraph's). Within a key, every record is tried against every customer the key has
//!    reached so far. A union that would put a `cannot_link` pair together is skipped: the
//!    component splits at its weakest links, Kruskal-style. A `cannot_link` pair that the
//!    `must_link` overrides already joined cannot be honoured and is reported.
//! 3. A component's label is its anchor: the record first in (anchor order, record) order,
//!    records without an order last. A customer keeps its id while its anchor exists, and a
//!    record that arrives later never takes the id over when the order is the landing date.
//!
//! Output rows ([`Fact`]): one `member` per record, one `link` per successful union (the key and
//! the two records it joined), one `refused` per refused key held by two or more records (for an
//! over-limit key: the holders left out), one `accepted` per over-limit key that linked
//! (`records`: how many; `record`: its reference holder), one `split` per union
//! skipped for a `cannot_link`, one `conflict` per `cannot_link` that could not be honoured.

pub mod guard;
pub mod input;
pub mod junk;
pub mod person;
pub mod udaf;

use std::collections::HashMap;

use petgraph::unionfind::UnionFind;

use guard::Attributes;
use input::{Input, Numbered, Run};
use junk::{Junk, JunkRules};

/// How a record relates to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    MustLink,
    Key,
    CannotLink,
}

impl Relation {
    pub fn parse(text: &str) -> Option<Relation> {
        match text {
            "key" => Some(Relation::Key),
            "must_link" => Some(Relation::MustLink),
            "cannot_link" => Some(Relation::CannotLink),
            _ => None,
        }
    }

    /// A one-byte code (the aggregate's partial state): 0 must_link, 1 key, 2 cannot_link.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Relation> {
        [Relation::MustLink, Relation::Key, Relation::CannotLink]
            .get(code as usize)
            .copied()
    }

    pub fn text(self) -> &'static str {
        match self {
            Relation::Key => "key",
            Relation::MustLink => "must_link",
            Relation::CannotLink => "cannot_link",
        }
    }
}

/// One input row of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub record: String,
    pub key: String,
    pub relation: Relation,
    /// The record's anchor order (smaller first); `None` ranks after every value.
    pub order: Option<String>,
}

impl Row {
    pub fn new(record: &str, key: &str, relation: Relation) -> Row {
        Row {
            record: record.to_string(),
            key: key.to_string(),
            relation,
            order: None,
        }
    }

    /// The same row with an anchor order.
    pub fn ordered(mut self, order: &str) -> Row {
        self.order = Some(order.to_string());
        self
    }
}

/// One output row of [`resolve`]; unused fields are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fact {
    /// `member`, `link`, `refused`, `accepted`, `split` or `conflict`.
    pub kind: &'static str,
    pub record: Option<String>,
    /// The anchor record of the record's customer.
    pub label: Option<String>,
    pub key: Option<String>,
    pub other: Option<String>,
    /// Records holding the key (`refused`, `accepted`).
    pub records: Option<i64>,
    pub reason: Option<&'static str>,
}

/// The resolution rules: junk lists and the shared-key guard.
#[derive(Debug, Clone)]
pub struct Policy {
    pub junk: JunkRules,
    pub max_records_per_key: usize,
}

/// A key group that may link: the key and the records it links.
struct Group {
    key: u32,
    members: Vec<u32>,
}

/// A fact over record ids and key positions; see [`Fact`].
#[derive(Debug, Clone, Default)]
struct Found {
    kind: &'static str,
    record: Option<u32>,
    key: Option<u32>,
    other: Option<u32>,
    records: Option<i64>,
    reason: Option<&'static str>,
}

/// What [`resolve_input`] found: one `member` row per record, then the other facts.
pub struct Resolution {
    numbered: Numbered,
    /// The anchor record of each record's customer.
    labels: Vec<u32>,
    facts: Vec<Found>,
}

/// One output row of a [`Resolution`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct FactRef<'a> {
    pub kind: &'static str,
    pub record: Option<&'a str>,
    pub label: Option<&'a str>,
    pub key: Option<&'a str>,
    pub other: Option<&'a str>,
    pub records: Option<i64>,
    pub reason: Option<&'static str>,
}

impl FactRef<'_> {
    pub fn to_fact(self) -> Fact {
        let owned = |s: Option<&str>| s.map(str::to_string);
        Fact {
            kind: self.kind,
            record: owned(self.record),
            label: owned(self.label),
            key: owned(self.key),
            other: owned(self.other),
            records: self.records,
            reason: self.reason,
        }
    }
}

impl Resolution {
    /// Output rows.
    pub fn len(&self) -> usize {
        self.labels.len() + self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Output row `i` (`i < len()`).
    pub fn row(&self, i: usize) -> FactRef<'_> {
        let nb = &self.numbered;
        let name = |id: Option<u32>| id.map(|r| nb.name(r));
        let label = |id: Option<u32>| id.map(|r| nb.name(self.labels[r as usize]));
        if let Some(&l) = self.labels.get(i) {
            return FactRef {
                kind: "member",
                record: Some(nb.name(i as u32)),
                label: Some(nb.name(l)),
                key: None,
                other: None,
                records: None,
                reason: None,
            };
        }
        let f = &self.facts[i - self.labels.len()];
        FactRef {
            kind: f.kind,
            record: name(f.record),
            label: label(f.record),
            key: f.key.map(|k| nb.key(k)),
            other: name(f.other),
            records: f.records,
            reason: f.reason,
        }
    }
}

/// Resolve `rows` into customers; see the module docs. (The string form of [`resolve_input`].)
pub fn resolve(rows: Vec<Row>, policy: &Policy) -> Vec<Fact> {
    let mut input = Input::default();
    for row in &rows {
        input.push(&row.record, &row.key, row.relation, row.order.as_deref());
    }
    drop(rows);
    let resolution = resolve_input(input, policy);
    (0..resolution.len())
        .map(|i| resolution.row(i).to_fact())
        .collect()
}

/// Resolve the interned `input` into customers; see the module docs. Repeated (record, key,
/// relation) rows count once; a record's anchor order is the smallest given for it.
pub fn resolve_input(input: Input, policy: &Policy) -> Resolution {
    let numbered = Numbered::new(input);
    let runs = numbered.runs();
    let mut facts = Vec::new();
    let usable = screen(&numbered, &runs, policy, &mut facts);
    let explicit = |rel: Relation| -> Vec<Group> {
        runs.iter()
            .filter(|r| r.rel == rel)
            .map(|r| Group {
                key: r.key,
                members: numbered.members(r).collect(),
            })
            .collect()
    };
    let musts = explicit(Relation::MustLink);
    let cannots = explicit(Relation::CannotLink);
    drop(runs);
    let uf = link(&numbered, &musts, &cannots, usable, &mut facts);
    let labels = label(&numbered.rank, uf);
    Resolution {
        numbered,
        labels,
        facts,
    }
}

/// Step 1: refuse junk and person names, and over-limit keys for the holders that disagree;
/// returns the key groups that may link, with the holders each may link.
fn screen(nb: &Numbered, runs: &[Run], policy: &Policy, facts: &mut Vec<Found>) -> Vec<Group> {
    let fact = |kind: &'static str, g: &Run, records: usize, reason: &'static str| Found {
        kind,
        key: Some(g.key),
        records: Some(records as i64),
        reason: Some(reason),
        ..Found::default()
    };
    // Which key groups describe their holders (all but junk), and which may link.
    let mut held = vec![false; runs.len()];
    let mut candidates = Vec::new();
    for (gi, g) in runs.iter().enumerate() {
        if g.rel != Relation::Key {
            continue;
        }
        let shared = g.len() > 1;
        match policy.junk.classify(nb.key(g.key)) {
            // A person's name tells people apart; it never links.
            Some(Junk::PersonName) if shared => {
                facts.push(fact("refused", g, g.len(), "person_name"))
            }
            Some(Junk::PersonName) => {}
            // Junk describes nobody; listed only where it would have linked records.
            Some(j) => {
                if shared {
                    facts.push(fact("refused", g, g.len(), j.code()));
                }
                continue;
            }
            None if shared => candidates.push(gi),
            None => {}
        }
        held[gi] = true;
    }
    let holdings = Holdings::new(nb, runs, &held);
    drop(held);
    let values = |gi: usize| nb.key(runs[gi].key);
    let mut usable = Vec::new();
    for gi in candidates {
        let g = &runs[gi];
        let kind = guard::kind(nb.key(g.key));
        let members: Vec<u32> = nb.members(g).collect();
        let over = members.len() > policy.max_records_per_key;
        if !over && kind != 'n' {
            usable.push(Group {
                key: g.key,
                members,
            });
            continue;
        }
        let attrs: Vec<Attributes> = members
            .iter()
            .map(|&m| holdings.attributes(m, &values))
            .collect();
        let rank: Vec<usize> = members
            .iter()
            .map(|&m| nb.rank[m as usize] as usize)
            .collect();
        let local: Vec<usize> = (0..members.len()).collect();
        let parts = guard::agreeing_groups(kind, &local, &attrs, &rank, &values, !over);
        let linked: Vec<&Vec<usize>> = parts.iter().filter(|p| p.len() > 1).collect();
        let n_linked: usize = linked.iter().map(|p| p.len()).sum();
        let left_out = members.len() - n_linked;
        if over && n_linked > 0 {
            let mut accepted = fact("accepted", g, n_linked, "records_agree");
            accepted.record = Some(members[linked[0][0]]);
            facts.push(accepted);
        }
        if left_out > 0 {
            let reason = if over {
                "shared_by_too_many"
            } else {
                "contacts_disagree"
            };
            facts.push(fact("refused", g, left_out, reason));
        }
        for part in linked {
            let mut ids: Vec<u32> = part.iter().map(|&l| members[l]).collect();
            ids.sort_unstable();
            usable.push(Group {
                key: g.key,
                members: ids,
            });
        }
    }
    usable
}

/// The key groups each record holds (those that describe it), for the guard.
struct Holdings {
    /// Record `r`'s groups are `groups[start[r]..start[r + 1]]`, in group order.
    start: Vec<u32>,
    groups: Vec<u32>,
}

impl Holdings {
    fn new(nb: &Numbered, runs: &[Run], held: &[bool]) -> Holdings {
        let mut start = vec![0u32; nb.records() + 1];
        let held_runs = || runs.iter().enumerate().filter(|(gi, _)| held[*gi]);
        for (_, g) in held_runs() {
            for m in nb.members(g) {
                start[m as usize + 1] += 1;
            }
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut groups = vec![0u32; start[start.len() - 1] as usize];
        for (gi, g) in held_runs() {
            for m in nb.members(g) {
                groups[next[m as usize] as usize] = gi as u32;
                next[m as usize] += 1;
            }
        }
        Holdings { start, groups }
    }

    fn attributes<'v>(&self, record: u32, values: &dyn Fn(usize) -> &'v str) -> Attributes {
        let r = record as usize;
        let mut a = Attributes::default();
        for &gi in &self.groups[self.start[r] as usize..self.start[r + 1] as usize] {
            let gi = gi as usize;
            match guard::kind(values(gi)) {
                'p' => a.phones.push(gi),
                'e' => a.emails.push(gi),
                'n' => a.names.push(gi),
                'h' => a.people.push(gi),
                _ => {}
            }
        }
        a
    }
}

/// Step 2: overrides, then keys strongest first, honouring `cannot_link`.
fn link(
    nb: &Numbered,
    musts: &[Group],
    cannots: &[Group],
    mut usable: Vec<Group>,
    facts: &mut Vec<Found>,
) -> UnionFind<u32> {
    let mut uf = UnionFind::<u32>::new(nb.records());
    for g in musts {
        for &m in &g.members[1..] {
            if uf.union(g.members[0], m) {
                facts.push(link_fact(g.key, m, g.members[0]));
            }
        }
    }
    // For each component root, the records it must stay apart from.
    let mut apart: HashMap<u32, Vec<u32>> = HashMap::new();
    for g in cannots {
        for (i, &a) in g.members.iter().enumerate() {
            for &b in &g.members[i + 1..] {
                if uf.equiv(a, b) {
                    facts.push(Found {
                        kind: "conflict",
                        record: Some(b),
                        other: Some(a),
                        reason: Some("cannot_link_joined_by_must_link"),
                        ..Found::default()
                    });
                } else {
                    apart.entry(uf.find_mut(a)).or_default().push(b);
                    apart.entry(uf.find_mut(b)).or_default().push(a);
                }
            }
        }
    }
    usable.sort_by(|a, b| {
        (kind_rank(nb.key(a.key)), a.members.len(), a.key).cmp(&(
            kind_rank(nb.key(b.key)),
            b.members.len(),
            b.key,
        ))
    });
    for g in usable {
        // One holder of the key per customer the key has reached so far.
        let mut reached: Vec<u32> = Vec::new();
        for &m in &g.members {
            let mut joined = false;
            for &other in &reached {
                let (ra, rb) = (uf.find_mut(m), uf.find_mut(other));
                if ra == rb {
                    joined = true;
                    continue;
                }
                let blocked = apart
                    .get(&ra)
                    .is_some_and(|ps| ps.iter().any(|&p| uf.find(p) == rb));
                if blocked {
                    facts.push(Found {
                        kind: "split",
                        record: Some(m),
                        key: Some(g.key),
                        other: Some(other),
                        reason: Some("cannot_link"),
                        ..Found::default()
                    });
                    continue;
                }
                uf.union(ra, rb);
                let root = uf.find_mut(ra);
                let mut merged = apart.remove(&ra).unwrap_or_default();
                merged.extend(apart.remove(&rb).unwrap_or_default());
                if !merged.is_empty() {
                    apart.insert(root, merged);
                }
                facts.push(link_fact(g.key, m, other));
                joined = true;
            }
            if !joined {
                reached.push(m);
            } else {
                // Keep one holder per distinct customer.
                let mut seen = Vec::new();
                reached.retain(|&r| {
                    let root = uf.find_mut(r);
                    let fresh = !seen.contains(&root);
                    seen.push(root);
                    fresh
                });
            }
        }
    }
    uf
}

fn link_fact(key: u32, record: u32, other: u32) -> Found {
    Found {
        kind: "link",
        record: Some(record),
        key: Some(key),
        other: Some(other),
        ..Found::default()
    }
}

/// Step 3: the anchor of every record's component (the record of smallest rank in it).
fn label(rank: &[u32], mut uf: UnionFind<u32>) -> Vec<u32> {
    let n = rank.len() as u32;
    let mut anchor = vec![u32::MAX; rank.len()];
    for i in 0..n {
        let best = &mut anchor[uf.find_mut(i) as usize];
        if *best == u32::MAX || rank[i as usize] < rank[*best as usize] {
            *best = i;
        }
    }
    (0..n).map(|i| anchor[uf.find_mut(i) as usize]).collect()
}

/// Strength order of key kinds: e-mail, phone, name (an override is stronger than all).
fn kind_rank(key: &str) -> u8 {
    match guard::kind(key) {
        'e' => 0,
        'p' => 1,
        'n' => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests;
