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
pub mod junk;
pub mod person;
pub mod udaf;

use std::collections::HashMap;

use petgraph::unionfind::UnionFind;

use guard::Attributes;
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

struct Group {
    rel: Relation,
    key: String,
    members: Vec<usize>,
}

/// The records of the input, numbered in sorted order, with their anchor ranks.
struct Records<'a> {
    /// Record names in sorted order; a record's id is its position here.
    names: Vec<&'a str>,
    /// The id of each name (a hash lookup: a binary search over millions of names that share
    /// long prefixes took a seventh of the resolution's time).
    index: HashMap<&'a str, usize>,
    /// `rank[i]`: position of record `i` in (order, record) order.
    rank: Vec<usize>,
}

impl<'a> Records<'a> {
    fn new(rows: &'a [Row]) -> Records<'a> {
        let mut orders: HashMap<&str, Option<&str>> = HashMap::new();
        for row in rows {
            let o = orders.entry(&row.record).or_insert(None);
            if let Some(given) = row.order.as_deref() {
                *o = Some(o.map_or(given, |old| old.min(given)));
            }
        }
        let mut names: Vec<&'a str> = orders.keys().copied().collect();
        names.sort_unstable();
        let mut by_rank: Vec<usize> = (0..names.len()).collect();
        by_rank.sort_by_key(|&i| {
            let order = orders[names[i]];
            (order.is_none(), order, i)
        });
        let mut rank = vec![0; names.len()];
        for (position, &i) in by_rank.iter().enumerate() {
            rank[i] = position;
        }
        let index = names.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        Records { names, index, rank }
    }

    fn id(&self, r: &str) -> usize {
        self.index[r]
    }
}

/// Resolve `rows` into customers; see the module docs.
pub fn resolve(mut rows: Vec<Row>, policy: &Policy) -> Vec<Fact> {
    // Sorted on every field, so which copy of a repeated row survives does not depend on the
    // input order: the one with the smallest anchor order, a missing one last.
    rows.sort_unstable_by(|a, b| {
        (a.relation, &a.key, &a.record, a.order.is_none(), &a.order).cmp(&(
            b.relation,
            &b.key,
            &b.record,
            b.order.is_none(),
            &b.order,
        ))
    });
    rows.dedup_by(|a, b| a.relation == b.relation && a.key == b.key && a.record == b.record);
    let recs = Records::new(&rows);
    let mut groups: Vec<Group> = Vec::new();
    for row in &rows {
        let id = recs.id(&row.record);
        match groups.last_mut() {
            Some(g) if g.rel == row.relation && g.key == row.key => g.members.push(id),
            _ => groups.push(Group {
                rel: row.relation,
                key: row.key.clone(),
                members: vec![id],
            }),
        }
    }
    let mut facts = Vec::new();
    let usable = screen(&groups, &recs, policy, &mut facts);
    let musts: Vec<&Group> = groups
        .iter()
        .filter(|g| g.rel == Relation::MustLink)
        .collect();
    let cannots: Vec<&Group> = groups
        .iter()
        .filter(|g| g.rel == Relation::CannotLink)
        .collect();
    let uf = link(&recs, &musts, &cannots, usable, &mut facts);
    label(&recs, uf, facts)
}

/// Step 1: refuse junk and person names, and over-limit keys for the holders that disagree;
/// returns the key groups that may link, with the holders each may link.
fn screen(groups: &[Group], recs: &Records, policy: &Policy, facts: &mut Vec<Fact>) -> Vec<Group> {
    let fact = |kind: &'static str, g: &Group, records: usize, reason: &'static str| Fact {
        kind,
        key: Some(g.key.clone()),
        records: Some(records as i64),
        reason: Some(reason),
        ..Fact::default()
    };
    let mut attrs = vec![Attributes::default(); recs.names.len()];
    let mut candidates = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        if g.rel != Relation::Key {
            continue;
        }
        let shared = g.members.len() > 1;
        match policy.junk.classify(&g.key) {
            // A person's name tells people apart; it never links.
            Some(Junk::PersonName) if shared => {
                facts.push(fact("refused", g, g.members.len(), "person_name"))
            }
            Some(Junk::PersonName) => {}
            // Junk describes nobody; listed only where it would have linked records.
            Some(j) => {
                if shared {
                    facts.push(fact("refused", g, g.members.len(), j.code()));
                }
                continue;
            }
            None if shared => candidates.push(g),
            None => {}
        }
        for &m in &g.members {
            let a = &mut attrs[m];
            match guard::kind(&g.key) {
                'p' => a.phones.push(gi),
                'e' => a.emails.push(gi),
                'n' => a.names.push(gi),
                'h' => a.people.push(gi),
                _ => {}
            }
        }
    }
    let mut usable = Vec::new();
    for g in candidates {
        let kind = guard::kind(&g.key);
        let over = g.members.len() > policy.max_records_per_key;
        if !over && kind != 'n' {
            usable.push(Group {
                rel: g.rel,
                key: g.key.clone(),
                members: g.members.clone(),
            });
            continue;
        }
        let values = |i: usize| groups[i].key.as_str();
        let parts = guard::agreeing_groups(kind, &g.members, &attrs, &recs.rank, &values, !over);
        let linked: Vec<&Vec<usize>> = parts.iter().filter(|p| p.len() > 1).collect();
        let n_linked: usize = linked.iter().map(|p| p.len()).sum();
        let left_out = g.members.len() - n_linked;
        if over && n_linked > 0 {
            let mut accepted = fact("accepted", g, n_linked, "records_agree");
            accepted.record = Some(recs.names[linked[0][0]].to_string());
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
            let mut members = part.clone();
            members.sort_unstable();
            usable.push(Group {
                rel: g.rel,
                key: g.key.clone(),
                members,
            });
        }
    }
    usable
}

