#!/usr/bin/env python3
"""Writes bench/duckdb_macros.sql: DuckDB equivalents of strata's SQL functions (see NOTES.md).

    python3 bench/gen_macros.py            # rewrites bench/duckdb_macros.sql in place

The long generated tables that do not change with the rules here (parse_score's NFKC digits, the
ferrous-opencc t2s tables) are kept from the current file, between their marker comments; the
rest is written from the templates below, with the regexp classes and word lists filled in.
Keep the lists equal to the Rust sources named next to them.
"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "duckdb_macros.sql")

# Rust's char::is_whitespace (Unicode White_Space), as an RE2 class body (the yardstick's WS).
WS = r"\t\n\x0b\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
# normalize.rs is_invisible (soft hyphen included) and person.rs prepare (without it).
INVISIBLE = r"\x{200b}-\x{200d}\x{2060}\x{feff}\x{ad}"
INVISIBLE_PERSON = r"\x{200b}-\x{200d}\x{2060}\x{feff}"
# Han characters of junk.rs is_cjk / person.rs is_han.
HAN = r"\x{3400}-\x{9fff}\x{f900}-\x{faff}\x{20000}-\x{2ffff}"
# Rust char::is_alphanumeric, approximated (NOTES.md): letters, numbers, circled letters.
ALNUM = r"\p{L}\p{N}\x{24b6}-\x{24e9}"
DASH = r"\-\x{2010}-\x{2015}\x{2212}"
# non-ASCII characters that are not White_Space
NONASCII_NONWS = (r"\x{80}-\x{84}\x{86}-\x{9f}\x{a1}-\x{167f}\x{1681}-\x{1fff}\x{200b}-\x{2027}"
                  r"\x{202a}-\x{202e}\x{2030}-\x{205e}\x{2060}-\x{2fff}\x{3001}-\x{10ffff}")

# normalize.rs LATIN_FORMS, in order.
LATIN_FORMS = ["COMPANYLIMITED", "GROUP", "INCORPORATED", "CORPORATION", "LIMITED", "COMPANY", "GMBH",
               "CORP", "LTD", "INC", "LLC", "LLP", "PLC", "PTE", "CO"]
# normalize.rs LEGAL_FORMS, in order.
LEGAL_FORMS = ["个人独资企业", "自然人独资", "自然人投资或控股", "外商独资", "外商投资",
               "中外合资", "中外合作", "法人独资", "国有独资", "股份合作", "特殊普通合伙", "有限合伙企业", "普通合伙企业", "股份有限公司",
               "集团有限公司", "有限责任公司", "个人独资", "合伙企业", "有限合伙", "普通合伙",
               "股份公司", "有限公司", "总公司", "集团"]
# normalize.rs TAIWAN_WORDS (the keep list is only 软体's).
TAIWAN_WORDS = [("软体", "软件"), ("硬体", "硬件"), ("韧体", "固件"), ("网路", "网络"),
                ("数位", "数字"), ("资料库", "数据库"), ("伺服器", "服务器"), ("印表机", "打印机"),
                ("雷射", "激光"), ("积体电路", "集成电路"), ("程式", "程序")]
SOFTWARE_KEEP = ["家具", "动物", "沙发", "床"]
# normalize_email.rs CHINESE_LABELS, in order.
EMAIL_LABELS = ["电子邮箱", "电子邮件", "邮箱地址", "邮件地址", "邮箱", "邮件", "电邮", "電子郵箱",
                "電子郵件", "郵箱", "郵件", "電郵"]

# junk.rs JUNK_NAMES as written and as normalize_company writes them (the rules check both);
# the normalized forms computed with strata: strata sql "SELECT normalize_company('...')".
JUNK_NAMES = [
    'N/A', 'NA', 'NULL', 'NONE', 'NIL', 'TEST', 'UNKNOWN', 'XXX', '无', '暂无', '没有', '空', '个人',
    '个体', '个体户', '测试', '测试用户', '测试公司', '微信用户', '匿名', '匿名用户', '未知', '不详',
    '客户', '散客', '用户', '会员', '其他', '先生', '女士', '小姐', '默认', '某某', 'XX', '暂无信息',
    '未填写', '个人客户', '游客', '无名氏', '佚名', '未命名', '待定', '空白', 'ADMIN', '先生/女士',
    'N.A', '现金客户', '零售客户', '散户', '临时客户', '普通客户', '新客户', '老客户', '门店客户',
    '线上客户', '网店客户', '默认客户', '个体工商户', '新用户', 'VIP客户', 'VIP', '个人用户',
    '注册用户', '会员用户', '默认用户', '注销用户', '已注销', '自然人', '无名', '无名称', '未知客户',
    '未知用户', '客户名称', '公司名称', '用户名', '姓名', '名称', '昵称', '默认昵称', '请填写', '未填',
    '测试账号', '测试客户', '老板', '经理', '老师', '同学', '师傅', 'WeChat User', 'Test User',
    'Test Account', 'Anonymous', 'Unknown User', 'Customer', 'Individual', 'Guest', 'User', '#N/A',
    'Nobody', 'Default', '企业客户', '潜在客户', '意向客户', '批发客户', '大客户', '经销商', '代理商',
    '买家', '卖家', '内部员工', '员工', '普通会员', '企业', '株式会社',
    # normalize_company of the above, where it differs
    'ANONYMOUS', 'CUSTOMER', 'DEFAULT', 'GUEST', 'INDIVIDUAL', 'NOBODY', 'TESTACCOUNT',
    'TESTUSER', 'UNKNOWNUSER', 'USER', 'WECHATUSER']
NICKNAME_PREFIXES = ["微信用户", "手机用户", "淘宝用户", "京东用户", "用户", "会员", "USER", "WX",
                     "JD", "TB"]
BARE_LATIN = ["CO", "LTD", "COLTD", "INC", "CORP", "LLC", "PLC", "PTE", "PTELTD", "GMBH",
              "LIMITED", "COMPANY", "GROUP", "CORPORATION", "INCORPORATED", "PTY", "PTYLTD",
              "SDNBHD", "BHD", "LIMITEDLIABILITYCOMPANY", "AG", "SA", "BV", "KK", "KG", "SRL",
              "SAS", "OY", "AB"]
# junk.rs is_bare_form's place: administrative divisions (新区 ends in 区, so 区 covers it)
PLACE_DIVISIONS = "省市区县镇州"
BARE_BRANCH = ["分公司", "总部", "总公司", "分店", "门店", "营业部"]

# person.rs
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于"
            "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
            "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚"
            "符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉"
            "缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛"
            "仲虞敖巩明佘池查麻苑迟邝")
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
                     "宇文", "司徒", "夏侯", "令狐", "独孤", "端木", "南宫", "西门", "轩辕", "呼延",
                     "澹台", "公冶", "申屠", "太史"]
ADDRESS_SUFFIXES = ["同志", "董", "工", "生", "先生", "女士", "小姐", "太太", "夫人", "老师", "同学", "师傅", "老板娘", "老板",
                    "阿姨", "叔叔", "大哥", "大姐", "哥", "姐", "总", "经理", "主任", "医生", "律师",
                    "教授"]
BUSINESS_ENDINGS = "店厂行社所院馆部局坊铺站场园城室队会处司庄楼堂阁轩斋居府号记"
BUSINESS_WORDS = ["有限", "股份", "企业", "商行", "商店", "用品", "体育", "珠宝", "合伙", "公司", "集团",
                  "科技", "贸易", "商贸", "实业", "电子", "中心", "传媒", "文化", "物流", "投资", "医药",
                  "软件", "网络", "信息", "机械", "制造", "材料", "电气", "设备", "百货", "连锁", "服务",
                  "咨询", "餐饮", "酒店", "银行", "保险", "证券", "地产", "置业", "建设", "建筑", "装饰",
                  "工程", "能源", "化工", "食品", "农业", "环保", "汽车", "控股", "国际", "教育", "健康",
                  "生物", "设计", "广告", "印刷", "包装", "家具", "服装", "超市", "商场", "药房", "诊所",
                  "学校", "培训", "工作室", "运输", "货运", "供应", "打印", "器械", "租赁", "资产",
                  "代理", "园林", "医疗", "电商", "商务", "精密", "智能", "数据", "自动", "塑料", "五金",
                  "建材", "纺织", "化学", "光电", "通信", "通讯", "印务", "物业", "家居", "商业", "光伏",
                  "管理", "人力", "会计", "研究", "协会", "合作社", "经营部", "批发", "零售", "药店",
                  "医院", "幼儿园", "门市", "工厂", "事务所"]
# person.rs PRIVATE_PERSON, in order (the first that ends or starts the name is taken)
PRIVATE_PERSON = ["个人客户", "自然人", "个体户", "个体", "散客", "个人", "本人", "私人"]
ENGLISH_ADDRESS = ["MR", "MRS", "MS", "MISS", "DR", "MADAM", "SIR"]
LATIN_BUSINESS_WORDS = ["CO", "LTD", "INC", "CORP", "LLC", "PLC", "PTE", "GMBH", "LIMITED",
                        "COMPANY", "GROUP", "TECH", "TECHNOLOGY", "TRADING", "INDUSTRIES",
                        "INDUSTRY", "HOLDINGS", "INTERNATIONAL", "SERVICES", "SOLUTIONS",
                        "SYSTEMS", "ENTERPRISE", "ENTERPRISES", "STORE", "SHOP", "MART", "BANK",
                        "STUDIO", "DESIGN", "MEDIA", "LOGISTICS", "FOOD", "FOODS", "HOTEL", "CAFE",
                        "RESTAURANT", "ELECTRONICS", "SOFTWARE", "NETWORK", "DIGITAL",
                        "CONSULTING", "CAPITAL", "PARTNERS", "ASSOCIATES", "LAB", "LABS",
                        "CENTER", "CENTRE", "CLUB", "FACTORY", "SUPPLY"]
LATIN_SURNAMES = ["WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU",
                  "XU", "SUN", "MA", "ZHU", "HU", "GUO", "HE", "GAO", "LIN", "LUO", "ZHENG",
                  "LIANG", "XIE", "SONG", "TANG", "HAN", "FENG", "DENG", "CAO", "PENG", "ZENG",
                  "XIAO", "TIAN", "DONG", "YUAN", "PAN", "YU", "JIANG", "CAI", "DU", "YE", "CHENG",
                  "SU", "WEI", "LV", "LYU", "LU", "DING", "REN", "SHEN", "YAO", "CUI", "ZHONG",
                  "TAN", "FAN", "JIN", "SHI", "LIAO", "JIA", "XIA", "FU", "FANG", "BAI", "ZOU",
                  "MENG", "XIONG", "QIN", "QIU", "YIN", "XUE", "YAN", "DUAN", "LEI", "HOU", "LONG",
                  "TAO", "GU", "MAO", "HAO", "GONG", "SHAO", "WAN", "QIAN", "DAI", "MO", "KONG",
                  "XIANG", "CHANG", "WEN", "KANG", "NIU", "GE", "XING", "QI", "QIAO", "OUYANG",
                  "SIMA", "ZHUGE", "WONG", "CHAN", "LEE", "CHEUNG", "LAU", "LEUNG", "HO", "NG",
                  "TSANG", "YEUNG", "CHOW", "LAM", "CHU", "KWOK", "LAI", "TSE", "MAK", "YIP",
                  "FUNG", "TAM", "KWAN", "LO", "TONG", "CHOI"]
# guard.rs PUBLIC_MAIL_DOMAINS
PUBLIC_MAIL_DOMAINS = ["qq.com", "vip.qq.com", "163.com", "vip.163.com", "126.com", "vip.126.com",
                       "188.com", "yeah.net", "sina.com", "sina.cn", "sina.com.cn", "vip.sina.com",
                       "sohu.com", "vip.sohu.com", "139.com", "189.cn", "wo.cn", "aliyun.com",
                       "foxmail.com", "tom.com", "21cn.com", "263.net", "gmail.com",
                       "googlemail.com", "outlook.com", "hotmail.com", "live.com", "live.cn",
                       "msn.com", "yahoo.com", "yahoo.com.cn", "yahoo.com.hk", "icloud.com",
                       "me.com", "proton.me", "protonmail.com", "mail.com", "yandex.com",
                       "hotmail.com.hk", "netvigator.com"]
# junk.rs is_filler_mailbox FILLER_AT_PUBLIC: mailbox names that are filler at a public provider
FILLER_AT_PUBLIC = ["user", "demo", "asdf", "qwer", "qwerty", "info", "admin", "abc", "aaa", "sample",
                    "123", "1234", "guest", "mail", "email"]


def q(s):
    return "'" + s.replace("'", "''") + "'"


def sql_list(items):
    return "[" + ", ".join(q(i) for i in items) + "]"


def alt(items):
    return "|".join(re.escape(i) for i in items)


def spaced(form):
    """A Latin form with whitespace allowed between its letters (strip_latin_forms compares the
    text with its whitespace removed)."""
    return f"[{WS}]*".join(form)


FORMS = "(?:" + "|".join(spaced(f) for f in LATIN_FORMS) + ")"
SEP = f"[{WS}.&]"


def keep_blocks(text):
    """The NFKC and t2s blocks of the current file (generated elsewhere, see NOTES.md)."""
    score = re.search(r"(?ms)^-- parse_score\(text\).*?^CREATE OR REPLACE MACRO parse_score.*?;\n", text)
    t2s = re.search(r"(?ms)^-- Traditional to simplified.*?^CREATE OR REPLACE MACRO _t2s\(s\).*?;\n", text)
    if not score or not t2s:
        raise SystemExit("parse_score or t2s block not found in " + OUT)
    # _t2s_chars: the translate() over the generator's characters only for a text that holds one
    # of them (most texts reaching it hold only phrase characters such as 一 or 中).
    block = re.sub(r"\) ELSE translate\(s, '([^']*)', '([^']*)'\) END;\n",
                   lambda m: (f") WHEN regexp_matches(s, '[{m.group(1)}]') "
                              f"THEN translate(s, '{m.group(1)}', '{m.group(2)}') ELSE s END;\n"),
                   t2s.group(0))
    return score.group(0), block


TEMPLATE = r"""-- DuckDB equivalents of the SQL functions strata adds for stage SQL (src/engine/udf.rs,
-- udf_values.rs, normalize*.rs, identity/), for ../shared/bench/duck_pipeline.py --macros. They
-- replace the yardstick's macros of the same name and use its _fold. Each does the same work as
-- its Rust original; what is approximated is in bench/NOTES.md.
-- GENERATED by bench/gen_macros.py (which keeps the parse_score and t2s tables of this file):
-- edit the generator, not this file.
--
-- nonblank(text): NULL when the text is NULL, empty or only Unicode White_Space (Rust's
-- char::is_whitespace), else the text unchanged.
CREATE OR REPLACE MACRO nonblank(t) AS
  CASE WHEN regexp_matches(t, '^[{WS}]*$') THEN NULL ELSE t END;

