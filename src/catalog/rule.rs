//! Within-record rules: the built-in kinds the catalog needs, and CEL
//! expressions for anything else. Compiled once at load time.

use std::sync::Arc;

use cel::common::types::CelString;
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use serde_json::Value;

use crate::formats::{date, date_time, resident_id};

/// How a date-like input is read by `not_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    Date,
    DateTime,
}

/// What a compiled rule does; inputs are field indexes of the dataset.
pub(crate) enum RuleLogic {
    IdBirthDate {
        id: usize,
        date: usize,
    },
    IdGender {
        id: usize,
        gender: usize,
        male: String,
        female: String,
    },
    NotAfter {
        earlier: (usize, TimeKind),
        later: (usize, TimeKind),
    },
    Expression {
        env: Arc<cel::Env>,
        program: cel::Program,
        /// CEL variable name -> field index.
        variables: Vec<(String, usize)>,
    },
}

impl std::fmt::Debug for RuleLogic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleLogic::IdBirthDate { .. } => f.write_str("IdBirthDate"),
            RuleLogic::IdGender { .. } => f.write_str("IdGender"),
            RuleLogic::NotAfter { .. } => f.write_str("NotAfter"),
            RuleLogic::Expression { .. } => f.write_str("Expression"),
        }
    }
}

/// The result of one rule on one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuleResult {
    Pass,
    Fail(&'static str),
    NotApplicable,
}

/// The CEL environment expressions compile and run in: the standard library
/// and the strings extension (`substring`, `charAt`...).
pub(crate) fn cel_env() -> Result<Arc<cel::Env>, String> {
    let mut env = cel::Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(env))
}

impl RuleLogic {
    /// Compiles an expression; its inputs are the variables it names, each of
    /// which must be a field (`field_index` answers `None` for an unknown name).
    pub(crate) fn expression(
        env: &Arc<cel::Env>,
        source: &str,
        field_index: impl Fn(&str) -> Option<usize>,
    ) -> Result<RuleLogic, String> {
        let program = env
            .compile(source)
            // The parser's message ends with a drawing of the source; the first line says it all.
            .map_err(|e| {
                let text = e.to_string();
                format!(
                    "invalid CEL expression: {}",
                    text.lines().next().unwrap_or("")
                )
            })?;
        let mut names: Vec<String> = program
            .references()
            .variables()
            .into_iter()
            .map(String::from)
            .collect();
        names.sort();
        let mut variables = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            match field_index(&name) {
                Some(i) => variables.push((name, i)),
                None => unknown.push(name),
            }
        }
        if !unknown.is_empty() {
            return Err(format!(
                "expression names unknown field(s): {}",
                unknown.join(", ")
            ));
        }
        if variables.is_empty() {
            return Err("expression names no field".into());
        }
        Ok(RuleLogic::Expression {
            env: env.clone(),
            program,
            variables,
        })
    }

    /// The field indexes this rule reads: all must be present and valid for it to
    /// apply. The first is the field a violation points at.
    pub(crate) fn inputs(&self) -> Vec<usize> {
        match self {
            RuleLogic::IdBirthDate { id, date } => vec![*date, *id],
            RuleLogic::IdGender { id, gender, .. } => vec![*gender, *id],
            RuleLogic::NotAfter { earlier, later } => vec![earlier.0, later.0],
            RuleLogic::Expression { variables, .. } => variables.iter().map(|v| v.1).collect(),
        }
    }

    /// Evaluates the rule on inputs that passed completeness and format:
    /// `values[i]` is the value of field `i`, `None` when it is missing or invalid.
    pub(crate) fn evaluate(&self, values: &[Option<&Value>]) -> RuleResult {
        let str_of = |i: usize| values[i].and_then(Value::as_str);
        let result = match self {
            RuleLogic::IdBirthDate { id, date } => id_birth_date(str_of(*id), str_of(*date)),
            RuleLogic::IdGender {
                id,
                gender,
                male,
                female,
            } => id_gender(str_of(*id), str_of(*gender), male, female),
            RuleLogic::NotAfter { earlier, later } => {
                not_after((str_of(earlier.0), earlier.1), (str_of(later.0), later.1))
            }
            RuleLogic::Expression {
                env,
                program,
                variables,
            } => expression(env, program, variables, values),
        };
        result.unwrap_or(RuleResult::NotApplicable)
    }
}

/// The birth date field equals the one inside the ID number; `None`: not applicable.
fn id_birth_date(id: Option<&str>, date: Option<&str>) -> Option<RuleResult> {
    let digits = resident_id::birth_date_digits(id?)?;
    let date = date?;
    let same = date.len() == 10
        && date[0..4] == digits[0..4]
        && date[5..7] == digits[4..6]
        && date[8..10] == digits[6..8];
    Some(if same {
        RuleResult::Pass
    } else {
        RuleResult::Fail("date differs from the birth date in the ID number")
    })
}

