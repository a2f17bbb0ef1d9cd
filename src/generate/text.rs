//! Free texts: interaction contents and survey comments, in Chinese.
//!
//! Contents are drawn per intent so that the keyword dictionary of seed 000 (价格: 多少钱 / 报价 /
//! 折扣; 技术: 功能 / API / 集成; 服务: 支持 / 维护 / 培训; first match in that order,
//! case-insensitive) classifies each template as the intent it was drawn for. Templates of
//! `其他` contain none of the keywords. A few texts mix intents (`API集成的报价`) or write
//! `api` in lower case, to exercise dictionary order and case folding.

use std::sync::OnceLock;

use super::rng::Rng;

/// The intent of a content template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    Price,
    Tech,
    Service,
    Other,
}

pub(crate) static PRICE: &[&str] = &[
    "客户询问年度订阅多少钱,希望尽快拿到正式报价",
    "对方希望续约时给予一定折扣",
    "请我们发一份包含实施费用的报价单",
    "询问批量采购{p}能否有折扣",
    "客户比较了几家的报价,觉得我们偏贵",
    "问增加20个账号一共多少钱",
    "对方想了解API集成模块的报价",
    "采购部门要求重新核算{p}的报价",
];

pub(crate) static TECH: &[&str] = &[
    "客户关心新版本的功能变化",
    "咨询能否通过API对接他们的ERP",
    "希望与企业微信集成,统一登录",
    "询问api调用频率的限制",
    "演示了报表和看板功能,对方很感兴趣",
    "技术负责人问数据能否集成到他们的数仓",
    "反馈导出功能在大数据量时很慢",
    "需要开放API给他们的小程序使用",
];

pub(crate) static SERVICE: &[&str] = &[
    "客户反馈系统登录异常,需要技术支持",
    "约定下周上门维护服务器",
    "安排新员工的系统培训",
    "询问售后支持的响应时间",
    "客户希望延长{p}的维护期",
    "对方IT部门申请一次远程支持",
    "确认季度培训的时间和人数",
];

pub(crate) static OTHER: &[&str] = &[
    "节日问候,顺便确认近况",
    "确认下次拜访的时间",
    "客户已收到发票",
    "沟通合同盖章流程",
    "对方负责人出差,下周再联系",
    "寄送新年礼品",
    "邀请客户参加行业沙龙",
    "客户更换了对接人,已更新联系方式",
    "电话未接通,稍后再打",
    "了解客户今年的业务规划",
];

/// Content of the thank-you e-mail after a first contact.
pub(crate) static THANKS: &[&str] = &[
    "感谢您今天抽出时间与我们交流,期待进一步合作",
    "感谢拨冗沟通,附上公司介绍和案例资料",
    "很高兴认识您,会议纪要已整理如下",
];

/// Content of a needs-analysis call, meeting or visit.
pub(crate) static NEEDS: &[&str] = &[
    "深入了解客户的业务流程和痛点",
    "和业务部门一起梳理需求清单",
    "调研现有系统和数据情况",
];

/// Content of a solution proposal.
pub(crate) static SOLUTION: &[&str] = &[
    "提交定制化解决方案和实施计划",
    "发送方案书并约定评审会议",
    "根据反馈修改了方案的第二版",
];

static PRODUCTS: &[&str] = &["CRM专业版", "数据中台", "营销云", "客服系统", "BI看板"];

/// Every template of each intent (price, tech, service, other) rendered with every product,
/// built once so that rows can borrow their text.
fn rendered() -> &'static [Vec<Vec<String>>; 4] {
    static RENDERED: OnceLock<[Vec<Vec<String>>; 4]> = OnceLock::new();
    RENDERED.get_or_init(|| {
        [PRICE, TECH, SERVICE, OTHER].map(|list| {
            list.iter()
                .map(|t| {
                    if t.contains("{p}") {
                        PRODUCTS.iter().map(|p| t.replace("{p}", p)).collect()
                    } else {
                        vec![t.to_string()]
                    }
                })
                .collect()
        })
    })
}

/// A content for a routine interaction and the intent it was written with.
pub(crate) fn content(rng: &mut Rng) -> (Intent, &'static str) {
    let k = rng.weighted(&[0.25, 0.22, 0.23, 0.30]);
    let intent = [Intent::Price, Intent::Tech, Intent::Service, Intent::Other][k];
    let variants = rng.pick(&rendered()[k]);
    (intent, rng.pick(variants).as_str())
}

/// A survey comment matching the score's mood, or none.
pub(crate) fn comment(rng: &mut Rng, good: Option<bool>) -> Option<&'static str> {
    if rng.chance(0.6) {
        return None;
    }
    let list: &[&'static str] = match good {
        Some(true) => &[
            "产品好用,服务及时",
            "整体满意,希望继续保持",
            "实施团队很专业",
            "推荐给了同行",
        ],
        Some(false) => &[
            "响应太慢",
            "价格偏高",
            "问题反复出现,体验较差",
            "功能不够用,考虑换供应商",
        ],
        None => &["还可以", "一般", "无", "希望多一些培训"],
    };
    Some(rng.choose(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 000's classifier, written out independently of the generator.
    fn classify(text: &str) -> Intent {
        let lower = text.to_lowercase();
        let dict: [(Intent, [&str; 3]); 3] = [
            (Intent::Price, ["多少钱", "报价", "折扣"]),
            (Intent::Tech, ["功能", "api", "集成"]),
            (Intent::Service, ["支持", "维护", "培训"]),
        ];
        for (intent, words) in dict {
            if words.iter().any(|w| lower.contains(w)) {
                return intent;
            }
        }
        Intent::Other
    }

    #[test]
    fn templates_classify_as_their_intent() {
        for (intent, list) in [
            (Intent::Price, PRICE),
            (Intent::Tech, TECH),
            (Intent::Service, SERVICE),
            (Intent::Other, OTHER),
        ] {
            for t in list {
                for p in PRODUCTS {
                    assert_eq!(classify(&t.replace("{p}", p)), intent, "{t}");
                }
            }
        }
        for t in THANKS.iter().chain(NEEDS).chain(SOLUTION) {
            assert_eq!(classify(t), Intent::Other, "{t}");
        }
    }
}
