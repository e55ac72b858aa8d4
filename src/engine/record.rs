//! The payload parsed straight into the dataset's field slots.
//!
//! Parsing into a generic `serde_json::Value` builds a map with an owned key per
//! field and then searches it; the engine needs neither. Here each key is read
//! in place, looked up among the contract's field names, and only its value is
//! built (other keys are still fully parsed and validated, then skipped). The
//! JSON accepted and rejected, and the value each field gets (the last of
//! duplicate keys), are exactly those of `serde_json::from_slice::<Value>`.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use smallvec::SmallVec;

use crate::catalog::FieldIndex;

/// Field values by field index; `None` when the record lacks the field.
pub(crate) type Values = SmallVec<[Option<Value>; 16]>;

/// Parses a payload into the values of the fields `names` indexes, or says
/// why it is malformed.
pub fn parse(names: &FieldIndex, payload: Option<&[u8]>) -> Result<Values, &'static str> {
    let bytes = payload.ok_or("empty message (no payload)")?;
    let mut values: Values = smallvec::smallvec![None; names.len()];
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Object {
        names,
        values: &mut values,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match parsed {
        Ok(()) => Ok(values),
        // Rare: classify with the generic parser, so reasons match it exactly.
        Err(_) => Err(why_malformed(bytes)),
    }
}

/// Why a payload that failed to parse as an object is malformed.
#[cold]
fn why_malformed(bytes: &[u8]) -> &'static str {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(_)) => {
            // Not expected: the property tests find no object only one parser
            // accepts. Should one exist, dead-letter it rather than panic.
            "payload is a JSON object this parser cannot read"
        }
        Ok(_) => "payload is JSON but not an object",
        Err(_) if std::str::from_utf8(bytes).is_err() => "payload is not valid UTF-8",
        Err(_) => "payload is not valid JSON",
    }
}

/// The top-level object: known keys fill their slot, the rest are skipped.
struct Object<'a> {
    names: &'a FieldIndex,
    values: &'a mut Values,
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(slot) = map.next_key_seed(Key(self.names))? {
            match slot {
                // A later duplicate replaces the earlier value, as in `Value`.
                Some(i) => self.values[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key, read without copying, as the index of the field it names.
struct Key<'a>(&'a FieldIndex);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.get(name).copied())
    }
}

/// Any JSON value, parsed and validated like `Value` would be, then dropped.
/// (serde's `IgnoredAny` skips strings without checking their UTF-8, so it
/// would accept payloads the generic parser rejects.)
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        // Keys are strings: `Skip` validates them as it does string values.
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NAMES: [&str; 3] = ["name", "id", "updated_at"];

    fn names() -> FieldIndex {
        NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).into(), i))
            .collect()
    }

    /// What the generic parser makes of a payload, in the same shape.
    fn generic(bytes: &[u8]) -> Result<Values, &'static str> {
        let map = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => map,
            _ => return Err(why_malformed(bytes)),
        };
        let mut values: Values = smallvec::smallvec![None; 3];
        for (i, name) in NAMES.iter().enumerate() {
            values[i] = map.get(*name).cloned();
        }
        Ok(values)
    }

    #[test]
    fn known_fields_fill_their_slot_and_others_are_skipped() {
        let v = parse(
            &names(),
            Some(br#"{"id": "a\u0041", "extra": {"x": [1, 2.5, null, true]}, "updated_at": 7}"#),
        )
        .unwrap();
        assert_eq!(v[0], None);
        assert_eq!(v[1], Some(Value::from("aA")));
        assert_eq!(v[2], Some(Value::from(7)));
    }

    #[test]
    fn the_last_of_duplicate_keys_wins() {
        let v = parse(&names(), Some(br#"{"id": "first", "id": "second"}"#)).unwrap();
        assert_eq!(v[1], Some(Value::from("second")));
        assert_eq!(Ok(v), generic(br#"{"id": "first", "id": "second"}"#));
    }

    #[test]
    fn malformed_payloads_get_the_generic_parsers_reasons() {
        for (payload, reason) in [
            (&b"[1, 2]"[..], "payload is JSON but not an object"),
            (b"[1, \"x", "payload is not valid JSON"),
            (b"\"text\"", "payload is JSON but not an object"),
            (b"{\"id\": 1} trailing", "payload is not valid JSON"),
            (b"{\"other\": \"\xff\"}", "payload is not valid UTF-8"),
            (b"{\"\xff\": 1}", "payload is not valid UTF-8"),
            (b"{\"other\": 1e999}", "payload is not valid JSON"),
            (b"", "payload is not valid JSON"),
        ] {
            assert_eq!(parse(&names(), Some(payload)), Err(reason), "{payload:?}");
        }
        assert_eq!(parse(&names(), None), Err("empty message (no payload)"));
    }

    proptest! {
        /// A record with one or two bytes changed (valid, malformed, not an
        /// object, bad UTF-8...): the same verdict and the same field values
        /// as the generic parser.
        #[test]
        fn agrees_with_the_generic_parser_on_damaged_records(
            edits in proptest::collection::vec(
                (0usize..200, prop_oneof![
                    Just(None),
                    proptest::sample::select(&b"{}[],:\"\\ 0-eE.nul\xff\xe5"[..]).prop_map(Some),
                ]),
                1..3,
            ),
        ) {
            let mut bytes = br#"{"id": "r-1", "other": {"k": [1, -2.5e3, null, true, "caf\u00e9 and a longer text, skipped but checked"]}, "name": "\u5f20\u4e09 ", "updated_at": "2026-06-15T10:00:00+08:00"}"#.to_vec();
            for (at, byte) in edits {
                let at = at % (bytes.len() + 1);
                match byte {
                    Some(b) if at < bytes.len() => bytes[at] = b,
                    Some(b) => bytes.push(b),
                    None if at < bytes.len() => { bytes.remove(at); }
                    None => {}
                }
            }
            prop_assert_eq!(parse(&names(), Some(&bytes)), generic(&bytes));
        }

        /// Well-formed objects with any subset and order of keys.
        #[test]
        fn objects_agree_with_the_generic_parser(
            entries in proptest::collection::vec(
                (prop_oneof![Just("id"), Just("name"), Just("updated_at"), Just("x")], any::<i32>()),
                0..6,
            ),
        ) {
            let body: Vec<String> = entries.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            let bytes = format!("{{{}}}", body.join(", ")).into_bytes();
            let parsed = parse(&names(), Some(&bytes));
            prop_assert!(parsed.is_ok());
            prop_assert_eq!(parsed, generic(&bytes));
        }
    }
}