/// A male or female gender code matches the ID number's sequence parity;
/// unknown or unspecified genders have nothing to compare.
fn id_gender(
    id: Option<&str>,
    gender: Option<&str>,
    male: &str,
    female: &str,
) -> Option<RuleResult> {
    let (odd, gender) = (resident_id::sequence_parity_is_odd(id?)?, gender?);
    let expected = if gender == male {
        true
    } else if gender == female {
        false
    } else {
        return None;
    };
    Some(if odd == expected {
        RuleResult::Pass
    } else {
        RuleResult::Fail("gender differs from the parity of the ID number")
    })
}

/// The earlier date or time is not after the later one.
fn not_after(
    (a, a_kind): (Option<&str>, TimeKind),
    (b, b_kind): (Option<&str>, TimeKind),
) -> Option<RuleResult> {
    let (a, b) = (a?, b?);
    let ordered = match (a_kind, b_kind) {
        (TimeKind::DateTime, TimeKind::DateTime) => date_time::parse(a)? <= date_time::parse(b)?,
        _ => calendar_day(a, a_kind)? <= calendar_day(b, b_kind)?,
    };
    Some(if ordered {
        RuleResult::Pass
    } else {
        RuleResult::Fail("date is after the date it must not follow")
    })
}

/// A CEL expression over the record's fields.
fn expression(
    env: &Arc<cel::Env>,
    program: &cel::Program,
    variables: &[(String, usize)],
    values: &[Option<&Value>],
) -> Option<RuleResult> {
    if variables.iter().any(|(_, i)| values[*i].is_none()) {
        return None;
    }
    // The record's values are lent to the expression, not copied into it.
    let fields = Fields { variables, values };
    let mut context = cel::Context::with_env(env.clone());
    context.set_variable_resolver(&fields);
    Some(match program.execute(&context) {
        Ok(cel::Value::Bool(true)) => RuleResult::Pass,
        Ok(cel::Value::Bool(false)) => RuleResult::Fail("expression is false"),
        Ok(_) => RuleResult::Fail("expression did not give a boolean"),
        Err(_) => RuleResult::Fail("expression could not be evaluated"),
    })
}

/// An expression's variables, resolved to the record's values on use.
struct Fields<'a, 'v> {
    variables: &'a [(String, usize)],
    values: &'a [Option<&'v Value>],
}

impl VariableResolver for Fields<'_, '_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let &(_, i) = self.variables.iter().find(|(name, _)| name == variable)?;
        let value: Box<dyn Val + 'b> = match self.values[i]? {
            Value::String(s) => Box::new(CelString::from(s.as_str())),
            // A value with no CEL form is left unresolved: the expression then fails.
            other => cel::to_value(other).ok()?.try_into().ok()?,
        };
        Some(CowVal::Owned(value))
    }
}

/// The calendar day of a date, or of a date-time as written (in its own offset).
fn calendar_day(s: &str, kind: TimeKind) -> Option<chrono::NaiveDate> {
    match kind {
        TimeKind::Date => date::parse(s),
        TimeKind::DateTime => date_time::parse(s).map(|t| t.date_naive()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mother_rule() -> RuleLogic {
        let env = cel_env().unwrap();
        let names = ["mother_id_number", "count"];
        RuleLogic::expression(
            &env,
            "int(mother_id_number.substring(16, 17)) % 2 == 0 && count > 0",
            |n| names.iter().position(|x| *x == n),
        )
        .unwrap()
    }

    #[test]
    fn expressions_read_string_and_number_fields() {
        let rule = mother_rule();
        let (even, odd, one, zero) = (
            json!("11010519491231002X"),
            json!("110105194912310031"),
            json!(1),
            json!(0),
        );
        // The ID's 17th character is 2 (even), then 3 (odd).
        assert_eq!(rule.evaluate(&[Some(&even), Some(&one)]), RuleResult::Pass);
        assert_eq!(
            rule.evaluate(&[Some(&odd), Some(&one)]),
            RuleResult::Fail("expression is false")
        );
        assert_eq!(
            rule.evaluate(&[Some(&even), Some(&zero)]),
            RuleResult::Fail("expression is false")
        );
        assert_eq!(
            rule.evaluate(&[None, Some(&one)]),
            RuleResult::NotApplicable
        );
        let text = json!("1");
        assert_eq!(
            rule.evaluate(&[Some(&even), Some(&text)]),
            RuleResult::Fail("expression could not be evaluated"),
            "comparing a string with an int is an error in CEL"
        );
    }
}
