//! Flat vocabulary tables: regions, company-name parts, industries, people, products,
//! competitors. Pure data; rendering lives in `identity.rs`.
//!
//! Brand characters avoid the characters of legal suffixes and branch words (有 限 公 司 股 份
//! 集 团 分 部) so that stripping suffixes never eats into a brand.

/// A city with its province, telephone area code and the Latin abbreviation that sales staff
/// use in branch names (北京 -> BJ).
pub(crate) struct City {
    pub province: &'static str,
    pub province_short: &'static str,
    pub name: &'static str,
    pub area: &'static str,
    pub abbr: &'static str,
    pub weight: f64,
}

const fn city(
    province: &'static str,
    province_short: &'static str,
    name: &'static str,
    area: &'static str,
    abbr: &'static str,
    weight: f64,
) -> City {
    City { province, province_short, name, area, abbr, weight }
}

pub(crate) static CITIES: &[City] = &[
    city("北京市", "北京", "北京", "010", "BJ", 9.0),
    city("上海市", "上海", "上海", "021", "SH", 9.0),
    city("天津市", "天津", "天津", "022", "TJ", 3.0),
    city("重庆市", "重庆", "重庆", "023", "CQ", 3.0),
    city("广东省", "广东", "广州", "020", "GZ", 6.0),
    city("广东省", "广东", "深圳", "0755", "SZ", 8.0),
    city("广东省", "广东", "东莞", "0769", "DG", 3.0),
    city("广东省", "广东", "佛山", "0757", "FS", 2.5),
    city("浙江省", "浙江", "杭州", "0571", "HZ", 6.0),
    city("浙江省", "浙江", "宁波", "0574", "NB", 3.0),
    city("浙江省", "浙江", "温州", "0577", "WZ", 2.0),
    city("江苏省", "江苏", "南京", "025", "NJ", 4.5),
    city("江苏省", "江苏", "苏州", "0512", "SUZ", 5.0),
    city("江苏省", "江苏", "无锡", "0510", "WX", 2.5),
    city("四川省", "四川", "成都", "028", "CD", 5.0),
    city("湖北省", "湖北", "武汉", "027", "WH", 4.0),
    city("陕西省", "陕西", "西安", "029", "XA", 3.0),
    city("山东省", "山东", "济南", "0531", "JN", 2.5),
    city("山东省", "山东", "青岛", "0532", "QD", 3.0),
    city("福建省", "福建", "福州", "0591", "FZ", 2.0),
    city("福建省", "福建", "厦门", "0592", "XM", 2.5),
    city("河南省", "河南", "郑州", "0371", "ZZ", 3.0),
    city("湖南省", "湖南", "长沙", "0731", "CS", 3.0),
    city("安徽省", "安徽", "合肥", "0551", "HF", 2.5),
    city("辽宁省", "辽宁", "沈阳", "024", "SY", 2.0),
    city("辽宁省", "辽宁", "大连", "0411", "DL", 2.0),
    city("河北省", "河北", "石家庄", "0311", "SJZ", 1.5),
    city("云南省", "云南", "昆明", "0871", "KM", 1.5),
    city("江西省", "江西", "南昌", "0791", "NC", 1.5),
    city("广西壮族自治区", "广西", "南宁", "0771", "NN", 1.2),
    city("黑龙江省", "黑龙江", "哈尔滨", "0451", "HEB", 1.2),
    city("吉林省", "吉林", "长春", "0431", "CC", 1.0),
    city("山西省", "山西", "太原", "0351", "TY", 1.0),
    city("贵州省", "贵州", "贵阳", "0851", "GY", 1.0),
    city("海南省", "海南", "海口", "0898", "HK", 0.6),
    city("甘肃省", "甘肃", "兰州", "0931", "LZ", 0.6),
];

/// Characters used two at a time as brand names, with their pinyin for e-mail domains.
pub(crate) static BRAND_CHARS: &[(&str, &str)] = &[
    ("恒", "heng"), ("瑞", "rui"), ("华", "hua"), ("泰", "tai"), ("盛", "sheng"), ("达", "da"),
    ("鑫", "xin"), ("源", "yuan"), ("博", "bo"), ("创", "chuang"), ("智", "zhi"), ("联", "lian"),
    ("宏", "hong"), ("信", "xin"), ("安", "an"), ("东", "dong"), ("方", "fang"), ("金", "jin"),
    ("通", "tong"), ("天", "tian"), ("和", "he"), ("康", "kang"), ("德", "de"), ("隆", "long"),
    ("兴", "xing"), ("远", "yuan"), ("航", "hang"), ("汇", "hui"), ("海", "hai"), ("宇", "yu"),
    ("嘉", "jia"), ("诚", "cheng"), ("辉", "hui"), ("明", "ming"), ("中", "zhong"), ("正", "zheng"),
    ("永", "yong"), ("丰", "feng"), ("福", "fu"), ("祥", "xiang"), ("凯", "kai"), ("腾", "teng"),
    ("飞", "fei"), ("云", "yun"), ("睿", "rui"), ("思", "si"), ("优", "you"), ("易", "yi"),
    ("捷", "jie"), ("佳", "jia"), ("星", "xing"), ("越", "yue"), ("卓", "zhuo"), ("尚", "shang"),
    ("美", "mei"), ("润", "run"), ("景", "jing"), ("晟", "sheng"), ("昊", "hao"), ("铭", "ming"),
    ("峰", "feng"), ("森", "sen"), ("鼎", "ding"), ("弘", "hong"), ("昌", "chang"), ("广", "guang"),
    ("益", "yi"), ("合", "he"), ("利", "li"), ("成", "cheng"), ("富", "fu"), ("万", "wan"),
    ("顺", "shun"), ("长", "chang"), ("齐", "qi"), ("晨", "chen"), ("阳", "yang"), ("光", "guang"),
    ("立", "li"), ("国", "guo"), ("力", "li"), ("众", "zhong"), ("沃", "wo"), ("百", "bai"),
    ("亿", "yi"), ("聚", "ju"), ("赛", "sai"), ("骏", "jun"), ("奥", "ao"), ("银", "yin"),
    ("锦", "jin"), ("汉", "han"), ("浩", "hao"), ("朗", "lang"), ("新", "xin"), ("蓝", "lan"),
    ("青", "qing"), ("川", "chuan"), ("北", "bei"), ("南", "nan"), ("西", "xi"), ("元", "yuan"),
    ("宝", "bao"), ("振", "zhen"), ("鸿", "hong"), ("豪", "hao"), ("威", "wei"), ("盈", "ying"),
    ("启", "qi"), ("英", "ying"), ("杰", "jie"), ("伟", "wei"), ("荣", "rong"), ("乐", "le"),
];

