//! The seeded population the departments report on: persons and companies, with
//! valid identifiers drawn from the division table. All names are synthetic.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use rand::RngExt;
use rand::rngs::StdRng;

use super::record::{add_days, ymd};
use crate::formats::{DivisionTable, resident_id, uscc};

/// What kind of population member a field refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Person,
    Company,
}

impl Kind {
    pub fn index(self) -> usize {
        match self {
            Kind::Person => 0,
            Kind::Company => 1,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Person {
    pub id: String,
    pub name: String,
    /// Always matches the parity of the ID's 17th digit (odd for men).
    pub male: bool,
    pub birth: NaiveDate,
    pub division: String,
    pub address: String,
    pub phone: Option<String>,
    /// Seeds the person's stable attributes that the population does not store.
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Company {
    pub uscc: String,
    pub name: String,
    /// The legal representative: a person index.
    pub rep: usize,
    pub capital: Option<f64>,
    pub established: NaiveDate,
    pub tax_lag_days: i64,
    pub division: String,
    pub seed: u64,
}

pub(super) struct Population {
    pub persons: Vec<Person>,
    pub person_ids: HashSet<String>,
    pub companies: Vec<Company>,
    /// Persons old enough to be legal representatives or employees.
    pub adults: Vec<usize>,
    /// Women of child-bearing age (fallback: all women).
    pub mothers: Vec<usize>,
    /// Adult men: a wrong mother ID for the `mother is female` rule.
    pub men: Vec<usize>,
    pub counties: Vec<String>,
    pub county_set: HashSet<String>,
}

impl Population {
    /// At least two persons (a woman and a man) and one company, whatever was asked.
    pub fn new(
        rng: &mut StdRng,
        persons: usize,
        companies: usize,
        divisions: &DivisionTable,
    ) -> Self {
        let mut counties = divisions.county_codes();
        counties.retain(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()));
        if counties.is_empty() {
            // An empty table would make every ID invalid anyway; keep generating.
            counties.push("110101".to_string());
        }
        let county_set = counties.iter().cloned().collect();
        let mut person_ids = HashSet::with_capacity(persons.max(2));
        let persons: Vec<Person> = (0..persons.max(2))
            .map(|i| make_person(rng, i, &counties, &mut person_ids))
            .collect();
        let idx = |p: &dyn Fn(&Person) -> bool| -> Vec<usize> {
            (0..persons.len()).filter(|&i| p(&persons[i])).collect()
        };
        let or_all = |v: Vec<usize>, all: Vec<usize>| if v.is_empty() { all } else { v };
        let adults = or_all(
            idx(&|p| p.birth.year() <= 2002),
            (0..persons.len()).collect(),
        );
        let mothers = or_all(
            idx(&|p| !p.male && (1975..=2005).contains(&p.birth.year())),
            idx(&|p| !p.male),
        );
        let men = or_all(idx(&|p| p.male && p.birth.year() <= 2002), idx(&|p| p.male));
        let mut usccs = HashSet::with_capacity(companies.max(1));
        let companies = (0..companies.max(1))
            .map(|_| make_company(rng, &counties, &adults, &mut usccs))
            .collect();
        Population {
            persons,
            person_ids,
            companies,
            adults,
            mothers,
            men,
            counties,
            county_set,
        }
    }

    /// The member's identifier: resident ID number or unified social credit code.
    pub fn key(&self, kind: Kind, m: usize) -> &str {
        match kind {
            Kind::Person => &self.persons[m].id,
            Kind::Company => &self.companies[m].uscc,
        }
    }

    pub fn name(&self, kind: Kind, m: usize) -> &str {
        match kind {
            Kind::Person => &self.persons[m].name,
            Kind::Company => &self.companies[m].name,
        }
    }

    pub fn division(&self, kind: Kind, m: usize) -> &str {
        match kind {
            Kind::Person => &self.persons[m].division,
            Kind::Company => &self.companies[m].division,
        }
    }

    pub fn seed(&self, kind: Kind, m: usize) -> u64 {
        match kind {
            Kind::Person => self.persons[m].seed,
            Kind::Company => self.companies[m].seed,
        }
    }
}

fn make_person(
    rng: &mut StdRng,
    i: usize,
    counties: &[String],
    ids: &mut HashSet<String>,
) -> Person {
    // The first two are a woman (a mother) and a man (for the wrong-mother defect).
    let male = match i {
        0 => false,
        1 => true,
        _ => rng.random_bool(0.5),
    };
    let (id, birth, county) = loop {
        let county = pick(rng, counties).clone();
        let birth = random_date(rng, ymd(1940, 1, 1), ymd(2010, 12, 31));
        // The 17th digit is odd for men, even for women.
        let seq = rng.random_range(0..500u32) * 2 + u32::from(male);
        if let Some(id) = resident_id_of(&county, birth, seq)
            && ids.insert(id.clone())
        {
            break (id, birth, county);
        }
    };
    let address = format!(
        "{}{}{}号{}栋{}室",
        province(&county).0,
        pick(rng, STREETS),
        rng.random_range(1..=999),
        rng.random_range(1..=30),
        rng.random_range(101..=2899)
    );
    let phone = rng.random_ratio(85, 100).then(|| mobile(rng));
    Person {
        id,
        name: person_name(rng),
        male,
        birth,
        division: county,
        address,
        phone,
        seed: rng.random(),
    }
}

/// A resident ID number with its check character (`seq` is the 3-digit sequence).
pub(super) fn resident_id_of(county: &str, birth: NaiveDate, seq: u32) -> Option<String> {
    let first17 = format!(
        "{county}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        birth.month(),
        birth.day()
    );
    let check = resident_id::check_char(&first17)?;
    Some(format!("{first17}{check}"))
}

fn make_company(
    rng: &mut StdRng,
    counties: &[String],
    adults: &[usize],
    usccs: &mut HashSet<String>,
) -> Company {
    let alphabet = uscc::ALPHABET.as_bytes();
    let (code, county) = loop {
        let county = pick(rng, counties).clone();
        // 9: registered by market regulation; 1: an enterprise.
        let mut first17 = format!("91{county}");
        for _ in 0..9 {
            first17.push(char::from(*pick(rng, alphabet)));
        }
        let Some(check) = uscc::check_char(&first17) else {
            continue;
        };
        let code = format!("{first17}{check}");
        if usccs.insert(code.clone()) {
            break (code, county);
        }
    };
    let name = company_name(rng, province(&county).1);
    let capital = rng
        .random_ratio(85, 100)
        .then(|| f64::from(rng.random_range(1..=500_000u32)) / 100.0);
    Company {
        uscc: code,
        name,
        rep: *pick(rng, adults),
        capital,
        established: random_date(rng, ymd(1995, 1, 1), ymd(2024, 12, 31)),
        tax_lag_days: rng.random_range(0..=60),
        division: county,
        seed: rng.random(),
    }
}

fn company_name(rng: &mut StdRng, short: &str) -> String {
    let trade = format!("{}{}", pick(rng, TRADE), pick(rng, TRADE));
    let industry = pick(rng, INDUSTRIES);
    match weighted(
        rng,
        &[(0, 60), (1, 12), (2, 10), (3, 5), (4, 5), (5, 4), (6, 4)],
    ) {
        0 => format!("{short}{trade}{industry}有限公司"),
        // "字号（地区）行业有限公司" is a common pattern; its full-width brackets give
        // the NFKC-equivalent variants something to work on.
        1 => format!("{trade}（{short}）{industry}有限公司"),
        2 => format!("{short}{trade}{industry}股份有限公司"),
        3 => format!("{short}{trade}实业总公司"),
        4 => format!("{short}{trade}{industry}服务部"),
        5 => format!("{short}{trade}投资合伙企业（有限合伙）"),
        _ => format!("{short}{trade}种植专业合作社"),
    }
}

pub(super) fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

pub(super) fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut r = rng.random_range(0..total.max(1));
    for &(v, w) in items {
        if r < w {
            return v;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

pub(super) fn random_date(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    add_days(from, rng.random_range(0..=span))
}

pub(super) fn person_name(rng: &mut StdRng) -> String {
    let mut s = String::with_capacity(12);
    if rng.random_ratio(1, 100) {
        s.push_str(pick::<&str>(rng, COMPOUND_SURNAMES));
    } else {
        s.push_str(pick::<&str>(rng, SURNAMES));
    }
    s.push_str(pick::<&str>(rng, GIVEN));
    if rng.random_ratio(2, 3) {
        s.push_str(pick::<&str>(rng, GIVEN));
    }
    s
}

/// A plausible given-name character other than `not`: a typo in a name.
pub(super) fn other_given_char(rng: &mut StdRng, not: char) -> char {
    loop {
        let c = pick(rng, GIVEN).chars().next().unwrap_or('明');
        if c != not {
            return c;
        }
    }
}

pub(super) fn mobile(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        rng.random_range(3..=9),
        rng.random_range(0..1_000_000_000u32)
    )
}

pub(super) fn hospital(rng: &mut StdRng, division: &str) -> String {
    format!("{}{}", province(division).0, pick(rng, HOSPITAL_KINDS))
}

/// (full name, short name) of the province of a division code.
fn province(code: &str) -> (&'static str, &'static str) {
    let prefix = code.get(..2).unwrap_or("");
    PROVINCES
        .iter()
        .find(|p| p.0 == prefix)
        .map(|p| (p.1, p.2))
        .unwrap_or(("", ""))
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
];
const COMPOUND_SURNAMES: &[&str] = &["欧阳", "司马", "上官", "诸葛", "东方", "皇甫"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "文", "辉", "建", "国", "红", "梅",
    "林", "斌", "宇", "浩", "鹏", "鑫", "波", "宁", "晨", "欣", "怡", "佳", "雪", "琳", "婷", "颖",
    "海", "峰", "志", "新", "丹", "萍", "云", "飞", "亮", "成", "嘉", "俊", "子", "涵", "轩", "悦",
    "思", "雨", "博", "睿", "晓", "春", "秋", "冬", "青", "松", "德", "安", "荣", "永", "昊", "然",
];
const TRADE: &[&str] = &[
    "华", "信", "达", "恒", "泰", "盛", "鑫", "宏", "源", "瑞", "德", "隆", "安", "兴", "博", "创",
    "立", "新", "远", "通", "嘉", "万", "金", "汇", "联", "中", "天", "海", "科", "宇", "晟", "锦",
];
const INDUSTRIES: &[&str] = &[
    "科技",
    "信息技术",
    "贸易",
    "建筑工程",
    "物流",
    "食品",
    "电子",
    "医药",
    "企业管理咨询",
    "文化传媒",
    "餐饮管理",
    "机械设备",
    "新材料",
    "环保科技",
    "网络科技",
    "供应链管理",
    "物业管理",
    "教育科技",
];
const STREETS: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "中山路",
    "和平路",
    "新华路",
    "文化路",
    "胜利路",
    "朝阳路",
    "长江路",
    "黄河路",
    "青年路",
    "光明路",
    "幸福路",
    "学府路",
    "工业大道",
    "滨江路",
    "迎宾大道",
];
const HOSPITAL_KINDS: &[&str] = &[
    "第一人民医院",
    "第二人民医院",
    "第三人民医院",
    "妇幼保健院",
    "中医院",
    "妇产医院",
    "中心医院",
    "人民医院",
];

/// Province prefix → (full name, short name), for addresses and company names: the
/// division table carries codes only (`DivisionTable` keeps no names).
const PROVINCES: &[(&str, &str, &str)] = &[
    ("11", "北京市", "北京"),
    ("12", "天津市", "天津"),
    ("13", "河北省", "河北"),
    ("14", "山西省", "山西"),
    ("15", "内蒙古自治区", "内蒙古"),
    ("21", "辽宁省", "辽宁"),
    ("22", "吉林省", "吉林"),
    ("23", "黑龙江省", "黑龙江"),
    ("31", "上海市", "上海"),
    ("32", "江苏省", "江苏"),
    ("33", "浙江省", "浙江"),
    ("34", "安徽省", "安徽"),
    ("35", "福建省", "福建"),
    ("36", "江西省", "江西"),
    ("37", "山东省", "山东"),
    ("41", "河南省", "河南"),
    ("42", "湖北省", "湖北"),
    ("43", "湖南省", "湖南"),
    ("44", "广东省", "广东"),
    ("45", "广西壮族自治区", "广西"),
    ("46", "海南省", "海南"),
    ("50", "重庆市", "重庆"),
    ("51", "四川省", "四川"),
    ("52", "贵州省", "贵州"),
    ("53", "云南省", "云南"),
    ("54", "西藏自治区", "西藏"),
    ("61", "陕西省", "陕西"),
    ("62", "甘肃省", "甘肃"),
    ("63", "青海省", "青海"),
    ("64", "宁夏回族自治区", "宁夏"),
    ("65", "新疆维吾尔自治区", "新疆"),
    ("81", "香港特别行政区", "香港"),
    ("82", "澳门特别行政区", "澳门"),
];
