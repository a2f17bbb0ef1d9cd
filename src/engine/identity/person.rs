//! Is a normalized name a person's rather than a company's? Shops and CRMs hold people's names
//! where a company name belongs (a shop's display name, an individual customer's CRM record):
//! `张伟`, `王芳`, `王先生`, `老王`, `MR. SMITH`. Two strangers of one name are not one customer,
//! so such a name is never a match key (it still tells records apart, see
//! [`super::guard::disagree`]).
//!
//! Rules, on the name as [`normalize_company`](crate::engine::udf::normalize_company) writes it
//! (width folded, simplified, upper case, legal forms removed):
//! 1. a surname, at most two more Han characters, and a form of address (`先生`, `女士`, `总`,
//!    `老师`, ...): `王先生`, `李总`, `张伟经理`;
//! 2. `老`, `小` or `阿` and a surname: `老王`, `小李`;
//! 3. two or three Han characters starting with a common single surname, or three or four
//!    starting with a compound one (`欧阳`, `司马`, ...), not ending in a character that names a
//!    business (`店`, `厂`, `行`, `社`, ...);
//! 4. an English form of address and a name: `MR SMITH`, `MS. LI`.
//!
//! Rule 3 also matches the rare company whose whole normalized name is two or three characters
//! starting with a surname (`华为`); such a company is then linked by phone and e-mail only.
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
];

/// English forms of address that precede a name.
const ENGLISH_ADDRESS: &[&str] = &["MR", "MRS", "MS", "MISS", "DR", "MADAM", "SIR"];

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

fn is_surname(c: char) -> bool {
    SURNAMES.contains(c)
}

/// A surname and up to two more Han characters (`王`, `张伟`, `欧阳娜娜`).
fn surname_and_given(chars: &[char], max_given: usize) -> bool {
    if !chars.iter().all(|&c| is_han(c)) {
        return false;
    }
    let text: String = chars.iter().collect();
    let given = if COMPOUND_SURNAMES.iter().any(|s| text.starts_with(s)) {
        chars.len() - 2
    } else if chars.first().is_some_and(|&c| is_surname(c)) {
        chars.len() - 1
    } else {
        return false;
    };
    given <= max_given
}

/// Whether the normalized name `name` is a person's (see the module docs).
pub fn is_person_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    if let Some(head) = ADDRESS_SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|h| !h.is_empty())
    {
        let head: Vec<char> = head.chars().collect();
        return surname_and_given(&head, 2);
    }
    if let [p, s] = chars[..]
        && matches!(p, '老' | '小' | '阿')
        && is_surname(s)
    {
        return true;
    }
    if chars.len() >= 2
        && chars.len() <= 4
        && !chars.last().is_some_and(|&c| BUSINESS_ENDINGS.contains(c))
        && !BUSINESS_WORDS.iter().any(|w| name.contains(w))
        && surname_and_given(&chars, 2)
    {
        return true;
    }
    let words: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    matches!(words.as_slice(), [first, rest @ ..]
        if ENGLISH_ADDRESS.contains(first) && !rest.is_empty() && rest.len() <= 2
            && rest.iter().all(|w| w.chars().all(|c| c.is_ascii_alphabetic())))
}

#[cfg(test)]
mod tests {
    use super::is_person_name;

    #[test]
    fn people() {
        for n in [
            "张伟",
            "王芳",
            "王先生",
            "李女士",
            "王总",
            "张伟经理",
            "老王",
            "小李",
            "欧阳娜娜",
            "诸葛亮",
            "李小龙",
            "MR SMITH",
            "MS.LI",
            "DR JOHN WATSON",
        ] {
            assert!(is_person_name(n), "{n}");
        }
    }

    #[test]
    fn companies() {
        for n in [
            "恒瑞科技",
            "上海恒瑞科技",
            "李记店",
            "张家厂",
            "王府",
            "同一商行",
            "东方科技",
            "恒瑞",
            "TESCO",
            "MRS FIELDS COOKIES INC",
            "老字号",
            "恒瑞科技总",
            "会员制超市连锁",
        ] {
            assert!(!is_person_name(n), "{n}");
        }
    }
}
