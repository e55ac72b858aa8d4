//! TLS to PostgreSQL, as libpq reads the URL: `sslmode` `disable`, `prefer`
//! (the default: TLS when the server offers it), `require` (TLS or no
//! connection), `verify-ca` (and the server's certificate chains to a
//! trusted root) and `verify-full` (and names the host); `sslrootcert` the
//! trusted roots (PEM; without it, the system's). As in libpq, `prefer` and
//! `require` encrypt without checking the certificate unless `sslrootcert`
//! is given, which makes them `verify-ca`.
//!
//! The Rust client knows only disable, prefer and require and no
//! `sslrootcert`: [`split`] takes those out of the URL and says how to
//! verify, and [`connector`] builds the OpenSSL connector that does it.

use std::path::PathBuf;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

use crate::store::StoreError;

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Verify {
    /// Chain to a trusted root.
    pub chain: bool,
    /// And name the host connected to.
    pub host: bool,
    /// The trusted roots; the system's when `None`.
    pub root_cert: Option<PathBuf>,
}

/// `url` as the Rust client takes it (verify-ca and verify-full become
/// require, `sslrootcert` is removed), and how to verify. Works on both
/// forms: a URL's query, or a key=value list.
pub(crate) fn split(url: &str) -> Result<(String, Verify), StoreError> {
    let mut verify = Verify::default();
    let mut mode_given = None;
    let mut take = |key: &str, value: &str| -> Option<String> {
        match key {
            "sslrootcert" => {
                verify.root_cert = Some(PathBuf::from(value));
                None
            }
            "sslmode" => {
                mode_given = Some(value.to_owned());
                Some(match value {
                    "verify-ca" | "verify-full" => "require".to_owned(),
                    other => other.to_owned(),
                })
            }
            _ => Some(value.to_owned()),
        }
    };
    let rewritten = if let Some((base, query)) = url.split_once('?') {
        let pairs: Vec<String> = query
            .split('&')
            .filter_map(|pair| match pair.split_once('=') {
                Some((k, v)) => take(k, v).map(|v| format!("{k}={v}")),
                None => Some(pair.to_owned()),
            })
            .collect();
        if pairs.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", pairs.join("&"))
        }
    } else if url.contains("://") {
        url.to_owned()
    } else {
        url.split_whitespace()
            .filter_map(|pair| match pair.split_once('=') {
                Some((k, v)) => take(k, v).map(|v| format!("{k}={v}")),
                None => Some(pair.to_owned()),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    match mode_given.as_deref() {
        Some("verify-full") => {
            verify.chain = true;
            verify.host = true;
        }
        Some("verify-ca") => verify.chain = true,
        Some("disable") => {}
        // prefer, require (or none): libpq checks the chain only when given roots.
        _ => verify.chain = verify.root_cert.is_some(),
    }
    Ok((rewritten, verify))
}

/// The connector for `verify`. An unreadable root file is an error naming
/// the file, not its content.
pub(crate) fn connector(verify: &Verify) -> Result<MakeTlsConnector, StoreError> {
    let tls = |what: &str, e: openssl::error::ErrorStack| {
        StoreError::Backend(format!("TLS to PostgreSQL: {what}: {e}"))
    };
    let mut builder = SslConnector::builder(SslMethod::tls()).map_err(|e| tls("set-up", e))?;
    if verify.chain {
        builder.set_verify(SslVerifyMode::PEER);
        match &verify.root_cert {
            Some(path) => builder
                .set_ca_file(path)
                .map_err(|e| tls(&format!("reading sslrootcert {}", path.display()), e))?,
            None => builder
                .set_default_verify_paths()
                .map_err(|e| tls("the system's trusted roots", e))?,
        }
    } else {
        builder.set_verify(SslVerifyMode::NONE);
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    let host = verify.host;
    connector.set_callback(move |config, _domain| {
        config.set_verify_hostname(host);
        Ok(())
    });
    Ok(connector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_modes_become_the_clients_and_a_way_to_verify() {
        let (url, v) =
            split("postgres://u@db/dq?sslmode=verify-full&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(url, "postgres://u@db/dq?sslmode=require");
        assert_eq!(
            v,
            Verify {
                chain: true,
                host: true,
                root_cert: Some("/etc/ca.pem".into())
            }
        );
        let (url, v) = split("postgres://u@db/dq?sslmode=verify-ca&application_name=x").unwrap();
        assert_eq!(url, "postgres://u@db/dq?sslmode=require&application_name=x");
        assert!(v.chain && !v.host && v.root_cert.is_none());
        // As libpq: require checks nothing, unless given roots.
        let (_, v) = split("postgres://u@db/dq?sslmode=require").unwrap();
        assert!(!v.chain);
        let (url, v) = split("postgres://u@db/dq?sslrootcert=/ca.pem").unwrap();
        assert_eq!(url, "postgres://u@db/dq");
        assert!(v.chain && !v.host);
        let (url, v) = split("host=db user=u sslmode=verify-full sslrootcert=/ca.pem").unwrap();
        assert_eq!(url, "host=db user=u sslmode=require");
        assert!(v.chain && v.host);
        let (url, v) = split("postgres://u:pw@db/dq").unwrap();
        assert_eq!(url, "postgres://u:pw@db/dq");
        assert_eq!(v, Verify::default());
    }

    #[test]
    fn a_missing_root_file_is_named() {
        let v = Verify {
            chain: true,
            host: true,
            root_cert: Some("/no/such/ca.pem".into()),
        };
        let e = connector(&v).err().expect("refused").to_string();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
    }
}