-- normalize_label(text) (udf_values.rs): trimmed of Unicode White_Space, upper case, NULL when
-- blank. strata applies NFKC first; DuckDB has none (full-width letters stay as typed).
CREATE OR REPLACE MACRO normalize_label(t) AS
  nullif(upper(regexp_replace(t, '^[{WS}]+|[{WS}]+$', '', 'g')), '');

-- months_elapsed(from, to) (udf_months.rs): whole calendar months, less one while the day of the
-- month of `from` is not yet reached in `to`.
CREATE OR REPLACE MACRO months_elapsed(a, b) AS
  (year(b) - year(a)) * 12 + month(b) - month(a) - CASE WHEN day(b) < day(a) THEN 1 ELSE 0 END;

{SCORE}
-- =============================================================================================
-- normalize_phone (normalize_phone.rs). Steps of the module docs:
-- 1. invisible characters dropped, widths folded, whitespace a space, lower case;
-- 2. the extension cut at its first mark after a digit: 转 轉 分机 分機 内线 內線 # anywhere, and
--    extension/ext/x not touching an ASCII letter on either side (a digit before is fine);
-- 3. ordinal labels (no, nr, № at a word start, [ .:#]*, one or two digits not followed by a
--    digit or a dash) replaced by ';' (applied twice: a label right after another one);
-- 4. runs of digits and number punctuation; the first run that reads as a number wins;
-- 5. a run whose digits before the last group already make a number: the last group is an
--    extension after a dash (at most 6 digits), else the run is NULL;
-- 6. _np_number: country prefix (0086, + then 86, 86 with more than 11 digits; other 00 or +
--    NULL), then 'I' (international) or 'D' and the digits; one regexp for mobile / landline.
CREATE OR REPLACE MACRO _np_clean(t) AS lower(regexp_replace(
  _fold(regexp_replace(t, '[{INVISIBLE}]', '', 'g')), '[{WS}]', ' ', 'g'));
CREATE OR REPLACE MACRO _np_cut(c) AS regexp_replace(regexp_replace(c,
  '(?s)^(.*?[0-9].*?)(?:转|轉|分机|分機|内线|內線|#).*$', '\1'),
  '(?s)^(.*?[0-9](?:.*?[^a-z])??)(?:extension|ext|x)(?:[^a-z].*)?$', '\1');
CREATE OR REPLACE MACRO _np_label1(c) AS regexp_replace(c,
  '(^|[^a-z])(?:no|nr|№)[ .:#]*[0-9]{1,2}([^0-9{DASH}]|$)', '\1;\2', 'g');
CREATE OR REPLACE MACRO _np_labels(c) AS list_transform([c], lambda c_: CASE
  WHEN regexp_matches(c_, 'no|nr|№') THEN _np_label1(_np_label1(c_)) ELSE c_ END)[1];
CREATE OR REPLACE MACRO _np_valid(x) AS CASE WHEN regexp_matches(x,
  '^[ID]0?1[3-9][0-9]{9}$|^(?:I0?|D0)(?:10[0-9]{8}|2[0-9]{9}|[3-9][0-9]{9,10})$')
  THEN '+86' || regexp_replace(substr(x, 2), '^0', '') END;
CREATE OR REPLACE MACRO _np_number(plus, d) AS list_transform([d], lambda d_: _np_valid(CASE
  WHEN starts_with(d_, '0086') THEN 'I' || substr(d_, 5)
  WHEN plus THEN CASE WHEN starts_with(d_, '86') THEN 'I' || substr(d_, 3) END
  WHEN starts_with(d_, '00') THEN NULL
  WHEN starts_with(d_, '86') AND length(d_) > 11 THEN 'I' || substr(d_, 3)
  ELSE 'D' || d_ END))[1];
CREATE OR REPLACE MACRO _np_run2(run, plus, g, head) AS list_transform([_np_number(plus, head)],
  lambda n_: CASE
    WHEN n_ IS NOT NULL THEN CASE WHEN regexp_matches(g.sep, '[{DASH}]') AND length(g.last) <= 6
                                  THEN n_ END
    ELSE _np_number(plus, regexp_replace(run, '[^0-9]', '', 'g')) END)[1];
CREATE OR REPLACE MACRO _np_run1(run, g) AS
  _np_run2(run, regexp_matches(run, '^[ (\[]*\+'), g, regexp_replace(g.head, '[^0-9]', '', 'g'));
CREATE OR REPLACE MACRO _np_run(run) AS list_transform(
  [regexp_extract(run, '^(.*?)([^0-9]*)([0-9]+)[^0-9]*$', ['head', 'sep', 'last'])],
  lambda g_: _np_run1(run, g_))[1];
CREATE OR REPLACE MACRO _np_runs(main) AS list_filter(list_transform(
  regexp_extract_all(main, '[0-9 .()\[\]+{DASH}]*[0-9][0-9 .()\[\]+{DASH}]*'),
  lambda r: _np_run(r)), lambda x: x IS NOT NULL)[1];
CREATE OR REPLACE MACRO normalize_phone(t) AS _np_runs(_np_labels(_np_cut(_np_clean(t))));

-- =============================================================================================
-- normalize_email (normalize_email.rs): the text cleaned (invisible characters dropped, widths
-- folded, 。｡﹒ a dot, ﹫ an @, whitespace a space, lower case, Chinese labels a space, spaces
-- around @ removed); the candidates are the ADDRESS regexp's matches (regexp_extract_all, with
-- regexp_split_to_array giving the text between them, so the text before and after each); the
-- first candidate that is whole (clean_start, clean_end, local part not mixed, 1..64 bytes) wins.
CREATE OR REPLACE MACRO _ne_re() AS
  '[\p{L}\p{N}._%+\-]+@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,}';
