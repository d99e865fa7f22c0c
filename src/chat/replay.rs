//! Refusing replays of signed requests. Slack never resends a slash command or an interaction,
//! and Discord sends each interaction once, so a request seen before (for Slack the same
//! timestamp and body, however its signature is spelt; for Discord the same interaction id) is a
//! copy someone captured and sent again within the signature's time window. Each request's key is
//! remembered here, in memory, until its timestamp leaves the window, and in the database
//! (`processed_events`), where every instance sharing it, and this one after a restart, sees it.
//! On a SQLite file the store itself keeps the keys in memory and writes them a millisecond or
//! so after the request was accepted (`store/keys.rs`), and this guard keeps none.
//! The database is given a moment only (`first_in_database`): busy (an import), the in-memory
//! guard has already refused a replay to this instance, and the acknowledgement must not miss the
//! platform's three seconds. (Slack events are retried and de-duplicated by `event_id` instead.)

use std::fmt::Write;
use std::sync::Mutex;

use super::slack::verify::MAX_SKEW_SECONDS;
use crate::store::{fingerprint, Recent, Store};

/// The signatures accepted within the window, each until its timestamp leaves it (Unix
/// seconds). Each key is kept as 128 bits (`RequestKey::fingerprint`: a Slack request's from
/// its signature's tag, any other's from its SHA-256): 16 bytes instead of a 46-character
/// string on the heap, for the hundreds of thousands of requests five minutes can bring.
#[derive(Default)]
pub(crate) struct ReplayGuard {
    seen: Mutex<Recent<i64>>,
}

/// How long the shared replay check may take before the request is answered anyway.
const CHECK_WITHIN: std::time::Duration = std::time::Duration::from_millis(300);

/// Whether no instance sharing the database has accepted the request `key` before (true when
/// the database does not answer in time: the in-memory guard has then decided alone).
async fn first_in_database(store: &Store, key: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    match tokio::time::timeout(CHECK_WITHIN, store.first_request(key, now)).await {
        Ok(Ok(first)) => first,
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "could not record a request id; accepting it once here");
            true
        }
        Err(_) => {
            tracing::warn!("the database is busy; the replay check fell back to this instance");
            true
        }
    }
}

/// A signed request's key: as the database records it (`text`), and as memory remembers it
/// (`fingerprint`, 128 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestKey {
    pub(crate) text: String,
    pub(crate) fingerprint: u128,
}

impl RequestKey {
    /// A key of another form (`discord:{id}`), remembered by its own SHA-256.
    pub(crate) fn of(text: String) -> RequestKey {
        RequestKey { fingerprint: fingerprint(&text), text }
    }
}

/// A Slack request's key: `s:`, its send time (Unix seconds), then the first 128 bits of its
/// signature's tag (`verify::Signed`: the HMAC-SHA256 of its timestamp and body, which only one
/// spelling of the signature verifies), which are also its fingerprint (`store::fingerprint`
/// reads them back from the text: a key read from the database after a restart is remembered
/// as the request that made it was). The time comes first so that the keys of requests arriving
/// together sort together, in the part of the key index the last seconds fill; and the key is
/// short (46 characters), so that more of them share each page the database writes. 128 bits
/// of the tag keep two requests apart as surely as the whole tag: no one without the signing
/// secret makes a tag at all. Verifying the signature already hashed the body; the key costs
/// no second pass over it.
pub(crate) fn request_key(signed: &super::slack::verify::Signed) -> RequestKey {
    let first: [u8; 16] = std::array::from_fn(|i| signed.tag[i]);
    let mut hex = [0u8; 32];
    // 16 bytes always fit 32 hex digits.
    let _ = hex::encode_to_slice(first, &mut hex);
    let mut text = String::with_capacity(46);
    let _ = write!(text, "s:{:011}:", signed.sent_at);
    text.push_str(std::str::from_utf8(&hex).unwrap_or_default());
    RequestKey { fingerprint: u128::from_le_bytes(first), text }
}

