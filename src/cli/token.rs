//! `dqmon token new`: a random API token and its `[[api.tokens]]` entry. The
//! token is printed once, for its holder; the configuration keeps only its
//! SHA-256.

use base64::Engine as _;

use crate::web::api::token_sha256;

#[derive(clap::Args)]
pub struct TokenOptions {
    /// Who will hold it (said in logs; not a secret).
    #[arg(long)]
    name: String,
    /// `officer` (every department) or `department` (its own only).
    #[arg(long, value_parser = ["officer", "department"])]
    role: String,
    /// The department of a `department` token.
    #[arg(long, required_if_eq("role", "department"))]
    department: Option<String>,
}

/// The token and the TOML block for the configuration.
pub fn new_token(opts: &TokenOptions) -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut entry = format!(
        "[[api.tokens]]\nname = {:?}\nrole = {:?}\n",
        opts.name, opts.role
    );
    if let Some(d) = &opts.department {
        entry.push_str(&format!("department = {d:?}\n"));
    }
    entry.push_str(&format!("sha256 = \"{}\"\n", token_sha256(&token)));
    (token, entry)
}

pub fn run(opts: &TokenOptions) -> anyhow::Result<()> {
    if opts.role == "officer" && opts.department.is_some() {
        anyhow::bail!("an officer token has no department");
    }
    let (token, entry) = new_token(opts);
    eprintln!(
        "The token (give it to {}; it is not shown again):",
        opts.name
    );
    println!("{token}");
    eprintln!("\nFor dqmon.toml (the service keeps only the hash):\n");
    eprint!("{entry}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::api::ApiConfig;

    #[test]
    fn the_entry_authenticates_the_token_and_holds_no_secret() {
        let opts = TokenOptions {
            name: "tax desk".into(),
            role: "department".into(),
            department: Some("tax".into()),
        };
        let (token, entry) = new_token(&opts);
        assert_eq!(token.len(), 43);
        assert!(!entry.contains(&token));
        let config: toml::Value = toml::from_str(&entry).unwrap();
        let api: ApiConfig = config["api"].clone().try_into().unwrap();
        let checks = crate::catalog::load(std::path::Path::new("checks")).unwrap();
        api.validate(&checks).unwrap();
        let who = crate::web::api::authenticate(&api, &token).unwrap();
        assert_eq!(who.name, "tax desk");
        assert_eq!(
            who.access,
            crate::web::api::Access::Department("tax".into())
        );
    }
}
