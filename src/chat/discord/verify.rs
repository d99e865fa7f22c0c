//! Request verification: Discord signs `X-Signature-Timestamp` + raw body with the application's
//! Ed25519 key. Discord documents no freshness window, so we keep our own (5 minutes either way)
//! against the injected clock, which bounds how long a captured request can be replayed.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};

/// How far a request's timestamp may be from our clock, in seconds, in either direction.
pub const WINDOW_SECONDS: i64 = 5 * 60;

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// Why a request was refused (logged, never shown: the answer is a bare 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the signature is not 64 bytes of hex")]
    MalformedSignature,
    #[error("the timestamp is not a number of seconds")]
    MalformedTimestamp,
    #[error("the timestamp is {0} seconds away from our clock")]
    OutsideWindow(i64),
    #[error("the signature does not match")]
    BadSignature,
    #[error("no valid public key is configured")]
    NoKey,
}

/// Checks signatures against one application public key.
#[derive(Debug, Clone)]
pub struct SignatureVerifier {
    key: Option<VerifyingKey>,
}

impl SignatureVerifier {
    /// Parses the hex public key from the Developer Portal.
    pub fn from_hex(public_key: &str) -> Result<SignatureVerifier, anyhow::Error> {
        let bytes: [u8; 32] = hex::decode(public_key.trim())?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a public key is 32 bytes"))?;
        Ok(SignatureVerifier { key: Some(VerifyingKey::from_bytes(&bytes)?) })
    }

    /// A verifier that refuses everything (a misconfigured key must not open the endpoint).
    pub fn refusing() -> SignatureVerifier {
        SignatureVerifier { key: None }
    }

    /// Verifies the two signature headers against `body` at `now`: the signed send time.
    pub fn verify_request(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<i64, Refusal> {
        let header = |name: &'static str| {
            headers.get(name).and_then(|v| v.to_str().ok()).ok_or(Refusal::MissingHeader(name))
        };
        let signature = header(SIGNATURE_HEADER)?;
        let timestamp = header(TIMESTAMP_HEADER)?;
        self.verify(signature, timestamp, body, now)
    }

    /// Verifies a hex `signature` of `timestamp` + `body`, and that `timestamp` is near `now`;
    /// the signed send time (Unix seconds), which decides how long a replay could still verify.
    pub fn verify(
        &self,
        signature: &str,
        timestamp: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<i64, Refusal> {
        let key = self.key.as_ref().ok_or(Refusal::NoKey)?;
        let seconds: i64 = timestamp.trim().parse().map_err(|_| Refusal::MalformedTimestamp)?;
        let skew = now.timestamp().saturating_sub(seconds);
        if skew.abs() > WINDOW_SECONDS {
            return Err(Refusal::OutsideWindow(skew));
        }
        let bytes: [u8; 64] = hex::decode(signature.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(Refusal::MalformedSignature)?;
        let signature = Signature::from_bytes(&bytes);
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        key.verify_strict(&message, &signature).map_err(|_| Refusal::BadSignature)?;
        Ok(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const VECTOR: &str =
        "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn the_published_vector_verifies_at_its_own_time() {
        let verifier = SignatureVerifier::from_hex(PUBLIC).unwrap();
        assert_eq!(
            verifier.verify(VECTOR, "1700000000", br#"{"type":1}"#, at(1700000000)),
            Ok(1700000000)
        );
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        let verifier = SignatureVerifier::from_hex(PUBLIC).unwrap();
        let body = br#"{"type":1}"#;
        assert_eq!(verifier.verify(VECTOR, "1700000000", body, at(1700000300)), Ok(1700000000));
        assert_eq!(
            verifier.verify(VECTOR, "1700000000", body, at(1700000301)),
            Err(Refusal::OutsideWindow(301))
        );
        assert_eq!(
            verifier.verify(VECTOR, "1700000000", body, at(1699999699)),
            Err(Refusal::OutsideWindow(-301))
        );
    }

    #[test]
    fn a_changed_body_or_malformed_header_is_refused() {
        let verifier = SignatureVerifier::from_hex(PUBLIC).unwrap();
        let now = at(1700000000);
        assert_eq!(
            verifier.verify(VECTOR, "1700000000", br#"{"type":2}"#, now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verifier.verify("zz", "1700000000", br#"{"type":1}"#, now),
            Err(Refusal::MalformedSignature)
        );
        assert_eq!(
            verifier.verify(&VECTOR[2..], "1700000000", br#"{"type":1}"#, now),
            Err(Refusal::MalformedSignature)
        );
        assert_eq!(
            verifier.verify(VECTOR, "soon", br#"{"type":1}"#, now),
            Err(Refusal::MalformedTimestamp)
        );
        assert_eq!(
            SignatureVerifier::refusing().verify(VECTOR, "1700000000", br#"{"type":1}"#, now),
            Err(Refusal::NoKey)
        );
        assert!(SignatureVerifier::from_hex("d75a98").is_err());
    }
}
