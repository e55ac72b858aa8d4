//! Synthetic traffic of the six departments on the exchange bus (see the exchange catalog).
//!
//! A seeded population of persons and companies is published by the departments with a
//! configurable share of defective records. Everything is derived from the seeded RNG and
//! the timestamps the caller passes in, so one seed and config always give the same bytes.
//!
//! - Mix: household 25 %, business 15 %, social insurance 20 %, subsistence allowance 10 %,
//!   taxpayer 15 %, birth certificate 15 %. Before the first record that refers to a person
//!   or company, its authoritative record (household / business registration) is sent, so
//!   cross-source checks find a value; later draws of that topic are skipped to keep the mix.
//! - `record_id` is `<prefix>-<9-digit counter>` per dataset (`hh`, `sa`, `si`, `br`, `tr`,
//!   `bc`), never reused except by an injected duplicate. Key: the record's entity key
//!   (`id_number`, `uscc`, `certificate_no`), else `record_id`, else none.
//! - A defective record carries exactly one [`DefectKind`], drawn uniformly from the kinds
//!   applicable to its dataset; [`Simulator::last_defect`] reports it. A duplicate is a
//!   byte-identical re-send of a recent defect-free record of the same topic that is still
//!   fresh. About 1 % of clean records spell a name with extra white space or half-width
//!   brackets: equal after NFKC and trimming, so not a defect.
//! - Clean records assume a caller clock after 2010 (persons are born 1940-2010).

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::formats::{DivisionTable, resident_id, uscc};

/// One message as a department would publish it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMessage {
    pub topic: String,
    pub key: Option<String>,
    pub timestamp_ms: i64,
    pub payload: Vec<u8>,
}

impl SimMessage {
    /// The message as the engine receives it (partition and offset do not matter to it).
    pub fn as_message(&self) -> crate::model::Message<'_> {
        crate::model::Message {
            topic: &self.topic,
            partition: 0,
            offset: 0,
            timestamp_ms: self.timestamp_ms,
            key: self.key.as_deref().map(str::as_bytes),
            payload: Some(&self.payload),
        }
    }
}

/// The engine benchmarks' workload: `records` messages of the default mix of
/// the six datasets (about 5 % defective), one every 50 ms from
/// 2026-06-15T10:00:00+08:00, drawn from the division table in `checks_dir`.
pub fn benchmark_mix(
    checks_dir: &std::path::Path,
    records: usize,
) -> Result<Vec<SimMessage>, String> {
    let divisions = divisions(checks_dir)?;
    Ok(Simulator::new(SimConfig::default(), &divisions).batch(records, 1_781_488_800_000, 50))
}

/// The division table of a checks folder, which the simulator draws its
/// addresses and ID numbers from.
pub fn divisions(checks_dir: &std::path::Path) -> Result<DivisionTable, String> {
    let path = checks_dir.join("reference/gb2260-divisions.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    DivisionTable::from_csv(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// Probability in `[0,1]` that a record of this department carries a defect; keys are department names
    /// (public_security, civil_affairs, hrss, market_regulation, tax, health).
    /// A department that is not listed publishes no defects; the first entry of a name wins.
    pub defect_rates: Vec<(String, f64)>,
    /// Size of the simulated population of persons and of companies (at least 2 persons,
    /// one of each gender, and 1 company are always made).
    pub persons: usize,
    pub companies: usize,
}

impl SimConfig {
    /// Different per department so that the departments' scores differ visibly.
    pub fn default_rates() -> Vec<(String, f64)> {
        [
            ("public_security", 0.02),
            ("civil_affairs", 0.08),
            ("hrss", 0.06),
            ("market_regulation", 0.03),
            ("tax", 0.05),
            ("health", 0.10),
        ]
        .into_iter()
        .map(|(d, r)| (d.to_string(), r))
        .collect()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            defect_rates: Self::default_rates(),
            persons: 5000,
            companies: 1000,
        }
    }
}

/// The kinds of defect the simulator injects; a defective record carries exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefectKind {
    MissingField,
    NullField,
    BlankString,
    BadCheckChar,
    ImpossibleDate,
    UnknownDivision,
    OutOfEnumeration,
    NumberOutOfRange,
    WrongJsonType,
    StringTooLong,
    BadPhone,
    WithinRecordRule,
    CrossSource,
    Stale,
    Future,
    Duplicate,
    Malformed,
}

impl DefectKind {
    pub const ALL: [DefectKind; 17] = [
        DefectKind::MissingField,
        DefectKind::NullField,
        DefectKind::BlankString,
        DefectKind::BadCheckChar,
        DefectKind::ImpossibleDate,
        DefectKind::UnknownDivision,
        DefectKind::OutOfEnumeration,
        DefectKind::NumberOutOfRange,
        DefectKind::WrongJsonType,
        DefectKind::StringTooLong,
        DefectKind::BadPhone,
        DefectKind::WithinRecordRule,
        DefectKind::CrossSource,
        DefectKind::Stale,
        DefectKind::Future,
        DefectKind::Duplicate,
        DefectKind::Malformed,
    ];

    /// The quality dimension that this defect makes fail (a malformed message is a format failure).
    pub fn dimension(self) -> &'static str {
        use DefectKind::*;
        match self {
            MissingField | NullField | BlankString => "completeness",
            BadCheckChar | ImpossibleDate | UnknownDivision | OutOfEnumeration
            | NumberOutOfRange | WrongJsonType | StringTooLong | BadPhone | Malformed => "format",
            WithinRecordRule | CrossSource => "consistency",
            Stale | Future => "freshness",
            Duplicate => "uniqueness",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Data dictionary, transcribed from the exchange catalog: it drives generation and defect
// targeting so that defects always hit fields of the right type.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    ResidentId,
    Uscc,
    Division,
    Text {
        max: usize,
    },
    Gender,
    Ethnicity,
    Choice(&'static [&'static str]),
    Int {
        min: i64,
        max: i64,
    },
    Num {
        min: f64,
        min_inclusive: bool,
        max: Option<f64>,
    },
    Month,
    Date,
    DateTime,
    Mobile,
    CertNo,
    RecordId,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    required: bool,
    ty: Ty,
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        required: true,
        ty,
    }
}
const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        required: false,
        ty,
    }
}

