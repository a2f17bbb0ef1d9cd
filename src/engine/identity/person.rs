//! Is a name a person's rather than a company's? Shops and CRMs hold people's names where a
//! company name belongs (a shop's display name, an individual customer's CRM record): `张伟`,
//! `王芳`, `王先生`, `老王`, `张伟（个人）`, `Mr Smith`, `Zhang Wei`. Two strangers of one name
//! are not one customer, so such a name is never a match key (it still tells records apart, see
//! [`super::guard`]). The test reads the name as written (widths folded, traditional characters
//! simplified, Latin upper case, spaces kept), before normalization strips legal forms: a name
//! that carries 有限公司 is a company's.
//!
//! Rules for any name field:
//! 1. a surname, at most two more Han characters, and a form of address (`先生`, `女士`, `总`,
//!    `老师`, ...): `王先生`, `李总`, `张伟经理`;
//! 2. `老`, `小` or `阿` and a surname: `老王`, `小李`;
//! 3. one to four Han characters qualified as a private person (`个人`, `本人`, `自然人`, `私人`,
//!    in brackets or after a separator): `张伟（个人）`, `王芳-个人`;
//! 4. an English form of address and one to three words: `MR SMITH`, `Ms. Li`.
//!
//! Further rules for a display name (a shop account's nickname field), where people's names are
//! the norm:
//! 5. two or three Han characters starting with a common single surname, or three or four
//!    starting with a compound one (`欧阳`, `司马`, ...), not ending in a character or holding a
//!    word that names a business (`店`, `厂`, `科技`, ...);
//! 6. two or three Latin words, one of them a common surname in pinyin or Cantonese spelling
//!    (`ZHANG WEI`, `LI NA`, `CHAN TAI MAN`), none a business word.
//!
//! A company field (CRM `company_name`) gets rules 1-4 only: a bare `华为` there is a company.
//! The surname lists are the most common surnames of the 2020 census ranking (the top ~200
//! single ones cover over 90% of the population) and the common compound ones.

/// Common single-character surnames.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于\
蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝\
龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚\
符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉\
缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛\
仲虞敖巩明佘池查麻苑迟邝";

/// Common compound surnames.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "令狐", "独孤", "端木", "南宫", "西门", "轩辕", "呼延", "澹台", "公冶", "申屠", "太史",
];

/// Forms of address that follow a surname or a full name.
const ADDRESS_SUFFIXES: &[&str] = &[
    "总经理",
    "董事长",
    "SIR",
    "同志",
    "董",
    "工",
    "生",
    "先生",
    "女士",
    "小姐",
    "太太",
    "夫人",
    "老师",
    "同学",
    "师傅",
    "老板娘",
    "老板",
    "阿姨",
    "叔叔",
    "大哥",
    "大姐",
    "哥",
    "姐",
    "总",
    "经理",
    "主任",
    "医生",
    "律师",
    "教授",
];

/// Last characters that make a short name a business's (`李记店`, `张家厂`).
const BUSINESS_ENDINGS: &str = "店厂行社所院馆部局坊铺站场园城室队会处司庄楼堂阁轩斋居府号记";

/// Words that make a name a business's (`东方科技`, `司马文化`).
const BUSINESS_WORDS: &[&str] = &[
    "有限",
    "股份",
    "企业",
    "商行",
    "商店",
    "用品",
    "体育",
    "珠宝",
    "合伙",
    "公司",
    "集团",
    "科技",
    "贸易",
    "商贸",
    "实业",
    "电子",
    "中心",
    "传媒",
    "文化",
    "物流",
    "投资",
    "医药",
    "软件",
    "网络",
    "信息",
    "机械",
    "制造",
    "材料",
    "电气",
    "设备",
    "百货",
    "连锁",
    "服务",
    "咨询",
    "餐饮",
    "酒店",
    "银行",
    "保险",
    "证券",
    "地产",
    "置业",
    "建设",
    "建筑",
    "装饰",
    "工程",
    "能源",
    "化工",
    "食品",
    "农业",
    "环保",
    "汽车",
    "控股",
    "国际",
    "教育",
    "健康",
    "生物",
    "设计",
    "广告",
    "印刷",
    "包装",
    "家具",
    "服装",
    "超市",
    "商场",
    "药房",
    "诊所",
    "学校",
    "培训",
    "工作室",
    "运输",
    "货运",
    "供应",
    "打印",
    "器械",
    "租赁",
    "资产",
    "代理",
    "园林",
    "医疗",
    "电商",
    "商务",
    "精密",
    "智能",
    "数据",
    "自动",
    "塑料",
    "五金",
    "建材",
    "纺织",
    "化学",
    "光电",
    "通信",
    "通讯",
    "印务",
    "物业",
    "家居",
    "商业",
    "光伏",
    "管理",
    "人力",
    "会计",
    "研究",
    "协会",
    "合作社",
    "经营部",
    "批发",
    "零售",
    "药店",
    "医院",
    "幼儿园",
    "门市",
    "工厂",
    "事务所",
];