CREATE OR REPLACE MACRO _ne_clean(t) AS regexp_replace({LABELS}, ' *@ *', '@', 'g');
CREATE OR REPLACE MACRO _ne_start_word(w) AS
  NOT regexp_matches(w, '[A-Za-z0-9._%+\-]$') OR contains(w, '@')
  OR list_contains(['email', 'e-mail', 'mail', 'mailto'], w);
CREATE OR REPLACE MACRO _ne_start(before) AS CASE
  WHEN before = '' THEN true
  WHEN right(before, 1) = ' ' THEN _ne_start_word(regexp_extract(rtrim(before, ' '), '[^ ]*$'))
  WHEN contains('!#$&''*/=?^`{|}~@', right(before, 1))
    THEN right(before, 1) <> '@' AND NOT regexp_matches(before, '[A-Za-z0-9].$')
  ELSE true END;
CREATE OR REPLACE MACRO _ne_end_word(w) AS
  NOT regexp_matches(w, '^[A-Za-z0-9.]') OR contains(w, '@');
CREATE OR REPLACE MACRO _ne_end(after) AS CASE
  WHEN after = '' THEN true
  WHEN regexp_matches(after, '^[A-Za-z0-9\-_@]') THEN false
  WHEN starts_with(after, '.') THEN NOT regexp_matches(after, '^.[A-Za-z0-9\-_]')
  WHEN starts_with(after, ' ') THEN _ne_end_word(regexp_extract(ltrim(after, ' '), '^[^ ]*'))
  ELSE true END;