#[derive(Debug)]
struct Dataset {
    department: &'static str,
    name: &'static str,
    /// Prefix of the record_id.
    prefix: &'static str,
    key: &'static str,
    max_age_ms: i64,
    /// Share of the message mix, in percent.
    weight: u32,
    fields: &'static [Field],
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Departments publish local time, China Standard Time.
const CST_MS: i64 = 8 * HOUR;

const STATUS: &[&str] = &["active", "suspended", "terminated"];
const INSURANCE_TYPES: &[&str] = &["110", "210", "310", "410", "510"];
const ENTITY_TYPES: &[&str] = &["1100", "1200", "2100", "4100", "4500", "9100"];
const ENTITY_STATUS: &[&str] = &["active", "revoked", "cancelled"];
const TAXPAYER_STATUS: &[&str] = &["normal", "suspended", "deregistered"];
const NAME50: Ty = Ty::Text { max: 50 };
const NAME100: Ty = Ty::Text { max: 100 };

const COMMON: &[Field] = &[
    req("record_id", Ty::RecordId),
    req("updated_at", Ty::DateTime),
];

const HH: usize = 0;
const CIVIL: usize = 1;
const HRSS: usize = 2;
const BIZ: usize = 3;
const TAX: usize = 4;
const BIRTH: usize = 5;

const DATASETS: [Dataset; 6] = [
    Dataset {
        department: "public_security",
        name: "household_registration",
        prefix: "hh",
        key: "id_number",
        max_age_ms: 24 * HOUR,
        weight: 25,
        fields: &[
            req("id_number", Ty::ResidentId),
            req("name", NAME50),
            req("gender", Ty::Gender),
            req("birth_date", Ty::Date),
            req("ethnicity", Ty::Ethnicity),
            req("division_code", Ty::Division),
            opt("address", Ty::Text { max: 200 }),
            opt("phone", Ty::Mobile),
        ],
    },
    Dataset {
        department: "civil_affairs",
        name: "subsistence_allowance",
        prefix: "sa",
        key: "id_number",
        max_age_ms: 72 * HOUR,
        weight: 10,
        fields: &[
            req("id_number", Ty::ResidentId),
            req("name", NAME50),
            req("gender", Ty::Gender),
            req("division_code", Ty::Division),
            req("household_size", Ty::Int { min: 1, max: 20 }),
            req(
                "monthly_amount",
                Ty::Num {
                    min: 0.0,
                    min_inclusive: true,
                    max: Some(100_000.0),
                },
            ),
            req("start_month", Ty::Month),
            req("status", Ty::Choice(STATUS)),
        ],
    },
    Dataset {
        department: "hrss",
        name: "social_insurance",
        prefix: "si",
        key: "id_number",
        max_age_ms: 48 * HOUR,
        weight: 20,
        fields: &[
            req("id_number", Ty::ResidentId),
            req("name", NAME50),
            req("employer_uscc", Ty::Uscc),
            req("insurance_type", Ty::Choice(INSURANCE_TYPES)),
            req(
                "monthly_base",
                Ty::Num {
                    min: 0.0,
                    min_inclusive: false,
                    max: Some(1_000_000.0),
                },
            ),
            req("start_month", Ty::Month),
            req("status", Ty::Choice(STATUS)),
        ],
    },
    Dataset {
        department: "market_regulation",
        name: "business_registration",
        prefix: "br",
        key: "uscc",
        max_age_ms: 24 * HOUR,
        weight: 15,
        fields: &[
            req("uscc", Ty::Uscc),
            req("entity_name", NAME100),
            req("entity_type", Ty::Choice(ENTITY_TYPES)),
            req("legal_rep_id_number", Ty::ResidentId),
            req("legal_rep_name", NAME50),
            opt(
                "registered_capital",
                Ty::Num {
                    min: 0.0,
                    min_inclusive: true,
                    max: None,
                },
            ),
            req("establishment_date", Ty::Date),
            req("division_code", Ty::Division),
            req("status", Ty::Choice(ENTITY_STATUS)),
        ],
    },
    Dataset {
        department: "tax",
        name: "taxpayer_registration",
        prefix: "tr",
        key: "uscc",
        max_age_ms: 48 * HOUR,
        weight: 15,
        fields: &[
            req("uscc", Ty::Uscc),
            req("taxpayer_name", NAME100),
            req("taxpayer_status", Ty::Choice(TAXPAYER_STATUS)),
            req("registration_date", Ty::Date),
            req("division_code", Ty::Division),
        ],
    },
    Dataset {
        department: "health",
        name: "birth_certificate",
        prefix: "bc",
        key: "certificate_no",
        max_age_ms: 72 * HOUR,
        weight: 15,
        fields: &[
            req("certificate_no", Ty::CertNo),
            opt("newborn_name", NAME50),
            req("newborn_gender", Ty::Gender),
            req("birth_datetime", Ty::DateTime),
            req("mother_id_number", Ty::ResidentId),
            req("mother_name", NAME50),
            req("hospital_name", NAME100),
            req("division_code", Ty::Division),
        ],
    },
];

/// Fields that carry a person's or company's name: the targets of harmless spelling variants.
const NAME_FIELDS: &[&str] = &[
    "name",
    "entity_name",
    "legal_rep_name",
    "taxpayer_name",
    "mother_name",
];

fn topic_of(ds: usize) -> String {
    format!("exchange.{}.{}", DATASETS[ds].department, DATASETS[ds].name)
}

fn is_numeric_ty(ty: Ty) -> bool {
    matches!(ty, Ty::Int { .. } | Ty::Num { .. })
}

/// Whether `kind` can be injected into a record of dataset `ds`.
fn applicable(ds: usize, kind: DefectKind) -> bool {
    use DefectKind::*;
    let has = |p: fn(Ty) -> bool| DATASETS[ds].fields.iter().any(|f| p(f.ty));
    match kind {
        BadCheckChar => has(|t| matches!(t, Ty::ResidentId | Ty::Uscc)),
        ImpossibleDate => has(|t| matches!(t, Ty::Date | Ty::Month | Ty::DateTime)),
        UnknownDivision => has(|t| t == Ty::Division),
        OutOfEnumeration => has(|t| matches!(t, Ty::Gender | Ty::Ethnicity | Ty::Choice(_))),
        NumberOutOfRange => has(is_numeric_ty),
        StringTooLong => has(|t| matches!(t, Ty::Text { .. })),
        BadPhone => has(|t| t == Ty::Mobile),
        // hrss and tax have no within-record rule in the catalog.
        WithinRecordRule => matches!(ds, HH | CIVIL | BIZ | BIRTH),
        // The authoritative source of persons is never charged for a cross-source conflict.
        CrossSource => ds != HH,
        MissingField | NullField | BlankString | WrongJsonType | Stale | Future | Duplicate
        | Malformed => true,
    }
}

// ---------------------------------------------------------------------------------------
// Synthetic name material (no real persons).

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

/// Province prefix → (full name, short name), for addresses and company names.
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

fn province(code: &str) -> (&'static str, &'static str) {
    let prefix = code.get(..2).unwrap_or("");
    PROVINCES
        .iter()
        .find(|p| p.0 == prefix)
        .map(|p| (p.1, p.2))
        .unwrap_or(("", ""))
}

const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const ID_CHECK_ALPHABET: &[u8] = b"0123456789X";

// ---------------------------------------------------------------------------------------
// Population.

#[derive(Debug, Clone)]
struct Person {
    id: String,
    name: String,
    /// 1 male, 2 female; always matches the parity of the ID's 17th digit.
    gender: u8,
    birth: NaiveDate,
    ethnicity: String,
    division: String,
    address: String,
    phone: Option<String>,
}

#[derive(Debug, Clone)]
struct Company {
    uscc: String,
    name: String,
    entity_type: &'static str,
    rep: usize,
    capital: Option<f64>,
    established: NaiveDate,
    tax_lag_days: i64,
    division: String,
    status: &'static str,
    tax_status: &'static str,
}

/// What a message will be about; resolved into a record when it is emitted.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Household(usize),
    Allowance(usize),
    Insurance(usize, usize),
    Business(usize),
    Taxpayer(usize),
    Birth(usize),
}

impl Plan {
    fn dataset(self) -> usize {
        match self {
            Plan::Household(_) => HH,
            Plan::Allowance(_) => CIVIL,
            Plan::Insurance(..) => HRSS,
            Plan::Business(_) => BIZ,
            Plan::Taxpayer(_) => TAX,
            Plan::Birth(_) => BIRTH,
        }
    }
}

/// A recently sent defect-free record, kept to be re-sent byte for byte as a duplicate.
#[derive(Debug, Clone)]
struct Sent {
    updated_ms: i64,
    key: Option<String>,
    payload: Vec<u8>,
}

impl Sent {
    fn empty() -> Self {
        Sent {
            updated_ms: 0,
            key: None,
            payload: Vec::new(),
        }
    }
}

const RECENT_CAP: usize = 32;
/// Share of defect-free records whose name is re-spelled in an NFKC/trim-equivalent way.
const VARIANT_RATE: f64 = 0.01;

// ---------------------------------------------------------------------------------------
// A record under construction: ordered fields, so serialization is deterministic.

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    Int(i64),
    Num(f64),
    Null,
}

