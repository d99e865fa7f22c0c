//! Verifying that a request comes from Slack: HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the
//! signing secret, compared in constant time, with the timestamp within five minutes of the
//! app's clock either way.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock, either way (Slack's recommendation).
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";

/// Why a request was not accepted as Slack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the signature or timestamp header is missing")]
    MissingHeader,
    #[error("the timestamp is not a number")]
    BadTimestamp,
    #[error("the timestamp is more than five minutes away from now")]
    OutsideWindow,
    #[error("the signature is malformed")]
    MalformedSignature,
    #[error("the signature does not match")]
    Mismatch,
}

/// A request Slack signed: the send time its timestamp gives (Unix seconds), and the
/// signature's tag, the HMAC-SHA256 of exactly what was signed (its timestamp and body). Only
/// one spelling of a tag verifies (lowercase hex), so the tag names the request: the replay
/// guard keys a request by it (`chat::replay::request_key`) without hashing the body again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    pub sent_at: i64,
    pub tag: [u8; 32],
}

/// Checks Slack's signature of `body`, sent at `timestamp` (the header's text), at time `now`
/// (Unix seconds).
pub fn verify_signature(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> Result<Signed, Refusal> {
    let sent_at: i64 = timestamp.trim().parse().map_err(|_| Refusal::BadTimestamp)?;
    if (now - sent_at).abs() > MAX_SKEW_SECONDS {
        return Err(Refusal::OutsideWindow);
    }
    let given = signature.strip_prefix("v0=").ok_or(Refusal::MalformedSignature)?;
    // Slack sends lowercase hex; any other spelling of the same bytes is not its signature (a
    // re-cased copy must not pass as a new request).
    if !given.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Refusal::MalformedSignature);
    }
    // An HMAC-SHA256 tag is 32 bytes: 64 hex digits, no more, no fewer.
    let mut tag = [0u8; 32];
    hex::decode_to_slice(given, &mut tag).map_err(|_| Refusal::MalformedSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| Refusal::Mismatch)?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&tag).map_err(|_| Refusal::Mismatch)?;
    Ok(Signed { sent_at, tag })
}

/// Checks the headers of a request against its raw body.
pub fn verify_request(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Signed, Refusal> {
    let header =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).ok_or(Refusal::MissingHeader);
    let timestamp = header(TIMESTAMP_HEADER)?;
    let signature = header(SIGNATURE_HEADER)?;
    verify_signature(secret, timestamp, signature, body, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_example_verifies_at_its_own_time() {
        let signed = verify_signature(SECRET, TIMESTAMP, SIGNATURE, BODY.as_bytes(), 1531420618);
        // The tag is the signature's bytes, the send time the timestamp's.
        let tag: [u8; 32] = hex::decode(&SIGNATURE[3..]).unwrap().try_into().unwrap();
        assert_eq!(signed, Ok(Signed { sent_at: 1531420618, tag }));
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        let at = 1531420618;
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, SIGNATURE, BODY.as_bytes(), at + 300).map(drop),
            Ok(())
        );
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, SIGNATURE, BODY.as_bytes(), at - 300).map(drop),
            Ok(())
        );
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, SIGNATURE, BODY.as_bytes(), at + 301),
            Err(Refusal::OutsideWindow)
        );
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, SIGNATURE, BODY.as_bytes(), at - 301),
            Err(Refusal::OutsideWindow)
        );
    }

    #[test]
    fn a_changed_body_secret_or_signature_is_refused() {
        let at = 1531420618;
        let tampered = BODY.replace("text=", "text=x");
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, SIGNATURE, tampered.as_bytes(), at),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify_signature("another-secret", TIMESTAMP, SIGNATURE, BODY.as_bytes(), at),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, "v0=zz", BODY.as_bytes(), at),
            Err(Refusal::MalformedSignature)
        );
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, &SIGNATURE[3..], BODY.as_bytes(), at),
            Err(Refusal::MalformedSignature)
        );
        // A tag of another length is no HMAC-SHA256 tag.
        for given in [&SIGNATURE[..SIGNATURE.len() - 2], &format!("{SIGNATURE}00")] {
            assert_eq!(
                verify_signature(SECRET, TIMESTAMP, given, BODY.as_bytes(), at),
                Err(Refusal::MalformedSignature),
                "{given}"
            );
        }
        assert_eq!(
            verify_signature(SECRET, "soon", SIGNATURE, BODY.as_bytes(), at),
            Err(Refusal::BadTimestamp)
        );
    }

    #[test]
    fn only_the_lowercase_hex_slack_sends_is_accepted() {
        let upper = format!("v0={}", SIGNATURE[3..].to_uppercase());
        assert_eq!(
            verify_signature(SECRET, TIMESTAMP, &upper, BODY.as_bytes(), 1531420618),
            Err(Refusal::MalformedSignature)
        );
    }

    #[test]
    fn missing_headers_are_refused() {
        assert_eq!(
            verify_request(SECRET, &HeaderMap::new(), BODY.as_bytes(), 1531420618),
            Err(Refusal::MissingHeader)
        );
    }
}
