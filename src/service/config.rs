//! Service configuration: a TOML file, overridden by `DQMON_<SECTION>__<KEY>`
//! environment variables (`DQMON_KAFKA__BOOTSTRAP_SERVERS=...`). Unknown keys
//! are errors, so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

pub use crate::store::open::StoreLocation;
use crate::store::open::redacted_url;
pub use crate::web::HttpConfig;
pub use crate::web::api::ApiConfig;

/// The whole configuration of `dqmon run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The folder of contracts (`checks/`), validated at start-up like `dqmon validate`.
    #[serde(default = "default_checks_dir")]
    pub checks_dir: PathBuf,
    /// The bus.
    pub kafka: KafkaConfig,
    /// The HTTP server: metrics, health, API.
    #[serde(default)]
    pub http: HttpConfig,
    /// Keyed hashing of entity keys and values held in memory.
    pub hashing: HashingConfig,
    /// Tuning of the processing pipeline.
    #[serde(default)]
    pub processing: ProcessingConfig,
    /// The score store: counts, offsets and engine state, checkpointed together.
    #[serde(default)]
    pub store: StoreConfig,
    /// Access to the score API and the scorecard page.
    #[serde(default)]
    pub api: ApiConfig,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database file (created when missing; `dqmon.sqlite` when
    /// neither `path` nor `url` is given). Back it up like any database: it
    /// holds the scores of every past period.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A PostgreSQL database instead of the file, `postgres://user@host:port/db`
    /// (libpq's URL; `?sslmode=` disable, prefer, require, verify-ca or
    /// verify-full and `&sslrootcert=/path/ca.pem` as libpq reads them,
    /// `?options=-csearch_path%3Dschema` and the like). Give the password in the environment
    /// (`DQMON_STORE__URL` holds the whole URL) rather than in a file under
    /// version control. Not with `path`.
    #[serde(default)]
    pub url: Option<String>,
    /// At most this long between checkpoints, in milliseconds. A crash replays
    /// at most this much from Kafka (counts stay exact either way).
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// A checkpoint after at most this many messages, whichever comes first.
    #[serde(default = "default_checkpoint_max_messages")]
    pub checkpoint_max_messages: u64,
    /// Recent violations kept per department for the API and the scorecard.
    #[serde(default = "default_violations_kept_per_department")]
    pub violations_kept_per_department: usize,
}