CREATE OR REPLACE MACRO _ne_whole(local, domain, before, after) AS CASE
  WHEN local <> '' AND strlen(local) <= 64
       AND NOT (regexp_matches(local, '[^\x00-\x7f]') AND regexp_matches(local, '[A-Za-z0-9]'))
       AND _ne_start(before) AND _ne_end(after)
  THEN local || '@' || domain END;
CREATE OR REPLACE MACRO _ne_cand(m, before, after) AS
  _ne_whole(ltrim(split_part(m, '@', 1), '.'), split_part(m, '@', 2), before, after);
CREATE OR REPLACE MACRO _ne_pick(c, ms, pieces) AS CASE
  WHEN len(ms) = 1 THEN _ne_cand(ms[1], pieces[1], pieces[2])
  WHEN len(ms) > 1 THEN list_filter(list_transform(range(1, len(ms) + 1), lambda i: _ne_cand(ms[i],
    left(c, length(array_to_string(pieces[1:i], '')) + length(array_to_string(ms[1:i - 1], ''))),
    substr(c, length(array_to_string(pieces[1:i], '')) + length(array_to_string(ms[1:i], '')) + 1))),
    lambda x: x IS NOT NULL)[1] END;
CREATE OR REPLACE MACRO _ne_find(c) AS CASE WHEN contains(c, '@') THEN list_transform(
  [{'ms': regexp_extract_all(c, _ne_re()), 'ps': regexp_split_to_array(c, _ne_re())}],
  lambda x_: _ne_pick(c, x_.ms, x_.ps))[1] END;
CREATE OR REPLACE MACRO normalize_email(t) AS list_transform([_ne_clean(t)], lambda e_: _ne_find(e_))[1];

