//! What the simulator knows about each dataset that its contract cannot say: its
//! share of the traffic, its record_id prefix, whom its person fields refer to, how a
//! plausible value of some fields looks, and how to break a rule written as an
//! expression. Keyed by dataset name; everything else comes from the contracts.

/// Which persons a person-reference field (a `cn-resident-id` field) draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pool {
    Anyone,
    Adults,
    Mothers,
    /// The legal representative of the company the record is about.
    Representative,
}

/// A plausible value where the contract's constraints alone would give nonsense
/// (an allowance of 97,000 yuan, a birth in 1962 on a new birth certificate).
/// Values stay within the contract's constraints, which are read from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Plausible {
    /// The first allowed value (enum order, or the code table's first code) `percent`
    /// of the time, another one otherwise; fixed per entity when `per_entity`.
    Mostly { percent: u32, per_entity: bool },
    /// A whole number in `lo..=hi`.
    Count { lo: i64, hi: i64 },
    /// An amount with cents in `lo..=hi` yuan.
    Amount { lo: f64, hi: f64 },
    /// A month within the last `months` months.
    RecentMonth { months: i64 },
    /// A month since the person turned 18 (and not before 2000).
    MonthSinceAdult,
    /// The person's address; sometimes left out when the field is optional.
    Address,
    /// The company's registered capital, when it declared one.
    Capital,
    /// The company's establishment date.
    Established,
    /// A tax registration some days after the company's establishment.
    RegisteredAfterEstablishment,
    /// A certificate number: an uppercase letter and nine digits.
    Certificate,
    /// A newborn's name, given `percent` of the time (often not chosen yet).
    NewbornName { percent: u32 },
    /// A newborn's gender: male or female, now and then another code of the field.
    NewbornGender,
    /// A birth some hours to days before the record's update.
    RecentBirth,
    /// A hospital in the province of the record's subject.
    Hospital,
}

/// How to break a within-record rule written as an expression, which the simulator
/// cannot read; the built-in rule kinds are broken from their compiled form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExpressionBreak {
    /// A man's ID (and name) in the rule's person field: the father keyed in as the mother.
    ManInstead,
}

#[derive(Debug)]
pub(super) struct Profile {
    pub dataset: &'static str,
    /// Share of the message mix, in percent of the whole mix.
    pub share: u32,
    pub prefix: &'static str,
    /// Pool of a person field, by field name; others draw from anyone.
    pub pools: &'static [(&'static str, Pool)],
    pub values: &'static [(&'static str, Plausible)],
    /// By rule id.
    pub expression_breaks: &'static [(&'static str, ExpressionBreak)],
}

/// A dataset the table does not know: a small share, no special values.
pub(super) const UNKNOWN: Profile = Profile {
    dataset: "",
    share: 5,
    prefix: "rec",
    pools: &[],
    values: &[],
    expression_breaks: &[],
};

pub(super) fn profile(dataset: &str) -> &'static Profile {
    PROFILES
        .iter()
        .find(|p| p.dataset == dataset)
        .unwrap_or(&UNKNOWN)
}

use Plausible::*;

pub(super) const PROFILES: &[Profile] = &[
    Profile {
        dataset: "household_registration",
        share: 25,
        prefix: "hh",
        pools: &[],
        values: &[
            (
                "ethnicity",
                Mostly {
                    percent: 92,
                    per_entity: true,
                },
            ),
            ("address", Address),
        ],
        expression_breaks: &[],
    },
    Profile {
        dataset: "subsistence_allowance",
        share: 10,
        prefix: "sa",
        pools: &[],
        values: &[
            ("household_size", Count { lo: 1, hi: 6 }),
            (
                "monthly_amount",
                Amount {
                    lo: 300.0,
                    hi: 2000.0,
                },
            ),
            ("start_month", RecentMonth { months: 120 }),
            (
                "status",
                Mostly {
                    percent: 80,
                    per_entity: false,
                },
            ),
        ],
        expression_breaks: &[],
    },
    Profile {
        dataset: "social_insurance",
        share: 20,
        prefix: "si",
        pools: &[("id_number", Pool::Adults)],
        values: &[
            (
                "monthly_base",
                Amount {
                    lo: 3000.0,
                    hi: 35000.0,
                },
            ),
            ("start_month", MonthSinceAdult),
            (
                "status",
                Mostly {
                    percent: 85,
                    per_entity: false,
                },
            ),
        ],
        expression_breaks: &[],
    },
    Profile {
        dataset: "business_registration",
        share: 15,
        prefix: "br",
        pools: &[("legal_rep_id_number", Pool::Representative)],
        values: &[
            (
                "entity_type",
                Mostly {
                    percent: 70,
                    per_entity: true,
                },
            ),
            ("registered_capital", Capital),
            ("establishment_date", Established),
            (
                "status",
                Mostly {
                    percent: 85,
                    per_entity: true,
                },
            ),
        ],
        expression_breaks: &[],
    },
    Profile {
        dataset: "taxpayer_registration",
        share: 15,
        prefix: "tr",
        pools: &[],
        values: &[
            (
                "taxpayer_status",
                Mostly {
                    percent: 90,
                    per_entity: true,
                },
            ),
            ("registration_date", RegisteredAfterEstablishment),
        ],
        expression_breaks: &[],
    },
    Profile {
        dataset: "birth_certificate",
        share: 15,
        prefix: "bc",
        pools: &[("mother_id_number", Pool::Mothers)],
        values: &[
            ("certificate_no", Certificate),
            ("newborn_name", NewbornName { percent: 70 }),
            ("newborn_gender", NewbornGender),
            ("birth_datetime", RecentBirth),
            ("hospital_name", Hospital),
        ],
        expression_breaks: &[("mother_is_female", ExpressionBreak::ManInstead)],
    },
];