/// English forms of address that precede a name.
const ENGLISH_ADDRESS: &[&str] = &[
    "MR", "MRS", "MS", "MISS", "DR", "MADAM", "SIR", "MS.", "MR.",
];

/// Latin words that make a name a business's.
const LATIN_BUSINESS_WORDS: &[&str] = &[
    "CO",
    "LTD",
    "INC",
    "CORP",
    "LLC",
    "PLC",
    "PTE",
    "GMBH",
    "LIMITED",
    "COMPANY",
    "GROUP",
    "TECH",
    "TECHNOLOGY",
    "TRADING",
    "INDUSTRIES",
    "INDUSTRY",
    "HOLDINGS",
    "INTERNATIONAL",
    "SERVICES",
    "SOLUTIONS",
    "SYSTEMS",
    "ENTERPRISE",
    "ENTERPRISES",
    "STORE",
    "SHOP",
    "MART",
    "BANK",
    "STUDIO",
    "DESIGN",
    "MEDIA",
    "LOGISTICS",
    "FOOD",
    "FOODS",
    "HOTEL",
    "CAFE",
    "RESTAURANT",
    "ELECTRONICS",
    "SOFTWARE",
    "NETWORK",
    "DIGITAL",
    "CONSULTING",
    "CAPITAL",
    "PARTNERS",
    "ASSOCIATES",
    "LAB",
    "LABS",
    "CENTER",
    "CENTRE",
    "CLUB",
    "FACTORY",
    "SUPPLY",
];

/// Common surnames in pinyin and Cantonese spelling.
const LATIN_SURNAMES: &[&str] = &[
    "WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU", "XU", "SUN", "MA",
    "ZHU", "HU", "GUO", "HE", "GAO", "LIN", "LUO", "ZHENG", "LIANG", "XIE", "SONG", "TANG", "HAN",
    "FENG", "DENG", "CAO", "PENG", "ZENG", "XIAO", "TIAN", "DONG", "YUAN", "PAN", "YU", "JIANG",
    "CAI", "DU", "YE", "CHENG", "SU", "WEI", "LV", "LYU", "LU", "DING", "REN", "SHEN", "YAO",
    "CUI", "ZHONG", "TAN", "FAN", "JIN", "SHI", "LIAO", "JIA", "XIA", "FU", "FANG", "BAI", "ZOU",
    "MENG", "XIONG", "QIN", "QIU", "YIN", "XUE", "YAN", "DUAN", "LEI", "HOU", "LONG", "TAO", "GU",
    "MAO", "HAO", "GONG", "SHAO", "WAN", "QIAN", "DAI", "MO", "KONG", "XIANG", "CHANG", "WEN",
    "KANG", "NIU", "GE", "XING", "QI", "QIAO", "OUYANG", "SIMA", "ZHUGE", "WONG", "CHAN", "LEE",
    "CHEUNG", "LAU", "LEUNG", "HO", "NG", "TSANG", "YEUNG", "CHOW", "LAM", "CHU", "KWOK", "LAI",
    "TSE", "CHEUNG", "MAK", "YIP", "FUNG", "TAM", "KWAN", "LO", "TONG", "CHOI",
];

/// Words that qualify a name as a private person's.
const PRIVATE_PERSON: &[&str] = &[
    "个人客户",
    "自然人",
    "个体户",
    "联系人",
    "个体",
    "散客",
    "散户",
    "个人",
    "本人",
    "私人",
    "会员",
    "买家",
    "客户",
    "VIP",
];

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

fn is_surname(c: char) -> bool {
    SURNAMES.contains(c)
}

/// A surname and up to `max_given` more Han characters (`王`, `张伟`, `欧阳娜娜`).
fn surname_and_given(chars: &[char], max_given: usize) -> bool {
    if chars.is_empty() || !chars.iter().all(|&c| is_han(c)) {
        return false;
    }
    let text: String = chars.iter().collect();
    let given = if COMPOUND_SURNAMES.iter().any(|s| text.starts_with(s)) {
        chars.len() - 2
    } else if is_surname(chars[0]) {
        chars.len() - 1
    } else {
        return false;
    };
    given <= max_given
}