-- =============================================================================================
{T2S}
-- =============================================================================================
-- normalize_company (normalize.rs): invisible characters dropped, widths folded; unless ASCII,
-- t2s and the Taiwan words (TAIWAN_WORDS; 软体 stays before 家具/动物/沙发/床); separators (every
-- Ps/Pe/Pi/Pf character, ASCII quotes, . , dashes, middle dots) a space; ASCII upper case; a
-- leading form of address keeps its dot (_nc_title); English forms stripped (_nc_latin);
-- whitespace removed; Chinese legal forms removed with 分公司 out of their reach (U+E000); a final
-- 公司 dropped, trailing . & trimmed; 分部/办事处 at the end written 分公司; NULL when empty.
CREATE OR REPLACE MACRO _ascii_upper(s) AS
  translate(s, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
CREATE OR REPLACE MACRO _nc_mainland(s) AS replace({TW_CHAIN}, chr(57345), '软体');
CREATE OR REPLACE MACRO _nc_simplify(f) AS CASE
  WHEN regexp_matches(f, '[^\x00-\x7f]') THEN _nc_mainland(_t2s(f)) ELSE f END;
CREATE OR REPLACE MACRO _nc_sep(s) AS regexp_replace(s,
  '[\p{Ps}\p{Pe}\p{Pi}\p{Pf}"''.,{DASH}\x{B7}\x{2022}\x{2027}\x{30FB}\x{FF65}]', ' ', 'g');
-- normalize.rs mark_address_title: MR SMITH -> MR. SMITH (the leading whitespace dropped)
CREATE OR REPLACE MACRO _nc_title(u) AS regexp_replace(u,
  '(?s)^[{WS}]*(MR|MRS|MS|MISS|DR|MADAM|SIR)( .*[^{WS}].*)$', '\1.\2');
-- normalize.rs strip_latin_forms: the shortest head that is not blank and ends with whitespace,
-- . & or a non-ASCII character, then one or more forms (letters with whitespace allowed between
-- them), each after whitespace . & (the first one may follow the head's last character
-- directly), then whitespace . &; the head's trailing whitespace . & trimmed.
CREATE OR REPLACE MACRO _nc_latin(u) AS regexp_replace(regexp_replace(u,
  '(?s)^([{WS}]*(?:[^{WS}].*?[{WS}.&\x{80}-\x{10ffff}]|[.&{NONASCII_NONWS}])){SEP}*{FORMS}(?:{SEP}+{FORMS})*{SEP}*$',
  '\1'),
  '{SEP}+$', '');
CREATE OR REPLACE MACRO _nc_tail(x) AS nullif(regexp_replace(regexp_replace(
  replace(rtrim(regexp_replace(replace({LEGAL_CHAIN}, '公司' || chr(57344), chr(57344)),
    '公司$', ''), '.&'), chr(57344), '分公司'),
  '分部$', '分公司'), '办事处$', '分公司'), '');
CREATE OR REPLACE MACRO normalize_company(t) AS _nc_tail(regexp_replace(_nc_latin(_nc_title(
  _ascii_upper(_nc_sep(_nc_simplify(_fold(regexp_replace(t, '[{INVISIBLE}]', '', 'g'))))))),
  '[{WS}]', '', 'g'));

-- =============================================================================================
-- is_person_name(text, display) (identity/person.rs; NULL text is false). _pn_prep: widths
-- folded, zero-width characters dropped, t2s, upper case, whitespace runs one space, trimmed.
-- h: the alphanumeric characters (the Han rules read the name so).
-- person.rs surname_and_given(chars, 2) is written as a regexp (SURNAME_GIVEN in gen_macros.py):
-- all Han, a compound surname and at most two more, or a single surname and at most two more (a
-- compound surname allows one character more than its first character alone would, so the two
-- alternatives together are the Rust rule).
CREATE OR REPLACE MACRO _pn_prep(raw) AS trim(regexp_replace(upper(_t2s(
  regexp_replace(_fold(raw), '[{INVISIBLE_PERSON}]', '', 'g'))), '[{WS}]+', ' ', 'g'), ' ');
CREATE OR REPLACE MACRO _is_surname(c) AS length(c) = 1 AND contains({SURNAMES}, c);
-- words: the words joined by one space (split at every non-alphanumeric character).
-- _latin_words: every word ASCII letters and none a Latin business word.
CREATE OR REPLACE MACRO _latin_words(w) AS regexp_matches(w, '^[A-Za-z]+(?: [A-Za-z]+)*$')
  AND NOT regexp_matches(w, '(?:^| )(?:{LBW_ALT})(?: |$)');
-- person.rs rule 3: the first qualifier of PRIVATE_PERSON (in order) that ends or starts the
-- name; what is left must be one to four Han characters
CREATE OR REPLACE MACRO _pn_private(h) AS list_transform(
  list_filter({PRIVATE_PERSON}, lambda q: ends_with(h, q) OR starts_with(h, q))[1:1],
  lambda q: regexp_matches(CASE WHEN ends_with(h, q) THEN left(h, length(h) - length(q))
                                ELSE substr(h, length(q) + 1) END, '^[{HAN}]{1,4}$'))[1];
CREATE OR REPLACE MACRO _pn_rules(w, h, display) AS CASE
  -- 4. an English form of address and one to three Latin words
  WHEN regexp_matches(w, '^(?:{ENGLISH_ADDRESS_ALT}) [A-Za-z]+(?: [A-Za-z]+){0,2}$')
       AND _latin_words(w) THEN true
  WHEN regexp_matches(h, '{BUSINESS_WORDS}') THEN false
  -- 3. a private person's qualifier, before or after the name
  WHEN regexp_matches(h, '^(?:{PRIVATE_PERSON_ALT})|(?:{PRIVATE_PERSON_ALT})$') THEN _pn_private(h)
  -- 1. a surname, at most two more Han characters and a form of address (any of the list)
  WHEN regexp_matches(h, '^{SURNAME_GIVEN}(?:{ADDRESS_SUFFIXES})$') THEN true
  -- 2. 老王, 小李
  WHEN length(h) = 2 AND contains('老小阿', left(h, 1)) AND _is_surname(right(h, 1)) THEN true
  -- 5. a Han personal name (two to four characters, not ending like a business)
  WHEN length(h) BETWEEN 2 AND 4 AND NOT contains({BUSINESS_ENDINGS}, right(h, 1))
       AND regexp_matches(h, '^{SURNAME_GIVEN}$') THEN true
  -- a romanized personal name: two or three words of at most 8 letters, one a surname
  WHEN regexp_matches(w, '^[A-Za-z]{1,8}(?: [A-Za-z]{1,8}){1,2}$') AND _latin_words(w)
       AND regexp_matches(w, '(?:^| )(?:{LATIN_SURNAMES_ALT})(?: |$)') THEN true
  WHEN NOT display THEN false
  -- 6. a display name is a company's only when it says so: the last alphanumeric character a
  -- business ending, or a Latin business word
  ELSE NOT ((h <> '' AND contains({BUSINESS_ENDINGS}, right(h, 1)))
            OR regexp_matches(w, '(?:^| )(?:{LBW_ALT})(?: |$)')) END;
CREATE OR REPLACE MACRO _pn(t, display) AS list_transform(
  [{'w': trim(regexp_replace(t, '[^{ALNUM}]+', ' ', 'g'), ' '), 'h': regexp_replace(t, '[^{ALNUM}]', '', 'g')}],
  lambda x_: _pn_rules(x_.w, x_.h, display))[1];
CREATE OR REPLACE MACRO is_person_name(raw, display) AS COALESCE(raw IS NOT NULL AND list_transform(
  [_pn_prep(raw)], lambda t_: _pn(t_, COALESCE(display, false)))[1], false);

-- =============================================================================================
-- Identity resolution helpers (identity/junk.rs, guard.rs), used by the dwd_customer_cluster
-- override of bench/duckdb_overrides.yaml. Keys arrive with their `p:`/`e:`/`n:`/`h:` prefix.
--
-- The pipeline's identity.placeholders (crm.yaml: phones, emails, names, all empty today) extend
-- the built-in lists in strata. They are written here, normalized as junk.rs normalizes them;
-- keep them equal to crm.yaml's.
CREATE OR REPLACE MACRO _cfg_placeholder_phones() AS []::VARCHAR[];   -- normalize_phone(p)
CREATE OR REPLACE MACRO _cfg_placeholder_emails() AS []::VARCHAR[];   -- normalize_email(e)
CREATE OR REPLACE MACRO _cfg_placeholder_domains() AS []::VARCHAR[];  -- '@domain' entries
CREATE OR REPLACE MACRO _cfg_placeholder_locals() AS []::VARCHAR[];   -- 'local@' entries
CREATE OR REPLACE MACRO _cfg_placeholder_names() AS []::VARCHAR[];    -- normalize_company(n)

-- every character the same (junk.rs all_same); false for ''
CREATE OR REPLACE MACRO _all_same(s) AS length(s) > 0 AND replace(s, left(s, 1), '') = '';

-- junk.rs is_junk_run over a landline's last eight digits: ascending or descending by one
-- (a piece of 0123456789 or 9876543210), or one digit repeated
CREATE OR REPLACE MACRO _junk_subscriber(s) AS
  contains('0123456789', s) OR contains('9876543210', s) OR _all_same(s);
-- junk.rs is_junk_phone over the national number of an E.164 `+86...` key.
CREATE OR REPLACE MACRO _junk_national(n) AS
  _all_same(n)
  OR (length(n) = 11 AND starts_with(n, '1') AND _all_same(substr(n, 4)))
  OR (NOT (length(n) = 11 AND starts_with(n, '1')) AND length(n) >= 8
      AND (right(n, 7) = '0000000' OR _junk_subscriber(right(n, 8))))
  OR list_contains(['12345678901', '12345678910', '01234567890', '1234567890', '13812345678',
                    '13800138000'], n);
CREATE OR REPLACE MACRO _junk_phone(e164) AS
  _junk_national(CASE WHEN starts_with(e164, '+86') THEN substr(e164, 4) ELSE e164 END)
  OR list_contains(_cfg_placeholder_phones(), e164);

-- junk.rs placeholder mailbox names and domains
CREATE OR REPLACE MACRO _placeholder_locals() AS
  ['test', 'testing', 'noreply', 'no-reply', 'no_reply', 'donotreply', 'do-not-reply', 'null',
   'none', 'nobody', 'na', 'n/a', 'xxx', 'example', 'unknown', 'nomail', 'noemail', '123456'];
CREATE OR REPLACE MACRO _placeholder_domains() AS
  ['example.com', 'example.org', 'example.net', 'test.com', 'test.cn', 'none.com', 'null.com',
   'xxx.com', 'localhost', 'mailinator.com'];
-- junk.rs is_filler_mailbox: a filler name at a public provider (guard.rs PUBLIC_MAIL_DOMAINS);
-- bare = local without . - _, word = bare without trailing digits
CREATE OR REPLACE MACRO _public_mail_domains() AS {PUBLIC_MAIL_DOMAINS};
CREATE OR REPLACE MACRO _filler_mailbox(local, domain, bare) AS
  (list_contains({FILLER_AT_PUBLIC}, local) AND list_contains(_public_mail_domains(), domain))
  OR split_part(domain, '.', 1) = local
  OR list_contains(_placeholder_locals(), bare)
  OR (regexp_replace(bare, '[0-9]+$', '') <> ''
      AND regexp_replace(bare, '[0-9]+$', '') <> bare
      AND list_contains(_placeholder_locals(), regexp_replace(bare, '[0-9]+$', '')));
CREATE OR REPLACE MACRO _junk_email_parts(email, local, domain) AS
  list_contains(_cfg_placeholder_emails(), email)
  OR list_contains(_placeholder_locals(), local)
  OR list_contains(_cfg_placeholder_locals(), local)
  OR list_contains(_placeholder_domains(), domain)
  OR list_contains(_cfg_placeholder_domains(), domain)
  OR list_contains(['invalid', 'test', 'example', 'localhost'], split_part(domain, '.', -1))
  OR (length(local) > 2 AND _all_same(local))
  OR _filler_mailbox(local, domain, regexp_replace(local, '[._-]', '', 'g'));
-- junk.rs is_junk_email: local and domain split at the last '@'; no '@' is junk
CREATE OR REPLACE MACRO _junk_email(e) AS
  strpos(e, '@') = 0
  OR _junk_email_parts(e, regexp_extract(e, '^(?s)(.*)@', 1), regexp_extract(e, '@([^@]*)$', 1));

-- junk.rs JUNK_NAMES, as written and normalized (the rules look a name up in both)
CREATE OR REPLACE MACRO _junk_names() AS {JUNK_NAMES};
CREATE OR REPLACE MACRO _is_junk_name(n) AS
  list_contains(_junk_names(), n) OR list_contains(_cfg_placeholder_names(), n);
-- a default nickname: a prefix, then no CJK and (nothing, or _/- first, or a digit somewhere)
CREATE OR REPLACE MACRO _nickname_rest(rest) AS
  NOT regexp_matches(rest, '[{HAN}]')
  AND (rest = '' OR regexp_matches(rest, '^[_-]') OR regexp_matches(rest, '[0-9]'));
CREATE OR REPLACE MACRO _is_nickname(name) AS
  len(list_filter({NICKNAME_PREFIXES},
                  lambda p: starts_with(name, p) AND _nickname_rest(substr(name, length(p) + 1)))) > 0;
-- a junk word numbered (测试1, TEST123) or lettered after a CJK character (客户A)
CREATE OR REPLACE MACRO _is_numbered_junk(name) AS
  (regexp_replace(name, '[0-9_-]+$', '') <> name
   AND _is_junk_name(regexp_replace(name, '[0-9_-]+$', '')))
  OR (regexp_matches(name, '[{HAN}][A-Z]$') AND _is_junk_name(left(name, length(name) - 1)));
-- junk.rs is_bare_form: one character, a Latin form alone, or a branch word after at most three
-- Han characters or after administrative divisions only (place(): Han parts of at most five
-- characters, each up to the first 省 市 区 县 镇 州 of the rest; 新区 ends in 区)
CREATE OR REPLACE MACRO _is_bare_form(name) AS
  length(name) <= 1 OR list_contains({BARE_LATIN}, name)
  OR regexp_matches(name, '^[{HAN}]{0,3}(?:{BARE_BRANCH})$')
  OR (regexp_matches(name, '^(?:[^{PLACE}]{0,4}[{PLACE}])+(?:{BARE_BRANCH})$')
      AND regexp_matches(name, '^[{HAN}]+$'));
-- junk.rs classify_name: the reason a name key is refused, or NULL. Alphabetic is approximated
-- by letters, letter numbers and circled letters (NOTES.md).
CREATE OR REPLACE MACRO _junk_name_reason(name) AS CASE
  WHEN _is_junk_name(name) OR NOT regexp_matches(name, '[\p{L}\p{Nl}\x{24b6}-\x{24e9}]')
    THEN 'junk_name'
  WHEN _is_nickname(name) THEN 'default_nickname'
  WHEN _is_numbered_junk(name) OR _is_bare_form(name) THEN 'junk_name' END;
-- junk.rs JunkRules::classify on a whole key; NULL when the key may link. A person's name (`h:`)
-- is `person_name` unless it is junk anyway.
CREATE OR REPLACE MACRO identity_junk(k) AS CASE substr(k, 1, 2)
  WHEN 'p:' THEN CASE WHEN _junk_phone(substr(k, 3)) THEN 'placeholder_phone' END
  WHEN 'e:' THEN CASE WHEN _junk_email(substr(k, 3)) THEN 'placeholder_email' END
  WHEN 'n:' THEN _junk_name_reason(substr(k, 3))
  WHEN 'h:' THEN COALESCE(_junk_name_reason(substr(k, 3)), 'person_name') END;

-- guard.rs email_identity: an e-mail key's domain, or the whole address at a public provider
CREATE OR REPLACE MACRO email_identity(k) AS CASE
  WHEN list_contains(_public_mail_domains(), regexp_extract(k, '@([^@]*)$', 1)) OR strpos(k, '@') = 0
    THEN substr(k, 3) ELSE regexp_extract(k, '@([^@]*)$', 1) END;
-- guard.rs agree(kind, a, b) over two records' attributes (structs of lists: phones, emails as
-- identities, names without prefix, people)
CREATE OR REPLACE MACRO _both(x, y) AS len(x) > 0 AND len(y) > 0;
CREATE OR REPLACE MACRO _emails_agree(a, b) AS
  _both(a.emails, b.emails) AND list_has_any(a.emails, b.emails);
