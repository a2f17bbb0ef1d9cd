//! Clusterings worked out by hand (issue 12's examples and their kinds).

use super::*;
use crate::model::IdentityConfig;

fn policy(max: usize) -> Policy {
    Policy {
        junk: JunkRules::new(&IdentityConfig::default()),
        max_records_per_key: max,
    }
}

fn key(r: &str, k: &str) -> Row {
    Row::new(r, k, Relation::Key)
}

fn rel(r: &str, k: &str, rel: Relation) -> Row {
    Row::new(r, k, rel)
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

#[test]
fn people_of_one_name_are_not_one_customer() {
    // Three shop accounts called 张伟 (phones differ), two called 王先生: five customers. The
    // person's name is listed as refused; a single 王芳 is not (nothing to link).
    let t = vec![
        key("3shop:A", "h:张伟"),
        key("3shop:A", "p:+8613911110001"),
        key("3shop:B", "h:张伟"),
        key("3shop:B", "p:+8613911110002"),
        key("3shop:C", "h:张伟"),
        key("3shop:D", "h:王先生"),
        key("3shop:E", "h:王先生"),
        key("3shop:F", "h:王芳"),
    ];
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 6);
    let refused: Vec<(&str, i64, &str)> = facts
        .iter()
        .filter(|f| f.kind == "refused")
        .map(|f| {
            (
                f.key.as_deref().unwrap(),
                f.records.unwrap(),
                f.reason.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![("h:张伟", 3, "person_name"), ("h:王先生", 2, "person_name")]
    );
}

#[test]
fn keys_that_back_each_other_do_not_defeat_the_guard() {
    // A reseller's phone and e-mail on ten end customers of ten company names: both keys are
    // over the limit and their holders' names are unrelated, so both are refused: ten customers.
    let mut t = Vec::new();
    for i in 0..10 {
        let r = format!("3shop:R{i}");
        t.push(key(&r, "p:+8613912340009"));
        t.push(key(&r, "e:sales@reseller.cn"));
        t.push(key(
            &r,
            &format!(
                "n:{}",
                [
                    "恒瑞科技",
                    "华信电子",
                    "远航物流",
                    "星河传媒",
                    "金石机械",
                    "天成医药",
                    "博雅教育",
                    "中科软件",
                    "东升建设",
                    "万通贸易"
                ][i]
            ),
        ));
    }
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 10);
    let refused: Vec<&str> = facts
        .iter()
        .filter(|f| f.kind == "refused")
        .map(|f| f.key.as_deref().unwrap())
        .collect();
    assert_eq!(refused, vec!["e:sales@reseller.cn", "p:+8613912340009"]);
}

#[test]
fn records_that_agree_keep_a_widely_shared_key_and_their_id() {
    // Nine accounts share only one phone (nothing disagrees): one customer, the key accepted.
    // A tenth account does not change the id of the first nine.
    let accounts = |n: usize| -> Vec<Row> {
        (0..n)
            .map(|i| {
                key(&format!("3shop:S{i}"), "p:+8613912345000")
                    .ordered(&format!("2026-11-{:02}", i + 1))
            })
            .collect()
    };
    let nine = resolve(accounts(9), &policy(8));
    let ten = resolve(accounts(10), &policy(8));
    assert_eq!(customers(&nine), 1);
    assert_eq!(customers(&ten), 1);
    for i in 0..9 {
        let r = format!("3shop:S{i}");
        assert_eq!(label_of(&nine, &r), "3shop:S0");
        assert_eq!(label_of(&ten, &r), "3shop:S0");
    }
    let accepted: Vec<_> = ten.iter().filter(|f| f.kind == "accepted").collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].records, Some(10));
    // S1 (newer) has a private mailbox other than the reference S0's: it is left out, the
    // other eight stay one customer with S0's id. Mailboxes at one company domain agree.
    let mut t = accounts(9);
    t.push(key("3shop:S0", "e:alice@qq.com"));
    t.push(key("3shop:S1", "e:bob@qq.com"));
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 2);
    assert_eq!(label_of(&facts, "3shop:S1"), "3shop:S1");
    assert_eq!(label_of(&facts, "3shop:S8"), "3shop:S0");
    let mut t = accounts(9);
    t.push(key("3shop:S0", "e:a@hengrui.cn"));
    t.push(key("3shop:S1", "e:b@hengrui.cn"));
    assert_eq!(customers(&resolve(t, &policy(8))), 1);
}

#[test]
fn cannot_link_inside_one_key_keeps_the_others_together() {
    // F, A and B share a name; F may be with neither A nor B, but A and B belong together.
    let t = vec![
        key("1crm:F", "n:恒瑞科技"),
        key("3shop:A", "n:恒瑞科技"),
        key("3shop:B", "n:恒瑞科技"),
        rel("1crm:F", "o:1", Relation::CannotLink),
        rel("3shop:A", "o:1", Relation::CannotLink),
        rel("1crm:F", "o:2", Relation::CannotLink),
        rel("3shop:B", "o:2", Relation::CannotLink),
    ];
    let facts = resolve(t, &policy(8));
    assert_eq!(label_of(&facts, "1crm:F"), "1crm:F");
    assert_eq!(label_of(&facts, "3shop:A"), "3shop:A");
    assert_eq!(label_of(&facts, "3shop:B"), "3shop:A");
    assert_eq!(customers(&facts), 2);
}

#[test]
fn a_record_that_lands_later_does_not_take_over_the_id() {
    // The shop account landed on 11-01; the CRM record that joins it on 11-20 ranks first by
    // source, but the customer keeps the shop account's id. Without orders, the CRM record is
    // the anchor (source order).
    let t = vec![
        key("3shop:S", "p:+8613912345678").ordered("2026-11-01"),
        key("1crm:C", "p:+8613912345678").ordered("2026-11-20"),
    ];
    let facts = resolve(t.clone(), &policy(8));
    assert_eq!(label_of(&facts, "1crm:C"), "3shop:S");
    let unordered: Vec<Row> = t.into_iter().map(|r| Row { order: None, ..r }).collect();
    assert_eq!(
        label_of(&resolve(unordered, &policy(8)), "3shop:S"),
        "1crm:C"
    );
}

#[test]
fn a_generic_name_on_many_strangers_links_nobody() {
    // Thirty accounts typed one generic name, each with its own mobile and private mailbox.
    let mut t = Vec::new();
    for i in 0..30 {
        let r = format!("3shop:G{i:02}");
        t.push(key(&r, "n:零售客户甲"));
        t.push(key(&r, &format!("p:+86137000070{i:02}")));
        t.push(key(&r, &format!("e:buyer{i}@qq.com")));
    }
    let facts = resolve(t, &policy(8));
    assert_eq!(customers(&facts), 30);
    let refused: Vec<_> = facts.iter().filter(|f| f.kind == "refused").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].records, Some(30));
}