impl ReplayGuard {
    /// True the first time the request `key` (sent at `sent_at`, Unix seconds) is presented to
    /// any instance sharing `store`, or to this one. A store on a SQLite file keeps the keys of
    /// the last minutes in memory itself (`Store::first_request_remembered`), and decides at
    /// once, without a future to wait on: this guard would only remember every key a second
    /// time. Elsewhere the guard refuses a replay to this instance before the database is asked.
    pub(crate) async fn first(
        &self,
        store: &Store,
        key: &RequestKey,
        sent_at: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        if let Some(first) = store.first_request_remembered(&key.text, key.fingerprint, now) {
            return first;
        }
        if !self.first_seen(key.fingerprint, sent_at, now.timestamp()) {
            return false;
        }
        // Boxed: the database's future is large, and rarely needed on a SQLite file.
        Box::pin(first_in_database(store, &key.text, now)).await
    }

    /// True the first time the key `fingerprint` (of a request sent at `sent_at`) is presented
    /// to this guard; `now` and `sent_at` are Unix seconds.
    fn first_seen(&self, fingerprint: u128, sent_at: i64, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.remember(fingerprint, now, sent_at + MAX_SKEW_SECONDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn signed(sent_at: i64, tag_byte: u8) -> super::super::slack::verify::Signed {
        let mut tag = [tag_byte; 32];
        tag[31] = 0xee;
        super::super::slack::verify::Signed { sent_at, tag }
    }

    #[test]
    fn request_keys_sort_by_time_and_differ_by_tag() {
        let key = |sent_at, tag_byte| request_key(&signed(sent_at, tag_byte)).text;
        let first = key(1_800_000_000, 0xab);
        assert_eq!(first, format!("s:01800000000:{}", "ab".repeat(16)));
        assert_eq!(first.len(), 46, "{first}");
        assert_eq!(first, key(1_800_000_000, 0xab));
        assert_ne!(first, key(1_800_000_000, 0xac));
        assert!(key(999_999_999, 0xff) < first, "earlier sorts first");
    }

    #[test]
    fn a_request_keys_fingerprint_is_the_one_its_text_is_remembered_by() {
        for (sent_at, tag_byte) in [(1_800_000_000, 0x01), (0, 0x00), (1_531_420_618, 0xfe)] {
            let key = request_key(&signed(sent_at, tag_byte));
            // The first 16 bytes of the tag.
            assert_eq!(key.fingerprint, u128::from_le_bytes([tag_byte; 16]), "{}", key.text);
            // After a restart the key is read back as text: the same fingerprint.
            assert_eq!(fingerprint(&key.text), key.fingerprint, "{}", key.text);
        }
        let other = RequestKey::of("discord:1234".into());
        let digest = Sha256::digest(b"discord:1234");
        assert_eq!(other.fingerprint, u128::from_le_bytes(digest[..16].try_into().unwrap()));
    }

    #[test]
    fn a_key_is_the_signed_request_it_names() {
        use crate::chat::slack::verify::verify_signature;
        use hmac::{Hmac, Mac};
        let sign = |timestamp: &str, body: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
            mac.update(format!("v0:{timestamp}:{body}").as_bytes());
            format!("v0={}", hex::encode(mac.finalize().into_bytes()))
        };
        let key = |timestamp: &str, body: &str| {
            let signed = verify_signature(
                "secret",
                timestamp,
                &sign(timestamp, body),
                body.as_bytes(),
                1000,
            )
            .unwrap();
            request_key(&signed).text
        };
        assert_eq!(key("1000", "a=1"), key("1000", "a=1"), "the same request");
        assert_ne!(key("1000", "a=1"), key("1000", "a=2"), "another body");
        assert_ne!(key("1000", "a=1"), key(" 1000", "a=1"), "another timestamp's text");
        assert!(key("999", "a=1").starts_with("s:00000000999:"));
    }

    #[test]
    fn a_signature_is_accepted_once_while_it_could_verify() {
        let guard = ReplayGuard::default();
        assert!(guard.first_seen(fingerprint("v0=a"), 1000, 1000));
        assert!(!guard.first_seen(fingerprint("v0=a"), 1000, 1200));
        assert!(guard.first_seen(fingerprint("v0=b"), 1000, 1200));
        // Once its timestamp is out of the window the signature cannot verify any more, so it
        // is forgotten.
        assert!(guard.first_seen(fingerprint("v0=c"), 1400, 1400));
        assert!(guard.seen.lock().unwrap().len() == 1);
    }
}