CREATE OR REPLACE MACRO identity_agree(kind, a, b) AS CASE
  WHEN kind <> 'e' AND _both(a.emails, b.emails) AND NOT _emails_agree(a, b) THEN false
  WHEN (kind = 'e' OR (kind = 'n' AND NOT _emails_agree(a, b)))
       AND _both(a.phones, b.phones) AND NOT list_has_any(a.phones, b.phones) THEN false
  WHEN kind = 'n' THEN true
  WHEN _both(a.names, b.names) AND len(list_filter(a.names, lambda x: len(list_filter(b.names,
         lambda y: contains(x, y) OR contains(y, x))) > 0)) = 0 THEN false
  WHEN _both(a.people, b.people) AND NOT list_has_any(a.people, b.people) THEN false
  ELSE true END;
-- guard.rs contacts_contradict: both the phones and the e-mail identities of two records
-- contradict (each carries some, none shared)
CREATE OR REPLACE MACRO identity_contradict(a, b) AS
  _both(a.phones, b.phones) AND NOT list_has_any(a.phones, b.phones)
  AND _both(a.emails, b.emails) AND NOT list_has_any(a.emails, b.emails);
-- guard.rs agreeing_groups, in two passes so that the work per holder stays bounded, as in Rust.
-- A group is {'c': the attributes of its first 16 members, 'k': their anchor ranks}; the first
-- rank is the group's founder's. _id_agrees: agree (or, weak, no contradicting contacts).
CREATE OR REPLACE MACRO _id_agrees(m, a, kind, weak) AS
  CASE WHEN weak THEN NOT identity_contradict(m, a) ELSE identity_agree(kind, m, a) END;
