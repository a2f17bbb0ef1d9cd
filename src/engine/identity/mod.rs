//! Identity resolution: which customer records are one customer (DOMAIN.md, "Identity
//! resolution").
//!
//! Input: (record, key, relation) triples. A record is `dwd_customer_match_key.r` (its order is
//! the anchor order: CRM, ERP, shop, then the smallest id). A relation is `key` (a normalized
//! phone `p:`, e-mail `e:` or company name `n:` the record carries), `must_link` or
//! `cannot_link` (a steward's override pair: both records carry the same pair key).
//!
//! [`resolve`] is deterministic whatever the input order (it sorts first):
//! 1. Keys that identify nobody are refused ([`junk`]); so is a key held by more than
//!    `max_records_per_key` records that are not connected without it ("their other attributes
//!    disagree").
//! 2. `must_link` pairs are joined first. Then the remaining keys join their records strongest
//!    first (e-mail, phone, name; fewer records first; then by key), a union-find over records
//!    (petgraph's). A union that would put a `cannot_link` pair together is skipped: the
//!    component splits at its weakest links, Kruskal-style. A `cannot_link` pair that the
//!    `must_link` overrides already joined cannot be honoured and is reported.
//! 3. A component's label is its smallest record, the anchor: ids stay stable while it exists.
//!
//! Output rows ([`Fact`]): one `member` per record, one `link` per successful union (the key and
//! the two records it joined), one `refused` per refused key, one `split` per union skipped for a
//! `cannot_link`, one `conflict` per `cannot_link` that could not be honoured.

pub mod junk;
pub mod udaf;

use std::collections::HashMap;

use petgraph::unionfind::UnionFind;

use junk::JunkRules;

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
}

/// One output row of [`resolve`]; unused fields are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fact {
    /// `member`, `link`, `refused`, `split` or `conflict`.
    pub kind: &'static str,
    pub record: Option<String>,
    /// The anchor record of the record's customer.
    pub label: Option<String>,
    pub key: Option<String>,
    pub other: Option<String>,
    /// Records holding the key (`refused`).
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

/// Resolve `triples` (record, key, relation) into customers; see the module docs.
pub fn resolve(mut triples: Vec<(String, String, Relation)>, policy: &Policy) -> Vec<Fact> {
    triples.sort_by(|a, b| (a.2, &a.1, &a.0).cmp(&(b.2, &b.1, &b.0)));
    triples.dedup();
    let mut names: Vec<&str> = triples.iter().map(|t| t.0.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let id = |r: &str| names.binary_search(&r).expect("every record is listed");

    let mut groups: Vec<Group> = Vec::new();
    for (record, key, rel) in &triples {
        match groups.last_mut() {
            Some(g) if g.rel == *rel && g.key == *key => g.members.push(id(record)),
            _ => groups.push(Group {
                rel: *rel,
                key: key.clone(),
                members: vec![id(record)],
            }),
        }
    }

    let mut facts = Vec::new();
    let refuse = |g: &Group, reason: &'static str| Fact {
        kind: "refused",
        key: Some(g.key.clone()),
        records: Some(g.members.len() as i64),
        reason: Some(reason),
        ..Fact::default()
    };
    // 1. Junk keys, then keys too widely shared whose records disagree.
    let mut usable: Vec<&Group> = Vec::new();
    let mut oversized: Vec<&Group> = Vec::new();
    for g in groups.iter().filter(|g| g.rel == Relation::Key) {
        if let Some(junk) = policy.junk.classify(&g.key) {
            facts.push(refuse(g, junk.code()));
        } else if g.members.len() > policy.max_records_per_key {
            oversized.push(g);
        } else if g.members.len() > 1 {
            usable.push(g);
        }
    }
    let musts: Vec<&Group> = groups
        .iter()
        .filter(|g| g.rel == Relation::MustLink)
        .collect();
    // An oversized key is kept only when its records are connected without it.
    let candidates: Vec<&Group> = usable.iter().chain(&oversized).copied().collect();
    for g in oversized {
        let mut without = UnionFind::<usize>::new(names.len());
        let others = musts.iter().chain(&candidates);
        for o in others.filter(|o| !std::ptr::eq(**o, g)) {
            for &m in &o.members[1..] {
                without.union(o.members[0], m);
            }
        }
        let first = without.find_mut(g.members[0]);
        if g.members.iter().all(|&m| without.find_mut(m) == first) {
            usable.push(g);
        } else {
            facts.push(refuse(g, "shared_by_too_many"));
        }
    }

    // 2. Overrides first, then keys strongest first, honouring cannot_link.
    let mut uf = UnionFind::<usize>::new(names.len());
    let mut links: Vec<(String, usize, usize)> = Vec::new();
    for g in &musts {
        for &m in &g.members[1..] {
            if uf.union(g.members[0], m) {
                links.push((g.key.clone(), m, g.members[0]));
            }
        }
    }
    let mut apart: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut cannot: Vec<(usize, usize)> = Vec::new();
    for g in groups.iter().filter(|g| g.rel == Relation::CannotLink) {
        for (i, &a) in g.members.iter().enumerate() {
            for &b in &g.members[i + 1..] {
                cannot.push((a, b));
            }
        }
    }
    for &(a, b) in &cannot {
        if uf.equiv(a, b) {
            facts.push(Fact {
                kind: "conflict",
                record: Some(names[b].to_string()),
                other: Some(names[a].to_string()),
                reason: Some("cannot_link_joined_by_must_link"),
                ..Fact::default()
            });
        } else {
            apart.entry(uf.find_mut(a)).or_default().push(b);
            apart.entry(uf.find_mut(b)).or_default().push(a);
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
        let first = g.members[0];
        for &m in &g.members[1..] {
            let (ra, rb) = (uf.find_mut(first), uf.find_mut(m));
            if ra == rb {
                continue;
            }
            let blocked = apart
                .get(&ra)
                .is_some_and(|ps| ps.iter().any(|&p| uf.find(p) == rb));
            if blocked {
                facts.push(Fact {
                    kind: "split",
                    record: Some(names[m].to_string()),
                    key: Some(g.key.clone()),
                    other: Some(names[first].to_string()),
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
            links.push((g.key.clone(), m, first));
        }
    }

    // 3. Labels: the smallest record of each component.
    let mut label: HashMap<usize, usize> = HashMap::new();
    let mut labels = Vec::with_capacity(names.len());
    for i in 0..names.len() {
        let root = uf.find_mut(i);
        labels.push(*label.entry(root).or_insert(i));
    }
    let name = |i: usize| Some(names[i].to_string());
    for (i, &l) in labels.iter().enumerate() {
        facts.push(Fact {
            kind: "member",
            record: name(i),
            label: name(l),
            ..Fact::default()
        });
    }
    for (key, a, b) in links {
        facts.push(Fact {
            kind: "link",
            record: name(a),
            label: name(labels[a]),
            key: Some(key),
            other: name(b),
            ..Fact::default()
        });
    }
    for f in facts.iter_mut().filter(|f| f.label.is_none()) {
        if let Some(r) = &f.record {
            let i = id(r);
            f.label = name(labels[i]);
        }
    }
    facts
}

/// Strength order of key kinds: e-mail, phone, name (an override is stronger than all).
fn kind_rank(key: &str) -> u8 {
    match key.get(..2) {
        Some("e:") => 0,
        Some("p:") => 1,
        Some("n:") => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests;