/// An industry as recorded in CRM and ERP, with the words it puts in company names.
pub(crate) struct Industry {
    pub name: &'static str,
    pub words: &'static [&'static str],
    pub weight: f64,
}

pub(crate) static INDUSTRIES: &[Industry] = &[
    Industry {
        name: "信息技术",
        words: &["科技", "软件", "信息技术", "网络科技", "数据科技", "智能科技", "IT服务", "AI科技"],
        weight: 18.0,
    },
    Industry {
        name: "制造业",
        words: &["机械", "精密制造", "电子", "新材料", "实业", "电气", "自动化设备", "3D打印"],
        weight: 20.0,
    },
    Industry { name: "零售", words: &["商贸", "贸易", "百货", "电子商务", "商业连锁"], weight: 12.0 },
    Industry { name: "金融", words: &["投资", "融资租赁", "资产管理", "保险代理"], weight: 5.0 },
    Industry {
        name: "医疗健康",
        words: &["医疗器械", "生物科技", "医药", "健康科技"],
        weight: 7.0,
    },
    Industry { name: "教育", words: &["教育科技", "文化教育", "职业教育"], weight: 5.0 },
    Industry { name: "物流", words: &["物流", "供应链", "运输", "国际货运"], weight: 8.0 },
    Industry { name: "建筑", words: &["建设工程", "建筑设计", "装饰工程", "园林工程"], weight: 7.0 },
    Industry { name: "能源", words: &["新能源", "能源科技", "光伏科技", "环保科技"], weight: 5.0 },
    Industry { name: "餐饮", words: &["餐饮管理", "食品", "酒店管理"], weight: 4.0 },
    Industry {
        name: "专业服务",
        words: &["管理咨询", "人力资源", "广告", "文化传媒", "会计服务"],
        weight: 9.0,
    },
];

/// Legal suffixes of the canonical legal name, with relative weights.
pub(crate) static LEGAL_SUFFIXES: &[(&str, f64)] =
    &[("有限公司", 70.0), ("股份有限公司", 20.0), ("集团有限公司", 10.0)];

/// Company size buckets of CRM with relative weights.
pub(crate) static COMPANY_SIZES: &[(&str, f64)] =
    &[("1-49", 45.0), ("50-199", 30.0), ("200-999", 17.0), ("1000+", 8.0)];

/// Common surnames with pinyin.
pub(crate) static SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"),
];

/// Common given names with pinyin.
pub(crate) static GIVEN_NAMES: &[(&str, &str)] = &[
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("秀兰", "xiulan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"),
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("晓燕", "xiaoyan"), ("文博", "wenbo"),
    ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"), ("宇航", "yuhang"), ("思远", "siyuan"),
    ("佳琪", "jiaqi"), ("俊杰", "junjie"), ("海燕", "haiyan"), ("国庆", "guoqing"),
    ("建国", "jianguo"), ("丹", "dan"), ("鹏", "peng"), ("辉", "hui"), ("玲", "ling"), ("婷", "ting"),
    ("斌", "bin"), ("颖", "ying"), ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("雨欣", "yuxin"),
    ("梓轩", "zixuan"), ("立新", "lixin"),
];

/// Public mail providers (Chinese ones dominate).
pub(crate) static MAIL_PROVIDERS: &[(&str, f64)] = &[
    ("qq.com", 30.0),
    ("163.com", 22.0),
    ("126.com", 10.0),
    ("sina.com", 5.0),
    ("139.com", 5.0),
    ("foxmail.com", 5.0),
    ("outlook.com", 4.0),
    ("gmail.com", 3.0),
];

/// Mobile number prefixes of the three carriers.
pub(crate) static MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "157", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199",
];

/// Product categories of orders.
pub(crate) static PRODUCT_CATEGORIES: &[&str] =
    &["软件许可", "SaaS订阅", "实施服务", "硬件设备", "培训课程", "耗材配件", "运维服务", "定制开发"];

/// Competitors named in competitor signals.
pub(crate) static COMPETITORS: &[&str] =
    &["纷享销客", "销售易", "Salesforce", "HubSpot", "用友", "金蝶", "Zoho CRM", "悟空CRM"];

/// Currencies of the fx table other than CNY, with an approximate CNY rate for amounts.
pub(crate) static FOREIGN_CURRENCIES: &[(&str, f64)] =
    &[("USD", 7.1), ("EUR", 7.8), ("HKD", 0.91), ("JPY", 0.048), ("GBP", 9.1)];

/// A currency code that no fx table knows.
pub(crate) const UNKNOWN_CURRENCY: &str = "XYZ";