-- The first group (by founding) founded before rank `rk` whose members of rank below `rk` all
-- agree with attributes `a` (NULL if none): the group a holder of rank rk joined, when it did
-- not found one and was not among a group's first 16.
CREATE OR REPLACE MACRO _id_first(gs, a, rk, kind, weak) AS list_position(list_transform(gs, lambda g:
  g.k[1] < rk AND list_bool_and(list_transform(g.c, lambda m, i: g.k[i] >= rk OR _id_agrees(m, a, kind, weak)))),
  true);
-- Pass 1, one holder h ({'rk', 'a'}) in rank order: the groups' first 16 members. The holder
-- joins the first group all of whose members so far (its first 16) agree with it, or founds a
-- new group while there are fewer than 64; a group that has 16 members already is unchanged.
CREATE OR REPLACE MACRO _id_step(gs, h, kind, weak) AS list_transform(
  [_id_first(gs, h.a, h.rk, kind, weak)],
  lambda p: CASE
    WHEN p > 0 THEN CASE WHEN len(gs[p].c) < 16 THEN list_transform(gs, lambda g, i: CASE WHEN i = p
      THEN {'c': list_append(g.c, h.a), 'k': list_append(g.k, h.rk)} ELSE g END) ELSE gs END
    WHEN len(gs) < 64 THEN list_append(gs, {'c': [h.a], 'k': [h.rk]})
    ELSE gs END)[1];