/// Step 2: overrides, then keys strongest first, honouring `cannot_link`.
fn link(
    recs: &Records,
    musts: &[&Group],
    cannots: &[&Group],
    mut usable: Vec<Group>,
    facts: &mut Vec<Fact>,
) -> UnionFind<usize> {
    let name = |i: usize| Some(recs.names[i].to_string());
    let mut uf = UnionFind::<usize>::new(recs.names.len());
    for g in musts {
        for &m in &g.members[1..] {
            if uf.union(g.members[0], m) {
                facts.push(link_fact(&g.key, name(m), name(g.members[0])));
            }
        }
    }
    // For each component root, the records it must stay apart from.
    let mut apart: HashMap<usize, Vec<usize>> = HashMap::new();
    for g in cannots {
        for (i, &a) in g.members.iter().enumerate() {
            for &b in &g.members[i + 1..] {
                if uf.equiv(a, b) {
                    facts.push(Fact {
                        kind: "conflict",
                        record: name(b),
                        other: name(a),
                        reason: Some("cannot_link_joined_by_must_link"),
                        ..Fact::default()
                    });
                } else {
                    apart.entry(uf.find_mut(a)).or_default().push(b);
                    apart.entry(uf.find_mut(b)).or_default().push(a);
                }
            }
        }
    }
    usable.sort_by(|a, b| {
        (kind_rank(&a.key), a.members.len(), &a.key).cmp(&(
            kind_rank(&b.key),
            b.members.len(),
            &b.key,
        ))
    });
    for g in usable {
        // One holder of the key per customer the key has reached so far.
        let mut reached: Vec<usize> = Vec::new();
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
                    facts.push(Fact {
                        kind: "split",
                        record: name(m),
                        key: Some(g.key.clone()),
                        other: name(other),
                        reason: Some("cannot_link"),
                        ..Fact::default()
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
                facts.push(link_fact(&g.key, name(m), name(other)));
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

fn link_fact(key: &str, record: Option<String>, other: Option<String>) -> Fact {
    Fact {
        kind: "link",
        record,
        key: Some(key.to_string()),
        other,
        ..Fact::default()
    }
}

/// Step 3: label every record with its component's anchor; fill the label of every fact.
fn label(recs: &Records, mut uf: UnionFind<usize>, mut facts: Vec<Fact>) -> Vec<Fact> {
    let n = recs.names.len();
    let mut anchor: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        let root = uf.find_mut(i);
        let best = anchor.entry(root).or_insert(i);
        if recs.rank[i] < recs.rank[*best] {
            *best = i;
        }
    }
    let labels: Vec<usize> = (0..n).map(|i| anchor[&uf.find_mut(i)]).collect();
    let name = |i: usize| Some(recs.names[i].to_string());
    for f in facts.iter_mut().filter(|f| f.label.is_none()) {
        if let Some(r) = &f.record {
            f.label = name(labels[recs.id(r)]);
        }
    }
    let members = labels.iter().enumerate().map(|(i, &l)| Fact {
        kind: "member",
        record: name(i),
        label: name(l),
        ..Fact::default()
    });
    members.chain(facts).collect()
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
