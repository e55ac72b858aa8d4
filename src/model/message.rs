//! A message from the bus, as the engine sees it: where it came from and its
//! raw bytes. The Kafka consumer and `dqmon eval` both build these, so the
//! engine cannot tell which one fed it.

use base64::Engine as _;
use serde::Deserialize;

/// A borrowed view of one message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    /// CreateTime, epoch milliseconds: when the department published the record.
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    /// `None` for a Kafka tombstone, which is malformed on this bus.
    pub payload: Option<&'a [u8]>,
}

/// One line of a `dqmon eval` input file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    #[serde(default)]
    pub key: Option<String>,
    /// A JSON string is the raw payload to parse (so malformed payloads can be
    /// written down); any other JSON value is the payload itself.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Raw payload bytes in base64, for payloads that are not even UTF-8.
    #[serde(default)]
    pub value_base64: Option<String>,
}

impl Envelope {
    /// The payload bytes as they would travel on the bus.
    pub fn payload(&self) -> Result<Option<Vec<u8>>, String> {
        match (&self.value, &self.value_base64) {
            (Some(_), Some(_)) => Err("both `value` and `value_base64` are given".into()),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map(Some)
                .map_err(|e| format!("`value_base64` is not base64: {e}")),
            (Some(serde_json::Value::String(s)), None) => Ok(Some(s.as_bytes().to_vec())),
            (Some(serde_json::Value::Null), None) | (None, None) => Ok(None),
            (Some(v), None) => Ok(Some(
                serde_json::to_vec(v).expect("a JSON value serializes"),
            )),
        }
    }
}
