//! A live service in-process, for the mock-cluster suites: its
//! configuration and its HTTP answers.

use dqmon::service::Service;
use dqmon::service::config::{
    Config, HashingConfig, HttpConfig, KafkaConfig, ProcessingConfig, StoreConfig,
};

use rdkafka::mocking::MockCluster;

use super::crash;

/// The mock cluster of a suite: the exchange's topics, the `i`-th of them
/// with `partitions(i)` partitions, the outputs (`dq.violations`,
/// `dq.deadletter`) and any `extra` (topic, partitions); and its bootstrap
/// address.
pub fn mock_bus(
    checks: &dqmon::catalog::Checks,
    partitions: impl Fn(usize) -> i32,
    extra: &[(&str, i32)],
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    let mock = MockCluster::new(1).unwrap();
    for (i, t) in checks.topics().iter().enumerate() {
        mock.create_topic(t, partitions(i), 1).unwrap();
    }
    let outputs = [("dq.violations", 3), ("dq.deadletter", 1)];
    for (topic, n) in outputs.iter().chain(extra) {
        mock.create_topic(topic, *n, 1).unwrap();
    }
    let bootstrap = mock.bootstrap_servers();
    (mock, bootstrap)
}

/// A service's configuration on the mock cluster at `bootstrap`, its score
/// store `dqmon.sqlite` in `dir`.
pub fn config(bootstrap: &str, dir: &std::path::Path) -> Config {
    Config {
        checks_dir: "checks".into(),
        kafka: KafkaConfig {
            bootstrap_servers: bootstrap.to_string(),
            group_id: "dqmon-test".into(),
            violations_topic: "dq.violations".into(),
            deadletter_topic: "dq.deadletter".into(),
            properties: Default::default(),
            consumer_properties: Default::default(),
            producer_properties: Default::default(),
            statistics_interval_secs: 1,
        },
        http: HttpConfig {
            listen_address: "127.0.0.1:0".parse().unwrap(),
            ..HttpConfig::default()
        },
        hashing: HashingConfig {
            secret: Some("a test secret, long enough".into()),
            secret_file: None,
        },
        // More workers than this machine's cores: the outcomes must not
        // depend on them, whatever machine runs the tests.
        processing: ProcessingConfig {
            workers: 3,
            ..ProcessingConfig::default()
        },
        store: StoreConfig {
            path: Some(dir.join("dqmon.sqlite")),
            ..StoreConfig::default()
        },
        api: crash::officer_api(),
    }
}

/// GET `path` from the live service's HTTP server: the status code and the body.
pub async fn http_get(service: &Service, path: &str) -> (u16, String) {
    let (address, path) = (service.http_address, path.to_string());
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        use std::io::{Read, Write};
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

/// The service's metrics, through its HTTP server as Prometheus reads them.
pub async fn scrape(service: &Service) -> String {
    http_get(service, "/metrics").await.1
}
