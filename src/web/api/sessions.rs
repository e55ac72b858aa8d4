//! Signed-in browsers and one-time sign-in links.
//!
//! A browser that signs in gets a random session id in an HttpOnly cookie;
//! the server keeps what it grants under a hash of the id (a leaked memory
//! dump or log line names no usable id), until it expires or the browser
//! signs out. The token itself never leaves the sign-in request. A sign-in
//! link carries a random one-time code instead: it works once, within
//! [`LINK_TTL`], and is made only for a caller who already holds a token
//! (the demo, or a script that drives a browser).
//!
//! Sessions live in memory: a restart signs everyone out.

use std::time::{Duration, Instant};

use base64::Engine as _;
use dashmap::DashMap;

use super::auth::Identity;

/// How long a sign-in link works if nobody uses it.
pub const LINK_TTL: Duration = Duration::from_secs(600);

/// Sessions (or unused links) kept at most; past it, sign-in is refused
/// until some expire, so repeated sign-ins cannot exhaust memory.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    identity: Identity,
    expires: Instant,
}

/// Hash of an id or code: the key it is kept under.
type Key = [u8; 32];

fn key(secret: &str) -> Key {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

/// 32 random bytes, base64url: 43 characters, safe in a cookie and a path.
fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub struct Sessions {
    ttl: Duration,
    link_ttl: Duration,
    sessions: DashMap<Key, Entry>,
    links: DashMap<Key, Entry>,
}

impl Sessions {
    /// Sessions that last `ttl` after sign-in.
    pub fn new(ttl: Duration) -> Self {
        Self::with_link_ttl(ttl, LINK_TTL)
    }

    pub(crate) fn with_link_ttl(ttl: Duration, link_ttl: Duration) -> Self {
        Self {
            ttl,
            link_ttl,
            sessions: DashMap::new(),
            links: DashMap::new(),
        }
    }

    /// Keeps `identity` under a new secret for `ttl`; `None` when full.
    fn insert(map: &DashMap<Key, Entry>, identity: Identity, ttl: Duration) -> Option<String> {
        let now = Instant::now();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.expires > now);
            if map.len() >= MAX_ENTRIES {
                return None;
            }
        }
        let secret = random_secret();
        map.insert(
            key(&secret),
            Entry {
                identity,
                expires: now + ttl,
            },
        );
        Some(secret)
    }

    /// A new session for `identity`: its id, for the cookie.
    pub(crate) fn open(&self, identity: Identity) -> Option<String> {
        Self::insert(&self.sessions, identity, self.ttl)
    }

    /// Who a session id belongs to, while it lasts.
    pub(crate) fn identity(&self, id: &str) -> Option<Identity> {
        let k = key(id);
        let entry = self.sessions.get(&k)?;
        if entry.expires > Instant::now() {
            return Some(entry.identity.clone());
        }
        drop(entry);
        self.sessions.remove(&k);
        None
    }

    /// Signs a session out.
    pub(crate) fn close(&self, id: &str) {
        self.sessions.remove(&key(id));
    }

    /// A one-time sign-in code for `identity`.
    pub(crate) fn link(&self, identity: Identity) -> Option<String> {
        Self::insert(&self.links, identity, self.link_ttl)
    }

    /// Uses a sign-in code up: who it was for, if it is still good.
    pub(crate) fn redeem(&self, code: &str) -> Option<Identity> {
        let (_, entry) = self.links.remove(&key(code))?;
        (entry.expires > Instant::now()).then_some(entry.identity)
    }

    /// How long a session lasts.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long a sign-in link works.
    pub(crate) fn link_ttl(&self) -> Duration {
        self.link_ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::api::Access;

    fn officer() -> Identity {
        Identity {
            access: Access::Officer,
            name: "o".into(),
        }
    }

    #[test]
    fn a_session_lasts_until_closed_or_expired() {
        let s = Sessions::new(Duration::from_secs(60));
        let id = s.open(officer()).unwrap();
        assert_eq!(id.len(), 43);
        assert_eq!(s.identity(&id).map(|i| i.access), Some(Access::Officer));
        assert!(s.identity("someone-else's").is_none());
        s.close(&id);
        assert!(s.identity(&id).is_none(), "signed out");

        let short = Sessions::new(Duration::ZERO);
        let id = short.open(officer()).unwrap();
        assert!(short.identity(&id).is_none(), "expired");
    }

    #[test]
    fn a_link_works_once_and_not_after_it_expires() {
        let s = Sessions::new(Duration::from_secs(60));
        let code = s.link(officer()).unwrap();
        assert_ne!(code, s.link(officer()).unwrap(), "random");
        assert!(s.redeem(&code).is_some());
        assert!(s.redeem(&code).is_none(), "used up");
        let expired = Sessions::with_link_ttl(Duration::from_secs(60), Duration::ZERO);
        let code = expired.link(officer()).unwrap();
        assert!(expired.redeem(&code).is_none());
    }
}