/// The name as the rules read it: widths folded, traditional simplified, Latin upper case,
/// zero-width characters dropped, whitespace runs one space, trimmed.
fn prepare(raw: &str) -> String {
    let folded: String = raw
        .chars()
        .map(crate::engine::normalize::fold_width)
        .filter(|c| !matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'))
        .collect();
    let simplified = crate::engine::normalize::simplify(&folded).to_uppercase();
    simplified.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the name `raw`, written in a display-name field (`display`) or a company-name field,
/// is a person's (see the module docs).
pub fn is_person_name(raw: &str, display: bool) -> bool {
    let text = prepare(raw);
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let latin_name = |ws: &[&str]| {
        ws.iter()
            .all(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
            && !ws.iter().any(|w| LATIN_BUSINESS_WORDS.contains(w))
    };
    // 4. An English form of address and a name.
    if let [first, rest @ ..] = words.as_slice()
        && ENGLISH_ADDRESS.contains(first)
        && (1..=3).contains(&rest.len())
        && (latin_name(rest)
            || matches!(rest, [han] if surname_and_given(&han.chars().collect::<Vec<_>>(), 2)))
    {
        return true;
    }
    // Han rules read the name without spaces, brackets and separators.
    let han: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
    let han_text: String = han.iter().collect();
    if BUSINESS_WORDS.iter().any(|w| han_text.contains(w)) {
        return false;
    }
    // 3. A private person's qualifier, before or after the name.
    if let Some(head) = PRIVATE_PERSON.iter().find_map(|q| {
        han_text
            .strip_suffix(q)
            .or_else(|| han_text.strip_prefix(q))
    }) {
        let head: Vec<char> = head.chars().collect();
        return (1..=4).contains(&head.len()) && head.iter().all(|&c| is_han(c));
    }
    // 1. A form of address.
    if let Some(head) = ADDRESS_SUFFIXES
        .iter()
        .filter_map(|s| han_text.strip_suffix(s))
        .find(|h| !h.is_empty() && surname_and_given(&h.chars().collect::<Vec<_>>(), 2))
    {
        return !head.is_empty();
    }
    // 2. 老王, 小李.
    if let [p, s] = han[..]
        && matches!(p, '老' | '小' | '阿')
        && is_surname(s)
    {
        return true;
    }
    if !display {
        return false;
    }
    // 5. A Han personal name.
    if (2..=4).contains(&han.len())
        && !han.last().is_some_and(|&c| BUSINESS_ENDINGS.contains(c))
        && surname_and_given(&han, 2)
    {
        return true;
    }
    // A romanized personal name: two or three Latin words, one a common surname.
    if (2..=3).contains(&words.len())
        && latin_name(&words)
        && words.iter().all(|w| w.len() <= 8)
        && words.iter().any(|w| LATIN_SURNAMES.contains(w))
    {
        return true;
    }
    // 6. A display name names a company only when it says so (a business word or ending, a
    // legal form); anything else is a nickname or a person's name (`快乐的小鱼`, `Amy`,
    // `Kevin Smith`).
    let org_like = han.last().is_some_and(|&c| BUSINESS_ENDINGS.contains(c))
        || words.iter().any(|w| LATIN_BUSINESS_WORDS.contains(w));
    !org_like
}

#[cfg(test)]
mod tests {
    use super::is_person_name;

    #[test]
    fn people() {
        // Explicit signals: a person in any field.
        for n in [
            "王先生",
            "李女士",
            "王总",
            "张伟经理",
            "老王",
            "小李",
            "Mr Smith",
            "MS.LI",
            "Dr John Watson",
            "Miss Li",
            "张伟（个人）",
            "王芳-个人",
            "陈生",
            "王工",
            "刘董",
            "张伟同志",
            "个体户刘洋",
            "王芳（个人客户）",
            "李强(散客)",
            "张伟(散户)",
            "王sir",
            "李四（联系人）",
            "王建国总经理",
            "刘董事长",
            "张伟（VIP）",
            "张伟-会员",
            "买家张三",
            "客户王五",
            "联系人：李四",
            "Mr.王",
            "Ms 李娜",
        ] {
            assert!(is_person_name(n, true), "{n}");
            assert!(is_person_name(n, false), "{n}");
        }
        // By shape alone only in a display name: a company field keeps `华为`.
        for n in [
            "张伟",
            "王芳",
            "欧阳娜娜",
            "诸葛亮",
            "李小龙",
            "Zhang Wei",
            "LI NA",
            "Chan Tai Man",
            "張偉",
            " 王 芳 ",
            "ＬＩ ＮＡ",
            "华为",
            "Lee Kum Kee",
        ] {
            assert!(is_person_name(n, true), "{n}");
            assert!(!is_person_name(n, false), "{n}");
        }
        // A display name that does not say it is a company is a nickname.
        for n in [
            "快乐的小鱼",
            "小可爱",
            "Amy",
            "Kevin Smith",
            "恒瑞",
            "TESCO",
            "用户_64740",
        ] {
            assert!(is_person_name(n, true), "{n}");
            assert!(!is_person_name(n, false), "{n}");
        }
    }

    #[test]
    fn companies() {
        for n in [
            "恒瑞科技",
            "上海恒瑞科技",
            "恒瑞科技-张伟",
            "李记店",
            "张家厂",
            "王府",
            "同一商行",
            "东方科技",
            "Mrs Fields Cookies Inc",
            "老字号",
            "恒瑞科技总",
            "会员制超市连锁",
            "万达有限公司",
            "李宁体育用品有限公司",
            "周大福珠宝集团",
            "张裕股份有限公司",
            "个人独资企业",
            "Li Ning Co Ltd",
            "Wang Trading",
            "华信电气",
        ] {
            assert!(!is_person_name(n, true), "{n}");
            assert!(!is_person_name(n, false), "{n}");
        }
    }
}