impl StoreConfig {
    /// The configured store: the PostgreSQL database of `url`, else the
    /// SQLite file of `path` (or its default).
    pub fn location(&self) -> StoreLocation {
        match &self.url {
            Some(url) => StoreLocation::Postgres(url.clone()),
            None => StoreLocation::Sqlite(self.path.clone().unwrap_or_else(default_store_path)),
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.path.is_some() && self.url.is_some() {
            problems.push("store: give `path` or `url`, not both".to_owned());
        }
        if let Some(url) = &self.url
            && let Err(e) = crate::store::postgres::check_url(url)
        {
            problems.push(format!("store.url: {e}"));
        }
        if self.checkpoint_interval_ms == 0 {
            problems.push("store.checkpoint_interval_ms: must be at least 1".to_owned());
        }
        if self.checkpoint_max_messages == 0 {
            problems.push("store.checkpoint_max_messages: must be at least 1".to_owned());
        }
        problems
    }
}

/// The URL's password never shows: configurations are logged and printed.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("path", &self.path)
            .field("url", &self.url.as_deref().map(redacted_url))
            .field("checkpoint_interval_ms", &self.checkpoint_interval_ms)
            .field("checkpoint_max_messages", &self.checkpoint_max_messages)
            .field(
                "violations_kept_per_department",
                &self.violations_kept_per_department,
            )
            .finish()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: None,
            url: None,
            checkpoint_interval_ms: default_checkpoint_interval_ms(),
            checkpoint_max_messages: default_checkpoint_max_messages(),
            violations_kept_per_department: default_violations_kept_per_department(),
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port` list of the brokers.
    pub bootstrap_servers: String,
    /// The consumer group; instances sharing it split the partitions.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Where violation events go, keyed by department.
    #[serde(default = "default_violations_topic")]
    pub violations_topic: String,
    /// Where malformed messages go, byte for byte, with headers saying why.
    #[serde(default = "default_deadletter_topic")]
    pub deadletter_topic: String,
    /// librdkafka properties for both consumer and producer (`security.protocol`,
    /// `sasl.mechanism`, `sasl.username`, `ssl.ca.location`...), passed as they are.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties for the consumer only.
    #[serde(default)]
    pub consumer_properties: BTreeMap<String, String>,
    /// librdkafka properties for the producer only.
    #[serde(default)]
    pub producer_properties: BTreeMap<String, String>,
    /// How often librdkafka reports statistics (consumer lag, broker state), in seconds.
    #[serde(default = "default_statistics_interval_secs")]
    pub statistics_interval_secs: u64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingConfig {
    /// The secret key of the hashes, at least 16 characters. Prefer `secret_file`
    /// or the `DQMON_HASHING__SECRET` environment variable to a secret in a file
    /// under version control.
    #[serde(default)]
    pub secret: Option<String>,
    /// A file holding the secret (surrounding white space ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// Secrets never reach a log or an error through `{:?}`: the hashing secret
/// and every librdkafka property that can carry one are redacted.
impl std::fmt::Debug for HashingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingConfig")
            .field("secret", &self.secret.as_ref().map(|_| REDACTED))
            .field("secret_file", &self.secret_file)
            .finish()
    }
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("group_id", &self.group_id)
            .field("violations_topic", &self.violations_topic)
            .field("deadletter_topic", &self.deadletter_topic)
            .field("properties", &redacted(&self.properties))
            .field("consumer_properties", &redacted(&self.consumer_properties))
            .field("producer_properties", &redacted(&self.producer_properties))
            .field("statistics_interval_secs", &self.statistics_interval_secs)
            .finish()
    }
}

const REDACTED: &str = "<redacted>";

/// True for librdkafka properties whose value may be a secret: passwords,
/// keys and certificates given inline, SASL JAAS and OAUTHBEARER settings.
fn is_secret_property(key: &str) -> bool {
    const MARKS: [&str; 7] = [
        "password",
        "secret",
        "token",
        "jaas",
        "oauthbearer",
        ".pem",
        "ssl.key",
    ];
    let key = key.to_ascii_lowercase();
    MARKS.iter().any(|m| key.contains(m))
}

fn redacted(properties: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    properties
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_property(k) { REDACTED } else { v };
            (k.as_str(), v)
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingConfig {
    /// Messages handed to outputs but not yet acknowledged; consumption pauses above it.
    #[serde(default = "default_max_in_flight_messages")]
    pub max_in_flight_messages: usize,
    /// Payload bytes held by outputs not yet acknowledged (dead letters carry
    /// the whole message); consumption pauses above it, as above the count.
    #[serde(default = "default_max_in_flight_bytes")]
    pub max_in_flight_bytes: usize,
    /// On SIGTERM, how long to wait for in-flight outputs before giving up on them
    /// (their offsets are then not committed, so they are read again), in seconds.
    #[serde(default = "default_shutdown_timeout_secs")]
    pub shutdown_timeout_secs: u64,
    /// Records are judged in message-time order across partitions. How long
    /// they wait, in milliseconds, for a partition that has unread messages on
    /// the broker but none fetched (a broker that does not answer); past it
    /// they are judged without it, and its records are late when they come.
    #[serde(default = "default_max_lag_ms")]
    pub max_lag_ms: u64,
    /// Bytes of fetched records (payload and key, plus 64 per record) waiting
    /// for other partitions to catch up in message time. Above it, a
    /// partition holding more than its share (this over the partitions
    /// assigned) is paused until it drains to half its share.
    #[serde(default = "default_max_buffered_bytes")]
    pub max_buffered_bytes: usize,
    /// Threads evaluating records (default: the cores available). The
    /// checks that need only the record run on all of them; the judgements
    /// against the state (cross-source, uniqueness) stay in message-time
    /// order on one, so outcomes never depend on this setting.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Several instances in one group: the topic through which they tell each
    /// other the facts of the records they read (authorities' values and
    /// record ids, as keyed hashes), so each judges against the whole bus.
    /// Unset: one instance, whose own records are the whole bus.
    #[serde(default)]
    pub state_topic: Option<String>,
    /// With `state_topic`: how far behind the latest message time, in
    /// milliseconds, a record (of a partition taken over after a crash) is
    /// still judged exactly; older positions are folded to save memory.
    #[serde(default = "default_state_history_ms")]
    pub state_history_ms: u64,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        Self {
            max_in_flight_messages: default_max_in_flight_messages(),
            max_in_flight_bytes: default_max_in_flight_bytes(),
            shutdown_timeout_secs: default_shutdown_timeout_secs(),
            max_lag_ms: default_max_lag_ms(),
            max_buffered_bytes: default_max_buffered_bytes(),
            workers: default_workers(),
            state_topic: None,
            state_history_ms: default_state_history_ms(),
        }
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
fn default_store_path() -> PathBuf {
    PathBuf::from("dqmon.sqlite")
}
fn default_checkpoint_interval_ms() -> u64 {
    1000
}
fn default_checkpoint_max_messages() -> u64 {
    10_000
}
fn default_violations_kept_per_department() -> usize {
    1000
}
fn default_checks_dir() -> PathBuf {
    PathBuf::from("checks")
}
fn default_group_id() -> String {
    "dqmon".into()
}
fn default_violations_topic() -> String {
    "dq.violations".into()
}
fn default_deadletter_topic() -> String {
    "dq.deadletter".into()
}
fn default_statistics_interval_secs() -> u64 {
    5
}
fn default_max_in_flight_bytes() -> usize {
    64 * 1024 * 1024
}

fn default_max_in_flight_messages() -> usize {
    20_000
}
fn default_shutdown_timeout_secs() -> u64 {
    7
}
fn default_state_history_ms() -> u64 {
    86_400_000
}
fn default_max_lag_ms() -> u64 {
    30_000
}
fn default_max_buffered_bytes() -> usize {
    128 * 1024 * 1024
}

/// A configuration that cannot be used, with every reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads `path` (when given) and the `DQMON_` environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError(format!("{}: no such file", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        Self::from_figment(figment.merge(env_provider()))
    }

    /// Parses a configuration from TOML text (and the environment).
    #[cfg(test)]
    pub(crate) fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_figment(
            Figment::new()
                .merge(Toml::string(text))
                .merge(env_provider()),
        )
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(|e| {
            let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            ConfigError(all.join("\n"))
        })?;
        config.secret()?;
        let mut problems: Vec<String> = config
            .http
            .problems()
            .into_iter()
            .map(str::to_owned)
            .collect();
        problems.extend(config.store.problems());
        for (zero, problem) in [
            (
                config.processing.max_in_flight_messages == 0,
                "processing.max_in_flight_messages: must be at least 1",
            ),
            (
                config.processing.workers == 0,
                "processing.workers: must be at least 1",
            ),
            (
                config.processing.max_in_flight_bytes == 0,
                "processing.max_in_flight_bytes: must be at least 1",
            ),
            (
                config.processing.max_buffered_bytes == 0,
                "processing.max_buffered_bytes: must be at least 1",
            ),
            (
                // Records park up to half of it ahead of the shared state.
                config.processing.state_history_ms < 60_000,
                "processing.state_history_ms: must be at least 60000 (a minute)",
            ),
            (
                config.processing.state_topic.as_deref() == Some(""),
                "processing.state_topic: must not be empty",
            ),
        ] {
            if zero {
                problems.push(problem.to_owned());
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError(problems.join("\n")));
        }
        Ok(config)
    }

    /// The hashing secret, from `secret` or `secret_file`.
    pub fn secret(&self) -> Result<Vec<u8>, ConfigError> {
        let h = &self.hashing;
        let secret = match (&h.secret, &h.secret_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "hashing: give `secret` or `secret_file`, not both".into(),
                ));
            }
            (Some(s), None) => s.clone(),
            (None, Some(p)) => std::fs::read_to_string(p)
                .map_err(|e| ConfigError(format!("hashing.secret_file: {}: {e}", p.display())))?
                .trim()
                .to_string(),
            (None, None) => {
                return Err(ConfigError(
                    "hashing: a `secret` (or `secret_file`, or DQMON_HASHING__SECRET) is required"
                        .into(),
                ));
            }
        };
        if secret.chars().count() < 16 {
            return Err(ConfigError(
                "hashing.secret: must be at least 16 characters".into(),
            ));
        }
        Ok(secret.into_bytes())
    }
}

/// `DQMON_KAFKA__BOOTSTRAP_SERVERS` -> `kafka.bootstrap_servers`. Variables without
/// a section (`DQMON_LOG`) are not configuration keys and are left alone.
fn env_provider() -> Env {
    Env::prefixed("DQMON_")
        .filter(|key| key.as_str().contains("__") || key == "checks_dir")
        .split("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [kafka]
        bootstrap_servers = "127.0.0.1:9092"
        [hashing]
        secret = "0123456789abcdef"
    "#;

    #[test]
    fn defaults_fill_in() {
        let c = Config::from_toml(MINIMAL).unwrap();
        assert_eq!(c.kafka.group_id, "dqmon");
        assert_eq!(c.kafka.violations_topic, "dq.violations");
        assert_eq!(c.http.listen_address.port(), 9898);
        assert_eq!(c.checks_dir, PathBuf::from("checks"));
        assert_eq!(
            c.store.location(),
            StoreLocation::Sqlite(PathBuf::from("dqmon.sqlite"))
        );
        assert_eq!(c.store.checkpoint_interval_ms, 1000);
        assert!(c.api.officer_tokens.is_empty());
    }

    #[test]
    fn every_bad_number_is_reported_at_once() {
        let text = format!(
            "{MINIMAL}\n[store]\ncheckpoint_interval_ms = 0\ncheckpoint_max_messages = 0\n"
        );
        let e = Config::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("store.checkpoint_interval_ms"), "{e}");
        assert!(e.contains("store.checkpoint_max_messages"), "{e}");
    }

    #[test]
    fn a_bad_state_topic_setting_is_reported() {
        let text =
            format!("{MINIMAL}\n[processing]\nstate_topic = \"\"\nstate_history_ms = 1000\n");
        let e = Config::from_toml(&text).unwrap_err().to_string();
        assert!(
            e.contains("processing.state_topic: must not be empty"),
            "{e}"
        );
        assert!(e.contains("processing.state_history_ms"), "{e}");
        let text = format!("{MINIMAL}\n[processing]\nstate_topic = \"dq.state\"\n");
        let c = Config::from_toml(&text).unwrap();
        assert_eq!(c.processing.state_topic.as_deref(), Some("dq.state"));
        assert_eq!(c.processing.state_history_ms, 86_400_000);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = format!("{MINIMAL}\n[http]\nlisten_adress = \"127.0.0.1:1\"\n");
        let e = Config::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("listen_adress"), "{e}");
    }

    #[test]
    fn a_short_or_missing_secret_is_rejected() {
        let e = Config::from_toml(
            "[kafka]\nbootstrap_servers = \"x\"\n[hashing]\nsecret = \"short\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("at least 16"));
        let e = Config::from_toml("[kafka]\nbootstrap_servers = \"x\"\n[hashing]\n").unwrap_err();
        assert!(e.to_string().contains("required"));
    }

    // figment's Jail closures return its large error type; fine in tests.
    #[allow(clippy::result_large_err)]
    #[test]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DQMON_KAFKA__BOOTSTRAP_SERVERS", "broker:9093");
            jail.set_env("DQMON_LOG", "debug");
            let c = Config::from_toml(MINIMAL).unwrap();
            assert_eq!(c.kafka.bootstrap_servers, "broker:9093");
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn tokens_can_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "DQMON_API__OFFICER_TOKENS",
                r#"["officer-token-0123456789", "officer-token-9876543210"]"#,
            );
            let c = Config::from_toml(MINIMAL).unwrap();
            assert_eq!(
                c.api.officer_tokens,
                vec!["officer-token-0123456789", "officer-token-9876543210"]
            );
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn the_sample_configuration_loads_with_a_secret_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let sample =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dqmon.toml"))
                    .unwrap();
            jail.create_file("dqmon.toml", &sample)?;
            assert!(Config::load(Some(Path::new("dqmon.toml"))).is_err());
            jail.set_env("DQMON_HASHING__SECRET", "a secret of sixteen+");
            let c = Config::load(Some(Path::new("dqmon.toml"))).unwrap();
            assert_eq!(
                c.kafka.properties.get("client.id").map(String::as_str),
                Some("dqmon")
            );
            Ok(())
        });
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let text = format!(
            "{MINIMAL}\n[kafka.properties]\n\"sasl.password\" = \"kafka-pass-1\"\n\"sasl.username\" = \"dqmon\"\n\
             \"ssl.key.password\" = \"key-pass-2\"\n\"sasl.oauthbearer.client.secret\" = \"oauth-3\"\n\
             [kafka.consumer_properties]\n\"ssl.keystore.password\" = \"store-pass-4\"\n\
             [kafka.producer_properties]\n\"sasl.jaas.config\" = \"jaas-5\"\n\
             [api]\nofficer_tokens = [\"officer-token-secret-6\"]\n\
             [store]\nurl = \"postgres://dqmon:store-pass-7@db.example:5432/dqmon?password=store-pass-8\"\n"
        );
        let c = Config::from_toml(&text).unwrap();
        let shown = format!(
            "{c:?} {c:#?} {} {:?}",
            c.store.location(),
            c.store.location()
        );
        for secret in [
            "0123456789abcdef",
            "kafka-pass-1",
            "key-pass-2",
            "oauth-3",
            "store-pass-4",
            "jaas-5",
            "officer-token-secret-6",
            "store-pass-7",
            "store-pass-8",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // What is not secret stays readable for operators.
        assert!(shown.contains("dqmon"), "{shown}");
        assert!(shown.contains("sasl.password"), "{shown}");
        assert!(shown.contains("db.example:5432/dqmon"), "{shown}");
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn the_store_url_can_come_from_the_environment_and_hides_its_password() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "DQMON_STORE__URL",
                "postgres://dqmon:env-pass-9@127.0.0.1:5433/dqmon",
            );
            let c = Config::from_toml(MINIMAL).unwrap();
            assert_eq!(
                c.store.location(),
                StoreLocation::Postgres("postgres://dqmon:env-pass-9@127.0.0.1:5433/dqmon".into())
            );
            let shown = format!("{c:?} {}", c.store.location());
            assert!(!shown.contains("env-pass-9"), "{shown}");
            assert!(shown.contains("127.0.0.1:5433"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_store_url_or_both_locations_are_reported() {
        let both = format!(
            "{MINIMAL}\n[store]\npath = \"x.sqlite\"\nurl = \"postgres://dqmon@db/dqmon\"\n"
        );
        let e = Config::from_toml(&both).unwrap_err().to_string();
        assert!(e.contains("store: give `path` or `url`, not both"), "{e}");
        for (url, problem) in [
            ("mysql://dqmon:pw-10@db/dqmon", "store.url: "),
            (
                "postgres://dqmon:pw-10@db/dqmon?sslmode=sometimes",
                "sslmode",
            ),
            ("postgres://dqmon:pw-10@db/dqmon?colour=blue", "colour"),
            (
                "postgres:///dqmon?password=pw-10",
                "store.url: names no host",
            ),
            (
                "postgres://dqmon:pw-10@db/dqmon?sslmode=verify-full&sslrootcert=/no/such/ca.pem",
                "store.url: sslrootcert /no/such/ca.pem: ",
            ),
        ] {
            let text = format!("{MINIMAL}\n[store]\nurl = \"{url}\"\n");
            let e = Config::from_toml(&text).unwrap_err().to_string();
            assert!(e.contains("store.url: "), "{url}: {e}");
            assert!(e.contains(problem), "{url}: {e}");
            assert!(!e.contains("pw-10"), "{url}: {e}");
        }
        for good in [
            "postgres://dqmon@127.0.0.1:5433/dqmon",
            "postgres://dqmon@db.example/dqmon?sslmode=verify-full",
            "postgres://dqmon@db.example/dqmon?sslmode=verify-ca&sslrootcert=Cargo.toml",
        ] {
            let text = format!("{MINIMAL}\n[store]\nurl = \"{good}\"\n");
            assert!(Config::from_toml(&text).is_ok(), "{good}");
        }
    }
}