#[derive(Debug, Default)]
struct Record(Vec<(&'static str, Val)>);

impl Record {
    fn push(&mut self, name: &'static str, v: Val) {
        self.0.push((name, v));
    }
    fn push_str(&mut self, name: &'static str, s: impl Into<String>) {
        self.0.push((name, Val::Str(s.into())));
    }
    fn get(&self, name: &str) -> Option<&Val> {
        self.0.iter().find(|f| f.0 == name).map(|f| &f.1)
    }
    fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }
    fn set(&mut self, name: &'static str, v: Val) {
        match self.0.iter_mut().find(|f| f.0 == name) {
            Some(f) => f.1 = v,
            None => self.0.push((name, v)),
        }
    }
    fn remove(&mut self, name: &str) {
        self.0.retain(|f| f.0 != name);
    }
    fn to_json(&self) -> String {
        let mut out = String::with_capacity(384);
        out.push('{');
        for (i, (name, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Field names are plain ASCII identifiers: no escaping needed.
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            match v {
                Val::Str(s) => write_json_str(&mut out, s),
                Val::Int(n) => {
                    if *n < 0 {
                        out.push('-');
                    }
                    push_digits(&mut out, n.unsigned_abs(), 1);
                }
                Val::Num(x) => {
                    let _ = write!(out, "{x}");
                }
                Val::Null => out.push_str("null"),
            }
        }
        out.push('}');
        out
    }
}

/// JSON string literal; copies runs that need no escaping in one go (this is the hot path).
fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Decimal digits of `n`, zero-padded to `width` (formatting machinery is too slow here).
fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 || buf.len() - i < width {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

// ---------------------------------------------------------------------------------------
// Time helpers; all local times are +08:00.

fn local_naive(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms.saturating_add(CST_MS))
        .unwrap_or_default()
        .naive_utc()
}

fn local_date(ms: i64) -> NaiveDate {
    local_naive(ms).date()
}

fn push_date(out: &mut String, d: NaiveDate) {
    push_digits(out, u64::try_from(d.year()).unwrap_or(0), 4);
    out.push('-');
    push_digits(out, u64::from(d.month()), 2);
    out.push('-');
    push_digits(out, u64::from(d.day()), 2);
}

fn fmt_datetime(ms: i64, millis: bool) -> String {
    let t = local_naive(ms);
    let mut s = String::with_capacity(29);
    push_date(&mut s, t.date());
    for (sep, v) in [('T', t.hour()), (':', t.minute()), (':', t.second())] {
        s.push(sep);
        push_digits(&mut s, u64::from(v), 2);
    }
    if millis {
        s.push('.');
        push_digits(&mut s, u64::from(t.nanosecond() / 1_000_000), 3);
    }
    s.push_str("+08:00");
    s
}

fn fmt_date(d: NaiveDate) -> String {
    let mut s = String::with_capacity(10);
    push_date(&mut s, d);
    s
}

fn add_days(d: NaiveDate, days: i64) -> NaiveDate {
    d.checked_add_signed(TimeDelta::days(days)).unwrap_or(d)
}

/// Months as `year * 12 + month0`, so that ranges of months are plain integer ranges.
fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn fmt_month(idx: i64) -> String {
    let mut s = String::with_capacity(7);
    push_digits(&mut s, u64::try_from(idx.div_euclid(12)).unwrap_or(0), 4);
    s.push('-');
    push_digits(&mut s, (idx.rem_euclid(12) + 1) as u64, 2);
    s
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut r = rng.random_range(0..total);
    for &(v, w) in items {
        if r < w {
            return v;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

fn random_date(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    add_days(from, rng.random_range(0..=span))
}

fn person_name(rng: &mut StdRng) -> String {
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

fn mobile(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        rng.random_range(3..=9),
        rng.random_range(0..1_000_000_000u32)
    )
}

/// Normalization the monitor applies before comparing names (enough for the variants made here).
fn loosely_equal(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                0x3000 => ' ',
                _ => c,
            })
            .collect::<String>()
            .trim()
            .to_string()
    };
    norm(a) == norm(b)
}

/// Plays the six departments. See the module documentation.
pub struct Simulator {
    rng: StdRng,
    rates: [f64; 6],
    persons: Vec<Person>,
    person_ids: HashSet<String>,
    companies: Vec<Company>,
    /// Persons old enough to be legal representatives.
    adults: Vec<usize>,
    /// Women of child-bearing age (fallback: all women).
    mothers: Vec<usize>,
    /// Adult men: a wrong mother ID for the within-record defect of birth certificates.
    men: Vec<usize>,
    counties: Vec<String>,
    county_set: HashSet<String>,
    /// Whether an authoritative record of the entity is out (or queued), so that referencing
    /// records find an authoritative value.
    person_published: Vec<bool>,
    company_published: Vec<bool>,
    topics: Vec<String>,
    pending: VecDeque<Plan>,
    /// Authoritative records queued ahead of the mix, to be skipped in later draws so that
    /// the long-run topic mix stays as configured.
    debt: [u32; 6],
    counters: [u64; 6],
    recent: [VecDeque<Sent>; 6],
    applicable: [Vec<DefectKind>; 6],
    last_defect: Option<DefectKind>,
}

impl Simulator {
    pub fn new(config: SimConfig, divisions: &DivisionTable) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut counties = divisions.county_codes();
        counties.retain(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()));
        if counties.is_empty() {
            // An empty table would make every ID invalid anyway; keep generating.
            counties.push("110101".to_string());
        }
        let county_set: HashSet<String> = counties.iter().cloned().collect();

        let mut rates = [0.0; 6];
        for (i, ds) in DATASETS.iter().enumerate() {
            let r = config
                .defect_rates
                .iter()
                .find(|(d, _)| d == ds.department)
                .map_or(0.0, |(_, r)| *r);
            rates[i] = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        }

        // Persons: at least one woman (a mother) and one man (for the wrong-mother defect).
        let n_persons = config.persons.max(2);
        let mut persons = Vec::with_capacity(n_persons);
        let mut person_ids = HashSet::with_capacity(n_persons);
        let (born_from, born_to) = (ymd(1940, 1, 1), ymd(2010, 12, 31));
        for i in 0..n_persons {
            let gender: u8 = match i {
                0 => 2,
                1 => 1,
                _ => rng.random_range(1..=2),
            };
            let (id, birth, county) = loop {
                let county = pick(&mut rng, &counties).clone();
                let birth = random_date(&mut rng, born_from, born_to);
                // The 17th digit is odd for men, even for women.
                let seq = rng.random_range(0..500u32) * 2 + u32::from(gender == 1);
                let first17 = format!(
                    "{county}{:04}{:02}{:02}{seq:03}",
                    birth.year(),
                    birth.month(),
                    birth.day()
                );
                let Some(check) = resident_id::check_char(&first17) else {
                    continue;
                };
                let id = format!("{first17}{check}");
                if person_ids.insert(id.clone()) {
                    break (id, birth, county);
                }
            };
            let ethnicity = if rng.random_ratio(92, 100) {
                "01".to_string()
            } else {
                format!("{:02}", rng.random_range(2..=56))
            };
            let address = format!(
                "{}{}{}号{}栋{}室",
                province(&county).0,
                pick(&mut rng, STREETS),
                rng.random_range(1..=999),
                rng.random_range(1..=30),
                rng.random_range(101..=2899)
            );
            let phone = rng.random_ratio(85, 100).then(|| mobile(&mut rng));
            persons.push(Person {
                id,
                name: person_name(&mut rng),
                gender,
                birth,
                ethnicity,
                division: county,
                address,
                phone,
            });
        }
        let idx = |p: &dyn Fn(&Person) -> bool| -> Vec<usize> {
            (0..persons.len()).filter(|&i| p(&persons[i])).collect()
        };
        let mut adults = idx(&|p| p.birth.year() <= 2002);
        if adults.is_empty() {
            adults = (0..persons.len()).collect();
        }
        let mut mothers = idx(&|p| p.gender == 2 && (1975..=2005).contains(&p.birth.year()));
        if mothers.is_empty() {
            mothers = idx(&|p| p.gender == 2);
        }
        let mut men = idx(&|p| p.gender == 1 && p.birth.year() <= 2002);
        if men.is_empty() {
            men = idx(&|p| p.gender == 1);
        }

        let n_companies = config.companies.max(1);
        let mut companies = Vec::with_capacity(n_companies);
        let mut usccs = HashSet::with_capacity(n_companies);
        for _ in 0..n_companies {
            let (code, county) = loop {
                let county = pick(&mut rng, &counties).clone();
                let mut first17 = format!("91{county}");
                for _ in 0..9 {
                    first17.push(char::from(*pick(&mut rng, USCC_ALPHABET)));
                }
                let Some(check) = uscc::check_char(&first17) else {
                    continue;
                };
                let code = format!("{first17}{check}");
                if usccs.insert(code.clone()) {
                    break (code, county);
                }
            };
            let entity_type = weighted(
                &mut rng,
                &[
                    ("1100", 70),
                    ("1200", 10),
                    ("2100", 5),
                    ("4100", 5),
                    ("4500", 5),
                    ("9100", 5),
                ],
            );
            let short = province(&county).1;
            let trade = format!("{}{}", pick(&mut rng, TRADE), pick(&mut rng, TRADE));
            let industry = pick(&mut rng, INDUSTRIES);
            let name = match entity_type {
                // "字号（地区）行业有限公司" is a common pattern; its full-width brackets give
                // the NFKC-equivalent variants something to work on.
                "1100" if rng.random_ratio(15, 100) => {
                    format!("{trade}（{short}）{industry}有限公司")
                }
                "1100" => format!("{short}{trade}{industry}有限公司"),
                "1200" => format!("{short}{trade}{industry}股份有限公司"),
                "2100" => format!("{short}{trade}实业总公司"),
                "4100" => format!("{short}{trade}{industry}服务部"),
                "4500" => format!("{short}{trade}投资合伙企业（有限合伙）"),
                _ => format!("{short}{trade}种植专业合作社"),
            };
            let capital = rng
                .random_ratio(85, 100)
                .then(|| f64::from(rng.random_range(1..=500_000u32)) / 100.0);
            let status = weighted(
                &mut rng,
                &[("active", 85), ("revoked", 8), ("cancelled", 7)],
            );
            let tax_status = match status {
                "active" if rng.random_ratio(95, 100) => "normal",
                "active" | "revoked" => "suspended",
                _ => "deregistered",
            };
            companies.push(Company {
                uscc: code,
                name,
                entity_type,
                rep: *pick(&mut rng, &adults),
                capital,
                established: random_date(&mut rng, ymd(1995, 1, 1), ymd(2024, 12, 31)),
                tax_lag_days: rng.random_range(0..=60),
                division: county,
                status,
                tax_status,
            });
        }

        let applicable = std::array::from_fn(|ds| {
            DefectKind::ALL
                .into_iter()
                .filter(|&k| applicable(ds, k))
                .collect()
        });
        Simulator {
            rng,
            rates,
            person_published: vec![false; persons.len()],
            company_published: vec![false; companies.len()],
            persons,
            person_ids,
            companies,
            adults,
            mothers,
            men,
            counties,
            county_set,
            topics: Self::topics(),
            pending: VecDeque::new(),
            debt: [0; 6],
            counters: [0; 6],
            recent: Default::default(),
            applicable,
            last_defect: None,
        }
    }

    /// The six topics `exchange.<department>.<dataset>`.
    pub fn topics() -> Vec<String> {
        (0..DATASETS.len()).map(topic_of).collect()
    }

    /// Next message, stamped with `timestamp_ms` (the caller's clock: wall clock in the live demo, a simulated clock in tests).
    pub fn next_at(&mut self, timestamp_ms: i64) -> SimMessage {
        let plan = match self.pending.pop_front() {
            Some(p) => p,
            None => {
                let p = self.draw_plan();
                self.schedule(p);
                self.pending.pop_front().unwrap_or(p)
            }
        };
        self.emit(plan, timestamp_ms)
    }

    /// Deterministic batch: `count` messages starting at `start_ms`, `step_ms` apart.
    pub fn batch(&mut self, count: usize, start_ms: i64, step_ms: i64) -> Vec<SimMessage> {
        (0..count)
            .map(|i| self.next_at(start_ms.saturating_add(step_ms.saturating_mul(i as i64))))
            .collect()
    }

    /// The defect injected into the message last returned (`None`: a clean record).
    /// Ground truth for accuracy tests of the monitor.
    pub fn last_defect(&self) -> Option<DefectKind> {
        self.last_defect
    }

    fn draw_plan(&mut self) -> Plan {
        let ds = loop {
            let mut r = self.rng.random_range(0..100u32);
            let mut ds = BIRTH;
            for (i, d) in DATASETS.iter().enumerate() {
                if r < d.weight {
                    ds = i;
                    break;
                }
                r -= d.weight;
            }
            // Terminates: only finitely many queued records are owed.
            if self.debt[ds] == 0 {
                break ds;
            }
            self.debt[ds] -= 1;
        };
        let np = self.persons.len();
        let nc = self.companies.len();
        match ds {
            HH => Plan::Household(self.rng.random_range(0..np)),
            CIVIL => Plan::Allowance(self.rng.random_range(0..np)),
            HRSS => {
                let p = *pick(&mut self.rng, &self.adults);
                Plan::Insurance(p, self.rng.random_range(0..nc))
            }
            BIZ => Plan::Business(self.rng.random_range(0..nc)),
            TAX => Plan::Taxpayer(self.rng.random_range(0..nc)),
            _ => Plan::Birth(*pick(&mut self.rng, &self.mothers)),
        }
    }

    /// Queues `plan` behind the authoritative records it refers to that are not out yet, so
    /// that cross-source checks find an authoritative value.
    fn schedule(&mut self, plan: Plan) {
        match plan {
            Plan::Household(p) => self.person_published[p] = true,
            Plan::Business(c) => {
                self.company_published[c] = true;
                self.need_person(self.companies[c].rep);
            }
            Plan::Allowance(p) | Plan::Birth(p) => self.need_person(p),
            Plan::Insurance(p, c) => {
                self.need_person(p);
                self.need_company(c);
            }
            Plan::Taxpayer(c) => self.need_company(c),
        }
        self.pending.push_back(plan);
    }

    fn need_person(&mut self, p: usize) {
        if !self.person_published[p] {
            self.person_published[p] = true;
            self.debt[HH] += 1;
            self.pending.push_back(Plan::Household(p));
        }
    }

    fn need_company(&mut self, c: usize) {
        if !self.company_published[c] {
            self.company_published[c] = true;
            self.need_person(self.companies[c].rep);
            self.debt[BIZ] += 1;
            self.pending.push_back(Plan::Business(c));
        }
    }

    fn draw_defect(&mut self, ds: usize) -> Option<DefectKind> {
        let rate = self.rates[ds];
        if rate <= 0.0 || !self.rng.random_bool(rate) {
            return None;
        }
        Some(*pick(&mut self.rng, &self.applicable[ds]))
    }

    fn emit(&mut self, plan: Plan, ts: i64) -> SimMessage {
        let ds = plan.dataset();
        let mut kind = self.draw_defect(ds);
        if kind == Some(DefectKind::Duplicate) {
            if let Some(msg) = self.resend(ds, ts) {
                self.last_defect = kind;
                self.after_authoritative(plan, kind);
                return msg;
            }
            // Nothing recent enough to re-send: inject another kind, keeping the rate.
            let others: Vec<DefectKind> = self.applicable[ds]
                .iter()
                .copied()
                .filter(|&k| k != DefectKind::Duplicate)
                .collect();
            kind = Some(*pick(&mut self.rng, &others));
        }

        let updated_ms = self.updated_at(ds, ts, kind);
        let mut rec = Record::default();
        self.counters[ds] += 1;
        let mut record_id = String::with_capacity(16);
        record_id.push_str(DATASETS[ds].prefix);
        record_id.push('-');
        push_digits(&mut record_id, self.counters[ds], 9);
        rec.push_str("record_id", record_id);
        self.build(plan, updated_ms, &mut rec);
        let millis = updated_ms.rem_euclid(1000) != 0;
        rec.push_str("updated_at", fmt_datetime(updated_ms, millis));

        match kind {
            Some(k) => self.apply_defect(plan, k, &mut rec, updated_ms),
            None if self.rng.random_bool(VARIANT_RATE) => self.apply_variant(&mut rec),
            None => {}
        }

        let key = rec
            .get_str(DATASETS[ds].key)
            .filter(|s| !s.trim().is_empty())
            .or_else(|| rec.get_str("record_id").filter(|s| !s.trim().is_empty()))
            .map(str::to_string);
        let json = rec.to_json();
        let payload = if kind == Some(DefectKind::Malformed) {
            self.malform(json)
        } else {
            json.into_bytes()
        };
        // Every fourth clean record is kept for re-sending: plenty of candidates, less copying.
        if kind.is_none() && self.counters[ds].is_multiple_of(4) {
            let recent = &mut self.recent[ds];
            // Reuse the evicted entry's buffers.
            let mut sent = if recent.len() == RECENT_CAP {
                recent.pop_front().unwrap_or_else(Sent::empty)
            } else {
                Sent::empty()
            };
            sent.updated_ms = updated_ms;
            sent.key.clone_from(&key);
            sent.payload.clear();
            sent.payload.extend_from_slice(&payload);
            recent.push_back(sent);
        }
        self.last_defect = kind;
        self.after_authoritative(plan, kind);
        SimMessage {
            topic: self.topics[ds].clone(),
            key,
            timestamp_ms: ts,
            payload,
        }
    }

    /// A defective authoritative record may not deliver a value; let the next reference to
    /// the entity queue a fresh one.
    fn after_authoritative(&mut self, plan: Plan, kind: Option<DefectKind>) {
        if matches!(kind, None | Some(DefectKind::Stale | DefectKind::Future)) {
            return;
        }
        match plan {
            Plan::Household(p) => self.person_published[p] = false,
            Plan::Business(c) => self.company_published[c] = false,
            _ => {}
        }
    }

    /// Re-sends a recent clean record of the dataset that is still fresh at `ts`.
    fn resend(&mut self, ds: usize, ts: i64) -> Option<SimMessage> {
        let max_age = DATASETS[ds].max_age_ms;
        let eligible: Vec<usize> = (0..self.recent[ds].len())
            .filter(|&i| {
                let age = ts.saturating_sub(self.recent[ds][i].updated_ms);
                (-4 * MINUTE..=max_age - 10 * MINUTE).contains(&age)
            })
            .collect();
        if eligible.is_empty() {
            return None;
        }
        let sent = &self.recent[ds][*pick(&mut self.rng, &eligible)];
        Some(SimMessage {
            topic: self.topics[ds].clone(),
            key: sent.key.clone(),
            timestamp_ms: ts,
            payload: sent.payload.clone(),
        })
    }

    fn updated_at(&mut self, ds: usize, ts: i64, kind: Option<DefectKind>) -> i64 {
        let rng = &mut self.rng;
        let ms = match kind {
            Some(DefectKind::Stale) => ts
                .saturating_sub(DATASETS[ds].max_age_ms)
                .saturating_sub(rng.random_range(MINUTE..=7 * DAY)),
            Some(DefectKind::Future) => {
                ts.saturating_add(5 * MINUTE + rng.random_range(MINUTE..=2 * DAY))
            }
            _ => match rng.random_range(0..100) {
                // A source clock slightly ahead: within the 5-minute tolerance.
                0..=1 => ts.saturating_add(rng.random_range(0..=2 * MINUTE)),
                2..=69 => ts.saturating_sub(rng.random_range(MINUTE..=30 * MINUTE)),
                _ => ts.saturating_sub(rng.random_range(30 * MINUTE..=6 * HOUR)),
            },
        };
        // Most sources write whole seconds.
        if rng.random_ratio(3, 4) {
            ms - ms % 1000
        } else {
            ms
        }
    }

    fn build(&mut self, plan: Plan, updated_ms: i64, rec: &mut Record) {
        let today = local_date(updated_ms);
        let rng = &mut self.rng;
        match plan {
            Plan::Household(p) => {
                let person = &self.persons[p];
                rec.push_str("id_number", person.id.clone());
                rec.push_str("name", person.name.clone());
                rec.push_str("gender", person.gender.to_string());
                rec.push_str("birth_date", fmt_date(person.birth));
                rec.push_str("ethnicity", person.ethnicity.clone());
                rec.push_str("division_code", person.division.clone());
                if rng.random_ratio(9, 10) {
                    rec.push_str("address", person.address.clone());
                }
                if let Some(phone) = &person.phone {
                    rec.push_str("phone", phone.clone());
                }
            }
            Plan::Allowance(p) => {
                let person = &self.persons[p];
                rec.push_str("id_number", person.id.clone());
                rec.push_str("name", person.name.clone());
                rec.push_str("gender", person.gender.to_string());
                rec.push_str("division_code", person.division.clone());
                rec.push("household_size", Val::Int(rng.random_range(1..=6)));
                let cents = rng.random_range(30_000..=200_000u32);
                rec.push("monthly_amount", Val::Num(f64::from(cents) / 100.0));
                let hi = month_index(today);
                let lo = (hi - 120).min(hi);
                rec.push_str("start_month", fmt_month(rng.random_range(lo..=hi)));
                let status = weighted(
                    rng,
                    &[("active", 80), ("suspended", 10), ("terminated", 10)],
                );
                rec.push_str("status", status);
            }
            Plan::Insurance(p, c) => {
                let person = &self.persons[p];
                rec.push_str("id_number", person.id.clone());
                rec.push_str("name", person.name.clone());
                rec.push_str("employer_uscc", self.companies[c].uscc.clone());
                rec.push_str("insurance_type", *pick(rng, INSURANCE_TYPES));
                let base = rng.random_range(3_000..=35_000u32);
                rec.push("monthly_base", Val::Num(f64::from(base)));
                let hi = month_index(today);
                let lo = (i64::from(person.birth.year() + 18) * 12)
                    .max(2000 * 12)
                    .min(hi);
                rec.push_str("start_month", fmt_month(rng.random_range(lo..=hi)));
                let status = weighted(rng, &[("active", 85), ("suspended", 8), ("terminated", 7)]);
                rec.push_str("status", status);
            }
            Plan::Business(c) => {
                let co = &self.companies[c];
                let rep = &self.persons[co.rep];
                rec.push_str("uscc", co.uscc.clone());
                rec.push_str("entity_name", co.name.clone());
                rec.push_str("entity_type", co.entity_type);
                rec.push_str("legal_rep_id_number", rep.id.clone());
                rec.push_str("legal_rep_name", rep.name.clone());
                if let Some(cap) = co.capital {
                    rec.push("registered_capital", Val::Num(cap));
                }
                // Never after the date of updated_at, whatever clock the caller runs.
                rec.push_str("establishment_date", fmt_date(co.established.min(today)));
                rec.push_str("division_code", co.division.clone());
                rec.push_str("status", co.status);
            }
            Plan::Taxpayer(c) => {
                let co = &self.companies[c];
                rec.push_str("uscc", co.uscc.clone());
                rec.push_str("taxpayer_name", co.name.clone());
                rec.push_str("taxpayer_status", co.tax_status);
                let reg = add_days(co.established, co.tax_lag_days).min(today);
                rec.push_str("registration_date", fmt_date(reg));
                rec.push_str("division_code", co.division.clone());
            }
            Plan::Birth(m) => {
                let mother = &self.persons[m];
                let letter = char::from(b'A' + rng.random_range(0..26u8));
                let number = rng.random_range(0..1_000_000_000u32);
                let mut cert = String::with_capacity(10);
                cert.push(letter);
                push_digits(&mut cert, u64::from(number), 9);
                rec.push_str("certificate_no", cert);
                if rng.random_ratio(7, 10) {
                    rec.push_str("newborn_name", person_name(rng));
                }
                let g = weighted(rng, &[("1", 49), ("2", 49), ("0", 2)]);
                rec.push_str("newborn_gender", g);
                let born = updated_ms.saturating_sub(rng.random_range(HOUR..=20 * DAY));
                rec.push_str("birth_datetime", fmt_datetime(born - born % MINUTE, false));
                rec.push_str("mother_id_number", mother.id.clone());
                rec.push_str("mother_name", mother.name.clone());
                let (full, _) = province(&mother.division);
                rec.push_str(
                    "hospital_name",
                    format!("{full}{}", pick(rng, HOSPITAL_KINDS)),
                );
                rec.push_str("division_code", mother.division.clone());
            }
        }
    }

    /// A random field of `ds` (common fields included when `common`) that satisfies `pred`
    /// and, when `present`, is in the record.
    fn target(
        &mut self,
        ds: usize,
        rec: &Record,
        common: bool,
        present: bool,
        pred: impl Fn(&Field) -> bool,
    ) -> Option<&'static Field> {
        let extra: &'static [Field] = if common { COMMON } else { &[] };
        let ok = |f: &&'static Field| pred(f) && (!present || rec.get(f.name).is_some());
        let n = DATASETS[ds].fields.iter().chain(extra).filter(&ok).count();
        if n == 0 {
            return None;
        }
        let i = self.rng.random_range(0..n);
        DATASETS[ds].fields.iter().chain(extra).filter(&ok).nth(i)
    }

    fn apply_defect(&mut self, plan: Plan, kind: DefectKind, rec: &mut Record, updated_ms: i64) {
        use DefectKind::*;
        let ds = plan.dataset();
        match kind {
            MissingField => {
                if let Some(f) = self.target(ds, rec, true, true, |f| f.required) {
                    rec.remove(f.name);
                }
            }
            NullField => {
                if let Some(f) = self.target(ds, rec, true, true, |f| f.required) {
                    rec.set(f.name, Val::Null);
                }
            }
            BlankString => {
                let stringy = |f: &Field| f.required && !is_numeric_ty(f.ty);
                if let Some(f) = self.target(ds, rec, true, true, stringy) {
                    // U+3000 is the ideographic space that Chinese input methods produce.
                    let blank = *pick(&mut self.rng, &["", " ", "   ", "\u{3000}", "\t"]);
                    rec.set(f.name, Val::Str(blank.to_string()));
                }
            }
            BadCheckChar => {
                let ids = |f: &Field| matches!(f.ty, Ty::ResidentId | Ty::Uscc);
                if let Some(f) = self.target(ds, rec, false, true, ids) {
                    let alphabet = if f.ty == Ty::Uscc {
                        USCC_ALPHABET
                    } else {
                        ID_CHECK_ALPHABET
                    };
                    if let Some(Val::Str(s)) = rec.get(f.name) {
                        let (body, check) = s.split_at(s.len() - 1);
                        let wrong = loop {
                            let c = char::from(*pick(&mut self.rng, alphabet));
                            if !check.starts_with(c) {
                                break c;
                            }
                        };
                        let v = format!("{body}{wrong}");
                        rec.set(f.name, Val::Str(v));
                    }
                }
            }
            ImpossibleDate => {
                let dates = |f: &Field| matches!(f.ty, Ty::Date | Ty::Month | Ty::DateTime);
                if let Some(f) = self.target(ds, rec, false, true, dates) {
                    let year = local_date(updated_ms).year() - self.rng.random_range(0..10);
                    let v = match f.ty {
                        Ty::Month => {
                            format!("{year:04}-{}", pick(&mut self.rng, &["13", "00", "14"]))
                        }
                        Ty::DateTime => format!(
                            "{year:04}-{}T{:02}:{:02}:00+08:00",
                            pick(&mut self.rng, &["02-30", "04-31", "06-31", "13-05"]),
                            self.rng.random_range(0..24),
                            self.rng.random_range(0..60)
                        ),
                        _ => format!(
                            "{year:04}-{}",
                            pick(
                                &mut self.rng,
                                &[
                                    "02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01",
                                    "00-10", "01-32"
                                ]
                            )
                        ),
                    };
                    rec.set(f.name, Val::Str(v));
                }
            }
            UnknownDivision => {
                let v = self.unknown_division();
                rec.set("division_code", Val::Str(v));
            }
            OutOfEnumeration => {
                let coded = |f: &Field| matches!(f.ty, Ty::Gender | Ty::Ethnicity | Ty::Choice(_));
                if let Some(f) = self.target(ds, rec, false, true, coded) {
                    let v = match f.ty {
                        Ty::Gender => *pick(&mut self.rng, &["3", "5", "男", "M", "female"]),
                        Ty::Ethnicity => *pick(&mut self.rng, &["00", "57", "60", "99", "汉族"]),
                        _ => *pick(&mut self.rng, &["999", "unknown", "其他", "N/A", "-1"]),
                    };
                    rec.set(f.name, Val::Str(v.to_string()));
                }
            }
            NumberOutOfRange => {
                if let Some(f) = self.target(ds, rec, false, false, |f| is_numeric_ty(f.ty)) {
                    let v = match f.ty {
                        Ty::Int { min, max } => {
                            if self.rng.random_bool(0.5) {
                                Val::Int(min - self.rng.random_range(1..=3))
                            } else {
                                Val::Int(max + self.rng.random_range(1..=50))
                            }
                        }
                        Ty::Num { min, max, .. } => {
                            let above = max.filter(|_| self.rng.random_bool(0.5));
                            match above {
                                Some(m) => {
                                    Val::Num(m + f64::from(self.rng.random_range(1..=500_000u32)))
                                }
                                // Zero is out of range only when the minimum is exclusive,
                                // so go below the minimum instead.
                                None => Val::Num(
                                    min - f64::from(self.rng.random_range(1..=100_000u32)) / 100.0,
                                ),
                            }
                        }
                        _ => Val::Null,
                    };
                    rec.set(f.name, v);
                }
            }
            WrongJsonType => {
                let numeric_like = |f: &Field| match f.ty {
                    Ty::Int { .. } | Ty::Num { .. } | Ty::Gender | Ty::Ethnicity | Ty::Division => {
                        true
                    }
                    Ty::Choice(c) => c[0].bytes().all(|b| b.is_ascii_digit()),
                    _ => false,
                };
                if let Some(f) = self.target(ds, rec, false, true, numeric_like) {
                    // Numbers sent as strings and codes sent as numbers, as spreadsheets do.
                    let v = match rec.get(f.name) {
                        Some(Val::Int(n)) => Val::Str(n.to_string()),
                        Some(Val::Num(x)) => Val::Str(format!("{x:.2}")),
                        Some(Val::Str(s)) => s.parse::<i64>().map_or(Val::Int(0), Val::Int),
                        _ => Val::Int(0),
                    };
                    rec.set(f.name, v);
                }
            }
            StringTooLong => {
                if let Some(f) =
                    self.target(ds, rec, false, false, |f| matches!(f.ty, Ty::Text { .. }))
                {
                    let Ty::Text { max } = f.ty else { return };
                    let base = match rec.get_str(f.name) {
                        Some(s) if !s.trim().is_empty() => s.to_string(),
                        _ => "某".to_string(),
                    };
                    let want = max + self.rng.random_range(1..=20);
                    let v: String = base.chars().cycle().take(want).collect();
                    rec.set(f.name, Val::Str(v));
                }
            }
            BadPhone => {
                let m = mobile(&mut self.rng);
                let v = match self.rng.random_range(0..6) {
                    0 => format!("0755-{}", &m[3..11]),
                    1 => m[..10].to_string(),
                    2 => format!("12{}", &m[2..]),
                    3 => format!("{m}{}", self.rng.random_range(0..10)),
                    4 => format!("+86{m}"),
                    _ => format!("{} {} {}", &m[..3], &m[3..7], &m[7..]),
                };
                rec.set("phone", Val::Str(v));
            }
            WithinRecordRule => self.break_rule(plan, rec, updated_ms),
            CrossSource => self.conflict(plan, rec),
            // Already applied to updated_at, or applied when sending.
            Stale | Future | Duplicate | Malformed => {}
        }
    }

    fn unknown_division(&mut self) -> String {
        let county = pick(&mut self.rng, &self.counties).clone();
        let candidate = match self.rng.random_range(0..4) {
            // GB/T 2260 assigns neither xxxx99 nor province 99.
            0 => format!("99{}", &county[2..]),
            _ => format!("{}99", &county[..4]),
        };
        if self.county_set.contains(&candidate) {
            "990199".to_string()
        } else {
            candidate
        }
    }

    fn break_rule(&mut self, plan: Plan, rec: &mut Record, updated_ms: i64) {
        let today = local_date(updated_ms);
        match plan {
            Plan::Household(p) => {
                let person = &self.persons[p];
                if self.rng.random_bool(0.5) {
                    // A valid ID whose 17th digit contradicts the person's gender. Changing
                    // the gender instead would corrupt the authoritative value of the person.
                    let digit = person.id.as_bytes()[16] - b'0';
                    let flipped = (digit + 2 * self.rng.random_range(0..5u8) + 1) % 10;
                    let first17 = format!("{}{}", &person.id[..16], flipped);
                    if let Some(check) = resident_id::check_char(&first17) {
                        let id = format!("{first17}{check}");
                        if !self.person_ids.contains(&id) {
                            rec.set("id_number", Val::Str(id));
                            return;
                        }
                    }
                }
                let shift =
                    self.rng.random_range(1..=400) * if self.rng.random_bool(0.5) { 1 } else { -1 };
                rec.set(
                    "birth_date",
                    Val::Str(fmt_date(add_days(person.birth, shift))),
                );
            }
            Plan::Allowance(p) => {
                // A mis-keyed gender: it also disagrees with the authoritative value, which is
                // the same (consistency) dimension.
                let g = if self.persons[p].gender == 1 {
                    "2"
                } else {
                    "1"
                };
                rec.set("gender", Val::Str(g.to_string()));
            }
            Plan::Business(_) => {
                let d = add_days(today, self.rng.random_range(1..=365));
                rec.set("establishment_date", Val::Str(fmt_date(d)));
            }
            Plan::Birth(_) => {
                if self.rng.random_bool(0.5) {
                    // The father's ID keyed in as the mother's; name kept consistent with it.
                    let man = &self.persons[*pick(&mut self.rng, &self.men)];
                    rec.set("mother_id_number", Val::Str(man.id.clone()));
                    rec.set("mother_name", Val::Str(man.name.clone()));
                } else {
                    let t = updated_ms.saturating_add(self.rng.random_range(HOUR..=5 * DAY));
                    rec.set(
                        "birth_datetime",
                        Val::Str(fmt_datetime(t - t % MINUTE, false)),
                    );
                }
            }
            Plan::Insurance(..) | Plan::Taxpayer(_) => {}
        }
    }

    fn conflict(&mut self, plan: Plan, rec: &mut Record) {
        let (field, name) = match plan {
            Plan::Allowance(p) => {
                if self.rng.random_ratio(3, 10) {
                    // 0 and 9 are valid codes outside the parity rule: a pure cross-source conflict.
                    let g = *pick(&mut self.rng, &["0", "9"]);
                    rec.set("gender", Val::Str(g.to_string()));
                    return;
                }
                ("name", self.persons[p].name.clone())
            }
            Plan::Insurance(p, _) => ("name", self.persons[p].name.clone()),
            Plan::Business(c) => (
                "legal_rep_name",
                self.persons[self.companies[c].rep].name.clone(),
            ),
            Plan::Birth(m) => ("mother_name", self.persons[m].name.clone()),
            Plan::Taxpayer(c) => {
                let own = self.companies[c].name.clone();
                let other = &self.companies[self.rng.random_range(0..self.companies.len())].name;
                // Like a company renamed in one register only.
                let v = if loosely_equal(other, &own) {
                    format!("{own}分公司")
                } else {
                    other.clone()
                };
                rec.set("taxpayer_name", Val::Str(v));
                return;
            }
            Plan::Household(_) => return,
        };
        // A typo in the given name: same surname, a different last character.
        let mut chars: Vec<char> = name.chars().collect();
        let last = chars.len() - 1;
        loop {
            let c = pick(&mut self.rng, GIVEN).chars().next().unwrap_or('明');
            if c != chars[last] {
                chars[last] = c;
                break;
            }
        }
        rec.set(field, Val::Str(chars.into_iter().collect()));
    }

    /// Re-spells a name so that it is equal to the original after NFKC and trimming.
    fn apply_variant(&mut self, rec: &mut Record) {
        let present: Vec<&'static str> = NAME_FIELDS
            .iter()
            .copied()
            .filter(|n| rec.get_str(n).is_some())
            .collect();
        if present.is_empty() {
            return;
        }
        let field = *pick(&mut self.rng, &present);
        let Some(s) = rec.get_str(field) else { return };
        let v = if s.contains('（') && self.rng.random_bool(0.7) {
            s.replace('（', "(").replace('）', ")")
        } else {
            match self.rng.random_range(0..4) {
                0 => format!("{s} "),
                1 => format!(" {s}"),
                2 => format!("{s}\u{3000}"),
                _ => format!("{s}  "),
            }
        };
        rec.set(field, Val::Str(v));
    }

    fn malform(&mut self, json: String) -> Vec<u8> {
        match self.rng.random_range(0..4) {
            0 => {
                // Cut off mid-message, on a character boundary so it is not also bad UTF-8.
                let mut cut = self.rng.random_range(1..json.len());
                while !json.is_char_boundary(cut) {
                    cut -= 1;
                }
                json.as_bytes()[..cut].to_vec()
            }
            1 => format!("[{json}]").into_bytes(),
            2 => {
                // Double-encoded: the object sent as a JSON string.
                let mut s = String::with_capacity(json.len() + 16);
                write_json_str(&mut s, &json);
                s.into_bytes()
            }
            _ => {
                // Chinese text in a legacy two-byte encoding: a lead byte in 0xB0..=0xBF
                // is a UTF-8 continuation byte, so the payload is never valid UTF-8.
                let mut out = Vec::with_capacity(json.len());
                for c in json.chars() {
                    if c.is_ascii() {
                        out.push(c as u8);
                    } else {
                        let u = c as u32;
                        out.push(0xB0 + (u % 16) as u8);
                        out.push(0xA1 + ((u / 16) % 94) as u8);
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::time::Instant;

    const CSV: &str = include_str!("../checks/reference/gb2260-divisions.csv");
    /// 2025-06-01T00:00:00+08:00.
    const START: i64 = 1_748_707_200_000;

    fn table() -> DivisionTable {
        DivisionTable::from_csv(CSV).expect("division table parses")
    }

    fn config(rates: &[(&str, f64)]) -> SimConfig {
        SimConfig {
            defect_rates: rates.iter().map(|(d, r)| (d.to_string(), *r)).collect(),
            ..SimConfig::default()
        }
    }

    fn show(msg: &SimMessage) -> String {
        format!("{} {}", msg.topic, String::from_utf8_lossy(&msg.payload))
    }

    fn dataset_of(msg: &SimMessage) -> usize {
        (0..6)
            .find(|&i| topic_of(i) == msg.topic)
            .expect("known topic")
    }

    // Check characters recomputed here rather than through `formats`, so that a broken
    // generator and a broken `formats` cannot agree with each other.
    fn resident_check_ok(id: &str) -> bool {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let b = id.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return false;
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(W)
            .map(|(c, w)| u32::from(c - b'0') * w)
            .sum();
        b[17] == b"10X98765432"[(sum % 11) as usize]
    }

    fn uscc_check_ok(code: &str) -> bool {
        const W: [usize; 17] = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let pos = |c: u8| USCC_ALPHABET.iter().position(|&a| a == c);
        let b = code.as_bytes();
        if b.len() != 18 {
            return false;
        }
        let mut sum = 0;
        for (&c, w) in b[..17].iter().zip(W) {
            match pos(c) {
                Some(p) => sum += p * w,
                None => return false,
            }
        }
        pos(b[17]) == Some((31 - sum % 31) % 31)
    }

    fn norm(s: &str) -> String {
        s.chars()
            .map(|c| match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap(),
                0x3000 => ' ',
                _ => c,
            })
            .collect::<String>()
            .trim()
            .to_string()
    }

    /// Test label of a defect: its dimension, with malformed messages told apart from
    /// field-level format failures.
    fn label(k: DefectKind) -> &'static str {
        if k == DefectKind::Malformed {
            "malformed"
        } else {
            k.dimension()
        }
    }

    /// An independent reading of the catalog's dimension semantics, enough to tell which
    /// dimensions a message fails.
    struct Checker {
        codes: HashSet<String>,
        names: HashMap<String, String>,
        genders: HashMap<String, String>,
        entities: HashMap<String, String>,
        seen: Vec<HashMap<String, i64>>,
        cross_checked: usize,
    }

    impl Checker {
        fn new() -> Self {
            let codes = CSV
                .lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .map(str::to_string)
                .collect();
            Checker {
                codes,
                names: HashMap::new(),
                genders: HashMap::new(),
                entities: HashMap::new(),
                seen: vec![HashMap::new(); 6],
                cross_checked: 0,
            }
        }

        fn resident_id(&self, s: &str, today: NaiveDate) -> bool {
            resident_check_ok(s)
                && NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
                    .is_ok_and(|d| d >= ymd(1900, 1, 1) && d <= today)
                && self.codes.contains(&format!("{}0000", &s[..2]))
        }

        fn valid(&self, ty: Ty, v: &Value, today: NaiveDate) -> bool {
            if let Ty::Int { min, max } = ty {
                return v.as_i64().is_some_and(|n| (min..=max).contains(&n));
            }
            if let Ty::Num {
                min,
                min_inclusive,
                max,
            } = ty
            {
                return v.as_f64().is_some_and(|x| {
                    (if min_inclusive { x >= min } else { x > min }) && max.is_none_or(|m| x <= m)
                });
            }
            let Some(s) = v.as_str() else { return false };
            let b = s.as_bytes();
            let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
            match ty {
                Ty::ResidentId => self.resident_id(s, today),
                Ty::Uscc => uscc_check_ok(s) && self.codes.contains(&s[2..8]),
                Ty::Division => self.codes.contains(s),
                Ty::Text { max } => s.chars().count() <= max,
                Ty::Gender => matches!(s, "0" | "1" | "2" | "9"),
                Ty::Ethnicity => {
                    b.len() == 2 && digits(b) && (1..=56).contains(&s.parse::<u32>().unwrap())
                }
                Ty::Choice(c) => c.contains(&s),
                Ty::Month => {
                    b.len() == 7
                        && NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").is_ok()
                }
                Ty::Date => b.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
                Ty::DateTime => DateTime::parse_from_rfc3339(s).is_ok(),
                Ty::Mobile => {
                    b.len() == 11 && digits(b) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
                }
                Ty::CertNo => b.len() == 10 && b[0].is_ascii_uppercase() && digits(&b[1..]),
                Ty::RecordId => (1..=64).contains(&s.chars().count()),
                Ty::Int { .. } | Ty::Num { .. } => unreachable!(),
            }
        }

        fn check(&mut self, msg: &SimMessage) -> BTreeSet<&'static str> {
            let ds = dataset_of(msg);
            let mut out = BTreeSet::new();
            let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&msg.payload) else {
                out.insert("malformed");
                return out;
            };
            let today = local_date(msg.timestamp_ms);
            let mut good: HashSet<&str> = HashSet::new();
            for f in COMMON.iter().chain(DATASETS[ds].fields) {
                match obj.get(f.name) {
                    None | Some(Value::Null) => {
                        if f.required {
                            out.insert("completeness");
                        }
                    }
                    Some(Value::String(s)) if s.trim().is_empty() => {
                        assert!(f.required, "blank optional field {}", f.name);
                        out.insert("completeness");
                    }
                    Some(v) => {
                        if self.valid(f.ty, v, today) {
                            good.insert(f.name);
                        } else {
                            out.insert("format");
                        }
                    }
                }
            }
            let get = |n: &str| {
                obj.get(n)
                    .and_then(Value::as_str)
                    .filter(|_| good.contains(n))
            };

            // Within-record rules, only when their inputs are valid.
            let parity_broken = |id: &str, g: &str| {
                let odd = (id.as_bytes()[16] - b'0') % 2 == 1;
                (g == "1" && !odd) || (g == "2" && odd)
            };
            let updated = get("updated_at").map(|u| DateTime::parse_from_rfc3339(u).unwrap());
            let mut broken = false;
            if let (Some(id), Some(g)) = (get("id_number"), get("gender")) {
                broken |= parity_broken(id, g);
            }
            if let (Some(id), Some(bd)) = (get("id_number"), get("birth_date")) {
                broken |= bd.replace('-', "") != id[6..14];
            }
            if let (Some(est), Some(u)) = (get("establishment_date"), updated) {
                broken |= NaiveDate::parse_from_str(est, "%Y-%m-%d").unwrap() > u.date_naive();
            }
            if let (Some(b), Some(u)) = (get("birth_datetime"), updated) {
                broken |= DateTime::parse_from_rfc3339(b).unwrap() > u;
            }
            if let Some(m) = get("mother_id_number") {
                broken |= (m.as_bytes()[16] - b'0') % 2 == 1;
            }

            // Cross-source against the latest authoritative values.
            let mut compare = |known: Option<&String>, value: Option<&str>| {
                if let (Some(k), Some(v)) = (known, value) {
                    self.cross_checked += 1;
                    broken |= norm(k) != norm(v);
                }
            };
            let person_refs: &[(&str, &str)] = match ds {
                CIVIL | HRSS => &[("id_number", "name")],
                BIZ => &[("legal_rep_id_number", "legal_rep_name")],
                BIRTH => &[("mother_id_number", "mother_name")],
                _ => &[],
            };
            for (key, attr) in person_refs {
                if let Some(k) = get(key) {
                    compare(self.names.get(k), get(attr));
                    if ds == CIVIL {
                        compare(self.genders.get(k), get("gender"));
                    }
                }
            }
            if ds == TAX
                && let Some(k) = get("uscc")
            {
                compare(self.entities.get(k), get("taxpayer_name"));
            }
            if broken {
                out.insert("consistency");
            }

            // Authoritative values delivered.
            if ds == HH
                && let Some(id) = get("id_number")
            {
                if let Some(n) = get("name") {
                    self.names.insert(id.to_string(), n.to_string());
                }
                if let Some(g) = get("gender") {
                    self.genders.insert(id.to_string(), g.to_string());
                }
            }
            if ds == BIZ
                && let (Some(k), Some(n)) = (get("uscc"), get("entity_name"))
            {
                self.entities.insert(k.to_string(), n.to_string());
            }

            if let Some(u) = updated {
                let age = msg.timestamp_ms - u.timestamp_millis();
                if age > DATASETS[ds].max_age_ms || age < -5 * MINUTE {
                    out.insert("freshness");
                }
            }
            if let Some(rid) = get("record_id") {
                let seen = &mut self.seen[ds];
                if seen
                    .get(rid)
                    .is_some_and(|&t| msg.timestamp_ms - t <= 7 * DAY)
                {
                    out.insert("uniqueness");
                }
                seen.insert(rid.to_string(), msg.timestamp_ms);
            }
            out
        }
    }

    fn with_truth(
        sim: &mut Simulator,
        count: i64,
        step: i64,
    ) -> Vec<(SimMessage, Option<DefectKind>)> {
        (0..count)
            .map(|i| {
                let m = sim.next_at(START + i * step);
                (m, sim.last_defect())
            })
            .collect()
    }

    #[test]
    fn same_seed_same_messages() {
        let a = Simulator::new(SimConfig::default(), &table()).batch(5000, START, 250);
        let b = Simulator::new(SimConfig::default(), &table()).batch(5000, START, 250);
        assert_eq!(a, b);
        let other = SimConfig {
            seed: 7,
            ..SimConfig::default()
        };
        let c = Simulator::new(other, &table()).batch(5000, START, 250);
        assert_ne!(a, c);
        assert!(
            a.iter()
                .enumerate()
                .all(|(i, m)| m.timestamp_ms == START + 250 * i as i64)
        );
    }

    #[test]
    fn all_six_topics_occur_in_the_catalog_mix() {
        let topics = Simulator::topics();
        assert_eq!(topics.len(), 6);
        assert_eq!(topics[0], "exchange.public_security.household_registration");
        assert!(topics.iter().all(|t| t.starts_with("exchange.")));
        let msgs = Simulator::new(SimConfig::default(), &table()).batch(20_000, START, 1000);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &msgs {
            *counts.entry(m.topic.as_str()).or_default() += 1;
        }
        assert_eq!(counts.len(), 6, "{counts:?}");
        for (ds, d) in DATASETS.iter().enumerate() {
            let share = counts[topic_of(ds).as_str()] as f64 / msgs.len() as f64;
            println!("{} {share:.4}", d.name);
            assert!(
                (share - f64::from(d.weight) / 100.0).abs() < 0.02,
                "{} {share}",
                d.name
            );
        }
    }

    #[test]
    fn clean_payloads_are_objects_with_required_fields() {
        let mut sim = Simulator::new(SimConfig::default(), &table());
        for (m, defect) in with_truth(&mut sim, 20_000, 1000) {
            let ds = dataset_of(&m);
            let parsed = serde_json::from_slice::<Value>(&m.payload);
            if defect == Some(DefectKind::Malformed) {
                assert!(!matches!(parsed, Ok(Value::Object(_))), "{}", show(&m));
                continue;
            }
            let Ok(Value::Object(obj)) = parsed else {
                panic!("not an object: {}", show(&m))
            };
            let missing: Vec<&str> = COMMON
                .iter()
                .chain(DATASETS[ds].fields)
                .filter(|f| f.required && !obj.contains_key(f.name))
                .map(|f| f.name)
                .collect();
            let allowed = if defect == Some(DefectKind::MissingField) {
                1
            } else {
                0
            };
            assert_eq!(missing.len(), allowed, "{defect:?} {}", show(&m));
            // The key is the entity key whenever the record carries a usable one.
            let key_field = obj.get(DATASETS[ds].key).and_then(Value::as_str);
            if let Some(k) = key_field.filter(|k| !k.trim().is_empty()) {
                assert_eq!(m.key.as_deref(), Some(k));
            }
        }
    }

    #[test]
    fn defects_are_exactly_what_an_independent_checker_finds() {
        let mut sim = Simulator::new(SimConfig::default(), &table());
        let mut checker = Checker::new();
        let mut per_kind: BTreeMap<DefectKind, usize> = BTreeMap::new();
        let mut cross_not_seen = 0;
        let mut variants = 0;
        for (m, defect) in with_truth(&mut sim, 50_000, 1500) {
            let found = checker.check(&m);
            let Some(k) = defect else {
                assert!(
                    found.is_empty(),
                    "clean record fails {found:?}: {}",
                    show(&m)
                );
                let text = String::from_utf8_lossy(&m.payload);
                if text.contains(" \"") || text.contains("\u{3000}\"") || text.contains("\" ") {
                    variants += 1;
                }
                continue;
            };
            *per_kind.entry(k).or_default() += 1;
            if k == DefectKind::CrossSource && found.is_empty() {
                // No authoritative value delivered yet for that entity.
                cross_not_seen += 1;
                continue;
            }
            assert_eq!(found, BTreeSet::from([label(k)]), "{k:?}: {}", show(&m));
        }
        for k in DefectKind::ALL {
            assert!(
                per_kind.contains_key(&k),
                "{k:?} never injected: {per_kind:?}"
            );
        }
        assert!(
            cross_not_seen * 10 <= per_kind[&DefectKind::CrossSource],
            "{cross_not_seen} cross-source defects without an authoritative value"
        );
        assert!(checker.cross_checked > 20_000, "{}", checker.cross_checked);
        assert!(variants > 0, "no NFKC/trim variant names");
        println!("defects per kind in 50,000 messages: {per_kind:?}; variants {variants}");
    }

    #[test]
    fn defect_share_per_department_follows_the_configured_rate() {
        let mut sim = Simulator::new(SimConfig::default(), &table());
        let mut records = [0usize; 6];
        let mut defects = [0usize; 6];
        for (m, defect) in with_truth(&mut sim, 20_000, 1000) {
            let ds = dataset_of(&m);
            records[ds] += 1;
            defects[ds] += usize::from(defect.is_some());
        }
        let rates = SimConfig::default_rates();
        let mut observed = Vec::new();
        for (ds, d) in DATASETS.iter().enumerate() {
            let rate = rates.iter().find(|r| r.0 == d.department).unwrap().1;
            let n = records[ds] as f64;
            let share = defects[ds] as f64 / n;
            let band = 4.0 * (rate * (1.0 - rate) / n).sqrt() + 0.002;
            assert!(
                (share - rate).abs() <= band,
                "{} {share} vs {rate}",
                d.department
            );
            observed.push((d.department, share));
        }
        let share = |d: &str| observed.iter().find(|o| o.0 == d).unwrap().1;
        assert!(share("public_security") < share("tax"));
        assert!(share("tax") < share("health"));
        let distinct: BTreeSet<u64> = rates.iter().map(|r| r.1.to_bits()).collect();
        assert_eq!(distinct.len(), 6, "default rates differ per department");
    }

    #[test]
    fn zero_and_full_rates() {
        let none = config(&[]);
        let mut sim = Simulator::new(none, &table());
        let mut checker = Checker::new();
        for (m, defect) in with_truth(&mut sim, 10_000, 1000) {
            assert_eq!(defect, None);
            let found = checker.check(&m);
            assert!(found.is_empty(), "{found:?} {}", show(&m));
        }
        let all: Vec<(&str, f64)> = DATASETS.iter().map(|d| (d.department, 1.0)).collect();
        let mut sim = Simulator::new(config(&all), &table());
        assert!(
            with_truth(&mut sim, 5_000, 1000)
                .iter()
                .all(|(_, d)| d.is_some())
        );
    }

    #[test]
    fn population_ids_pass_their_check_characters() {
        let sim = Simulator::new(SimConfig::default(), &table());
        assert_eq!(sim.persons.len(), 5000);
        assert_eq!(sim.companies.len(), 1000);
        assert!(resident_check_ok("11010519491231002X"), "published example");
        assert!(uscc_check_ok("91350100M000100Y43"), "published example");
        let checker = Checker::new();
        let today = ymd(2025, 6, 1);
        for p in &sim.persons {
            assert!(checker.resident_id(&p.id, today), "{}", p.id);
            assert_eq!(resident_id::check_char(&p.id[..17]), p.id.chars().last());
            let odd = (p.id.as_bytes()[16] - b'0') % 2 == 1;
            assert_eq!(odd, p.gender == 1);
            assert_eq!(&p.id[6..14], p.birth.format("%Y%m%d").to_string());
            assert!(p.phone.as_ref().is_none_or(|ph| checker.valid(
                Ty::Mobile,
                &Value::from(ph.as_str()),
                today
            )));
        }
        for c in &sim.companies {
            assert!(uscc_check_ok(&c.uscc), "{}", c.uscc);
            assert_eq!(uscc::check_char(&c.uscc[..17]), c.uscc.chars().last());
            assert!(c.uscc.starts_with("91") && checker.codes.contains(&c.uscc[2..8]));
            assert!(c.name.chars().count() <= 100);
        }
        let distinct: HashSet<&str> = sim.persons.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(distinct.len(), sim.persons.len());
    }

    #[test]
    fn tiny_population_still_works() {
        let cfg = SimConfig {
            persons: 0,
            companies: 0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(cfg, &table());
        let msgs = sim.batch(2000, START, 1000);
        assert_eq!(msgs.len(), 2000);
        let topics: BTreeSet<&str> = msgs.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(topics.len(), 6);
    }

    #[test]
    fn any_clock_value_is_accepted() {
        let all: Vec<(&str, f64)> = DATASETS.iter().map(|d| (d.department, 0.5)).collect();
        let mut sim = Simulator::new(config(&all), &table());
        for ts in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            START,
            i64::MAX - 1,
            i64::MAX,
        ] {
            for _ in 0..500 {
                assert_eq!(sim.next_at(ts).timestamp_ms, ts);
            }
        }
        assert_eq!(sim.batch(100, i64::MAX - 10, 1).len(), 100);
    }

    #[test]
    fn generation_speed() {
        let mut sim = Simulator::new(SimConfig::default(), &table());
        let t = Instant::now();
        let msgs = sim.batch(100_000, START, 10);
        let elapsed = t.elapsed();
        let bytes: usize = msgs.iter().map(|m| m.payload.len()).sum();
        println!("100,000 messages ({bytes} bytes) in {elapsed:?}");
        assert_eq!(msgs.len(), 100_000);
        assert!(msgs.iter().all(|m| !m.payload.is_empty()));
    }
}