-- list_reduce wants its state of the type of the list's elements: each holder is {'gs': an
-- empty list of groups, 'rk': anchor rank, 'a': attributes} (_id_holder), the state {'gs': the
-- groups, 'rk', 'a': unused}.
CREATE OR REPLACE MACRO _id_holder(rk, a) AS
  {'gs': list_filter([{'c': [a], 'k': [rk]}], lambda x: false), 'rk': rk, 'a': a};
CREATE OR REPLACE MACRO _id_groups(holders, kind, weak) AS
  list_reduce(holders[2:], lambda acc, h: {'gs': _id_step(acc.gs, h, kind, weak), 'rk': h.rk, 'a': h.a},
              {'gs': [{'c': [holders[1].a], 'k': [holders[1].rk]}], 'rk': holders[1].rk,
               'a': holders[1].a}).gs;
-- Pass 2, every holder at once: its group's number (in founding order), 0 when it was left
-- out (64 groups and none agreed): the group that lists it among its first 16, else _id_first.
CREATE OR REPLACE MACRO identity_group_ids(holders, kind, weak) AS list_transform([_id_groups(holders, kind, weak)],
  lambda gs: list_transform(holders, lambda h: COALESCE(
    list_position(list_transform(gs, lambda g: list_contains(g.k, h.rk)), true),
    _id_first(gs, h.a, h.rk, kind, weak), 0)))[1];
"""


def tw_chain():
    s = f"regexp_replace(s, '软体({'|'.join(SOFTWARE_KEEP)})', chr(57345) || '\\1', 'g')"
    for tw, ml in TAIWAN_WORDS:
        s = f"replace({s}, {q(tw)}, {q(ml)})"
    return s


def legal_chain():
    s = "replace(x, '分公司', chr(57344))"
    for f in LEGAL_FORMS:
        s = f"replace({s}, {q(f)}, '')"
    return s


def labels_chain():
    s = (f"lower(translate(regexp_replace(_fold(regexp_replace(t, '[{INVISIBLE}]', '', 'g')), "
         f"'[{WS}]', ' ', 'g'), '。｡﹒﹫', '...@'))")
    for lab in EMAIL_LABELS:
        s = f"replace({s}, {q(lab)}, ' ')"
    return s


def main():
    with open(OUT, encoding="utf-8") as f:
        score, t2s = keep_blocks(f.read())
    subs = {
        "WS": WS, "INVISIBLE": INVISIBLE, "INVISIBLE_PERSON": INVISIBLE_PERSON, "HAN": HAN,
        "ALNUM": ALNUM, "NONASCII_NONWS": NONASCII_NONWS, "DASH": DASH, "SEP": SEP, "FORMS": FORMS,
        "SCORE": score, "T2S": t2s,
        "TW_RE": "|".join(tw for tw, _ in TAIWAN_WORDS), "TW_CHAIN": tw_chain(),
        "LEGAL_CHAIN": legal_chain(), "LABELS": labels_chain(),
        "SURNAMES": q(SURNAMES), "COMPOUND": "|".join(COMPOUND_SURNAMES),
        "LBW_ALT": "|".join(LATIN_BUSINESS_WORDS), "ENGLISH_ADDRESS_ALT": "|".join(ENGLISH_ADDRESS), "LATIN_SURNAMES_ALT": "|".join(LATIN_SURNAMES), 
        "BUSINESS_WORDS": "|".join(BUSINESS_WORDS), "ADDRESS_SUFFIXES": "|".join(ADDRESS_SUFFIXES),
        "BUSINESS_ENDINGS": q(BUSINESS_ENDINGS),
        "SURNAME_GIVEN": f"(?:(?:{'|'.join(COMPOUND_SURNAMES)})[{HAN}]{{0,2}}|[{SURNAMES}][{HAN}]{{0,2}})",
        "PRIVATE_PERSON": sql_list(PRIVATE_PERSON), "PRIVATE_PERSON_ALT": "|".join(PRIVATE_PERSON),
        "PLACE": PLACE_DIVISIONS, "FILLER_AT_PUBLIC": sql_list(FILLER_AT_PUBLIC),
        "JUNK_NAMES": sql_list(JUNK_NAMES), "NICKNAME_PREFIXES": sql_list(NICKNAME_PREFIXES),
        "BARE_LATIN": sql_list(BARE_LATIN), "BARE_BRANCH": "|".join(BARE_BRANCH),
        "PUBLIC_MAIL_DOMAINS": sql_list(PUBLIC_MAIL_DOMAINS),
    }
    text = re.sub(r"\{([A-Z0-9_]+)\}", lambda m: subs[m.group(1)] if m.group(1) in subs else m.group(0),
                  TEMPLATE)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
