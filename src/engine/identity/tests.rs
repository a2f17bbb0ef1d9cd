//! Clusterings worked out by hand (issue 12's examples and their kinds).

use super::*;
use crate::model::IdentityConfig;

fn policy(max: usize) -> Policy {
    Policy {
        junk: JunkRules::new(&IdentityConfig::default()),
        max_records_per_key: max,
    }
}

fn key(r: &str, k: &str) -> (String, String, Relation) {
    (r.to_string(), k.to_string(), Relation::Key)
}

fn rel(r: &str, k: &str, rel: Relation) -> (String, String, Relation) {
    (r.to_string(), k.to_string(), rel)
}

/// `record -> label` of every member.
fn labels(facts: &[Fact]) -> Vec<(String, String)> {
    facts
        .iter()
        .filter(|f| f.kind == "member")
        .map(|f| (f.record.clone().unwrap(), f.label.clone().unwrap()))
        .collect()
}

fn customers(facts: &[Fact]) -> usize {
    let mut l: Vec<String> = labels(facts).into_iter().map(|(_, l)| l).collect();
    l.sort();
    l.dedup();
    l.len()
}

fn label_of(facts: &[Fact], r: &str) -> String {
    labels(facts)
        .into_iter()
        .find(|(rec, _)| rec == r)
        .map(|(_, l)| l)
        .unwrap()
}

#[test]
fn a_chain_of_sixteen_accounts_is_one_customer() {
    // S01-S02 share e-mail m1, S02-S03 phone p2, S03-S04 e-mail m3, ...: 15 links.
    let mut t = Vec::new();
    for i in 1..16u32 {
        let k = if !i.is_multiple_of(2) {
            format!("e:m{i}@corp.cn")
        } else {
            format!("p:+86139000000{i:02}")
        };
        t.push(key(&format!("3shop:S{i:02}"), &k));
        t.push(key(&format!("3shop:S{:02}", i + 1), &k));
    }
    t.reverse();
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 1);
    for i in 1..=16 {
        assert_eq!(label_of(&facts, &format!("3shop:S{i:02}")), "3shop:S01");
    }
    assert_eq!(facts.iter().filter(|f| f.kind == "link").count(), 15);
}

#[test]
fn placeholders_and_junk_names_never_link() {
    let mut t = Vec::new();
    for i in 0..10 {
        t.push(key(&format!("3shop:P{i}"), "p:+8613800000000"));
        t.push(key(&format!("3shop:P{i}"), &format!("n:恒瑞{i}号")));
        t.push(key(&format!("3shop:E{i}"), "e:test@test.com"));
        t.push(key(&format!("3shop:W{i}"), "n:微信用户"));
    }
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 30);
    let refused: Vec<(String, i64, &str)> = facts
        .iter()
        .filter(|f| f.kind == "refused")
        .map(|f| {
            (
                f.key.clone().unwrap(),
                f.records.unwrap(),
                f.reason.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            ("e:test@test.com".to_string(), 10, "placeholder_email"),
            ("n:微信用户".to_string(), 10, "junk_name"),
            ("p:+8613800000000".to_string(), 10, "placeholder_phone"),
        ]
    );
}

#[test]
fn a_widely_shared_key_links_only_records_that_agree() {
    // Nine strangers share an unlisted phone: refused (9 > 8, nine groups without it).
    // Nine records of one company share another phone and its name: kept.
    let mut t = Vec::new();
    for i in 0..9 {
        t.push(key(&format!("3shop:A{i}"), "p:+8613912340001"));
        t.push(key(&format!("3shop:A{i}"), &format!("n:公司{i}")));
        t.push(key(&format!("3shop:B{i}"), "p:+8613912340002"));
        t.push(key(&format!("3shop:B{i}"), "n:同一家公司"));
    }
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 10);
    assert_eq!(label_of(&facts, "3shop:B8"), "3shop:B0");
    let refused: Vec<&str> = facts
        .iter()
        .filter(|f| f.kind == "refused")
        .map(|f| f.key.as_deref().unwrap())
        .collect();
    assert_eq!(refused, vec!["p:+8613912340001"]);
}

#[test]
fn cannot_link_splits_at_the_weakest_link() {
    // a -e- b -p- c -n- d, with cannot_link(a, d): the name link c-d is the weakest.
    let t = vec![
        key("1crm:A", "e:x@corp.cn"),
        key("3shop:B", "e:x@corp.cn"),
        key("3shop:B", "p:+8613912345678"),
        key("3shop:C", "p:+8613912345678"),
        key("3shop:C", "n:恒瑞科技"),
        key("3shop:D", "n:恒瑞科技"),
        rel("1crm:A", "o:1", Relation::CannotLink),
        rel("3shop:D", "o:1", Relation::CannotLink),
    ];
    let facts = resolve(t, &policy(8));
    assert_eq!(label_of(&facts, "3shop:B"), "1crm:A");
    assert_eq!(label_of(&facts, "3shop:C"), "1crm:A");
    assert_eq!(label_of(&facts, "3shop:D"), "3shop:D");
    let split: Vec<_> = facts.iter().filter(|f| f.kind == "split").collect();
    assert_eq!(split.len(), 1);
    assert_eq!(split[0].key.as_deref(), Some("n:恒瑞科技"));
}

#[test]
fn must_link_joins_and_conflicts_are_reported() {
    let t = vec![
        key("1crm:A", "e:a@corp.cn"),
        key("3shop:B", "e:b@corp.cn"),
        rel("1crm:A", "o:1", Relation::MustLink),
        rel("3shop:B", "o:1", Relation::MustLink),
        rel("1crm:X", "o:2", Relation::MustLink),
        rel("3shop:Y", "o:2", Relation::MustLink),
        rel("1crm:X", "o:3", Relation::CannotLink),
        rel("3shop:Y", "o:3", Relation::CannotLink),
    ];
    let facts = resolve(t, &policy(8));
    assert_eq!(label_of(&facts, "3shop:B"), "1crm:A");
    assert_eq!(label_of(&facts, "3shop:Y"), "1crm:X");
    let conflicts: Vec<_> = facts.iter().filter(|f| f.kind == "conflict").collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].record.as_deref(), Some("3shop:Y"));
}

#[test]
fn labels_do_not_depend_on_input_order() {
    let t = vec![
        key("3shop:S2", "e:a@corp.cn"),
        key("2erp:E1", "p:+861065521234"),
        key("3shop:S2", "p:+861065521234"),
        key("1crm:C9", "n:恒瑞科技"),
        key("2erp:E1", "n:恒瑞科技"),
    ];
    let mut reversed = t.clone();
    reversed.reverse();
    let a = resolve(t, &policy(8));
    let b = resolve(reversed, &policy(8));
    assert_eq!(a, b);
    assert_eq!(label_of(&a, "3shop:S2"), "1crm:C9");
}
