//! Who gets in: the published vector with the clock injected, forged, foreign, stale, unsigned,
//! replayed and oversized requests, and the PING Discord sends to check the endpoint.

use chrono::{DateTime, Duration};
use serde_json::json;

use super::{sign_with, signing_key, sub, text, Harness, OUTSIDER, SELLER};
use crate::support::{now, TestDb};

/// The signature of timestamp `1700000000` + body `{"type":1}` with the RFC 8032 test 1 key.
const VECTOR: &str =
    "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f";

#[tokio::test]
async fn the_rfc_8032_vector_verifies_with_the_clock_injected_at_its_timestamp() {
    let db = TestDb::sqlite();
    let harness =
        Harness::with(&db, DateTime::from_timestamp(1_700_000_000, 0).unwrap(), |_| {}).await;
    assert_eq!(
        harness.sign("1700000000", br#"{"type":1}"#),
        VECTOR,
        "the test signer agrees with the published vector"
    );
    let headers = [("X-Signature-Ed25519", VECTOR), ("X-Signature-Timestamp", "1700000000")];
    let answer = harness.post_raw(&headers, br#"{"type":1}"#.to_vec()).await;
    assert_eq!((answer.status, answer.body), (200, json!({ "type": 1 })));
}

#[tokio::test]
async fn the_same_vector_is_refused_with_401_by_todays_clock() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let headers = [("X-Signature-Ed25519", VECTOR), ("X-Signature-Timestamp", "1700000000")];
    assert_eq!(harness.post_raw(&headers, br#"{"type":1}"#.to_vec()).await.status, 401);
}

#[tokio::test]
async fn a_ping_is_answered_with_pong() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let ping = json!({ "id": "1300000000000000999", "application_id": super::APPLICATION_ID, "type": 1, "token": "t", "version": 1 });
    let answer = harness.post(&ping).await;
    assert_eq!((answer.status, answer.body), (200, json!({ "type": 1 })));
}

#[tokio::test]
async fn a_forged_signature_is_refused_with_401() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let body = harness
        .command(SELLER, "staffing", json!([text("package", "crm-rollout")]))
        .to_string()
        .into_bytes();
    let timestamp = harness.timestamp();
    let good = harness.sign(&timestamp, &body);
    let mut flipped = hex::decode(&good).unwrap();
    flipped[10] ^= 0x01;
    let forgeries = [
        hex::encode(flipped),
        harness.sign(&timestamp, br#"{"type":1}"#),
        harness.sign(&(now().timestamp() - 1).to_string(), &body),
        "00".repeat(64),
        "not hex at all".into(),
        good[..126].to_string(),
    ];
    for forged in &forgeries {
        let answer = harness
            .post_raw(
                &[("X-Signature-Ed25519", forged), ("X-Signature-Timestamp", &timestamp)],
                body.clone(),
            )
            .await;
        assert_eq!(answer.status, 401, "forged signature {forged} got {answer:?}");
    }
    let answer = harness
        .post_raw(&[("X-Signature-Ed25519", &good), ("X-Signature-Timestamp", &timestamp)], body)
        .await;
    assert_eq!(answer.status, 200, "the genuine request still gets in: {answer:?}");
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused_with_401() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    // RFC 8032 TEST 2's secret key: a valid key, just not this application's.
    let other = signing_key("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
    let timestamp = harness.timestamp();
    let signature = sign_with(&other, &timestamp, br#"{"type":1}"#);
    let answer = harness
        .post_raw(
            &[("X-Signature-Ed25519", &signature), ("X-Signature-Timestamp", &timestamp)],
            br#"{"type":1}"#.to_vec(),
        )
        .await;
    assert_eq!(answer.status, 401, "{answer:?}");
}

#[tokio::test]
async fn a_timestamp_more_than_five_minutes_away_is_refused_with_401() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let body = br#"{"type":1}"#.to_vec();
    for (offset, expected) in
        [(-301, 401), (301, 401), (-3600, 401), (-299, 200), (299, 200), (0, 200)]
    {
        let timestamp = (now() + Duration::seconds(offset)).timestamp().to_string();
        let signature = harness.sign(&timestamp, &body);
        let answer = harness
            .post_raw(
                &[("X-Signature-Ed25519", &signature), ("X-Signature-Timestamp", &timestamp)],
                body.clone(),
            )
            .await;
        assert_eq!(answer.status, expected, "timestamp {offset:+}s from now: {answer:?}");
    }
}

#[tokio::test]
async fn missing_signature_headers_are_refused_with_401() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let body = br#"{"type":1}"#.to_vec();
    let timestamp = harness.timestamp();
    let signature = harness.sign(&timestamp, &body);
    let header_sets: [&[(&str, &str)]; 4] = [
        &[],
        &[("X-Signature-Ed25519", &signature)],
        &[("X-Signature-Timestamp", &timestamp)],
        &[("X-Signature-Ed25519", ""), ("X-Signature-Timestamp", "")],
    ];
    for headers in header_sets {
        let answer = harness.post_raw(headers, body.clone()).await;
        assert_eq!(answer.status, 401, "headers {headers:?}: {answer:?}");
    }
}

#[tokio::test]
async fn a_replayed_interaction_is_refused_and_acts_only_once() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let options =
        json!([sub("new", json!([text("name", "Replay Co"), text("package", "crm-rollout")]))]);
    let command = harness.command(SELLER, "deal", options);
    let first = harness.post(&command).await;
    assert_eq!(first.kind(), 4, "{first:?}");
    let replay = harness.post(&command).await;
    assert_eq!(replay.status, 401, "the same interaction id again is a replay: {replay:?}");
    let deals = harness
        .app
        .store
        .audit_entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("deal."))
        .count();
    assert_eq!(deals, 1, "the deal was created once");
    // A new interaction with the same content is not a replay.
    let again =
        harness.post(&harness.command(SELLER, "deal", json!([sub("show", json!([]))]))).await;
    assert_eq!(again.kind(), 4, "{again:?}");
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_413() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let limit = keepable::server::MAX_BODY;
    let padded = |size: usize| {
        let skeleton = r#"{"type":1,"pad":""}"#;
        format!(r#"{{"type":1,"pad":"{}"}}"#, "x".repeat(size - skeleton.len())).into_bytes()
    };
    let at_limit = harness.post_signed_bytes(padded(limit)).await;
    assert_eq!(
        (at_limit.status, at_limit.body),
        (200, json!({ "type": 1 })),
        "exactly 1 MiB is allowed"
    );
    let over = harness.post_signed_bytes(padded(limit + 1)).await;
    assert_eq!(over.status, 413, "one byte more is refused");
}

#[tokio::test]
async fn a_chunked_body_over_one_mebibyte_is_refused_with_413_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let stream = tokio::net::TcpStream::connect(harness.server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // No Content-Length: the limit must hold while the body streams in.
    tokio::spawn(async move {
        let head = "POST /discord/interactions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\nX-Signature-Ed25519: 00\r\nX-Signature-Timestamp: 0\r\n\r\n";
        let _ = writer.write_all(head.as_bytes()).await;
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        for _ in 0..17 {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
    });
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(10), reader.read_to_end(&mut response))
            .await;
    assert!(read.is_ok(), "the server answered and closed the connection");
    let status_line =
        String::from_utf8_lossy(&response).lines().next().unwrap_or_default().to_string();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
}

impl Harness {
    async fn post_signed_bytes(&self, body: Vec<u8>) -> super::Answer {
        let timestamp = self.timestamp();
        let signature = self.sign(&timestamp, &body);
        self.post_raw(
            &[("X-Signature-Ed25519", &signature), ("X-Signature-Timestamp", &timestamp)],
            body,
        )
        .await
    }
}

/// The bot serves one firm: an interaction from another server is refused with 403 and changes
/// nothing; a direct message is served to a member of the firm's server only.
#[tokio::test]
async fn interactions_from_another_server_or_a_stranger_s_direct_message_are_refused() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let mut elsewhere =
        harness.command(SELLER, "staffing", json!([text("package", "crm-rollout")]));
    elsewhere["guild_id"] = json!("1100000000000000999");
    assert_eq!(harness.post(&elsewhere).await.status, 403);

    let member_dm = harness.in_dm(
        harness.command(SELLER, "staffing", json!([text("package", "crm-rollout")])),
        "7000000000000000001",
    );
    assert_eq!(harness.post(&member_dm).await.status, 200);
    let outsider_dm = harness.in_dm(
        harness.command(OUTSIDER, "staffing", json!([text("package", "crm-rollout")])),
        "7000000000000000002",
    );
    assert_eq!(harness.post(&outsider_dm).await.status, 403);
}

/// Text a person typed stays text on Discord: a hostile deal name on the leadership card cannot
/// ping anyone or mask a link, and every message says nobody is to be notified by its text.
#[tokio::test]
async fn a_hostile_deal_name_reaches_the_leadership_card_escaped_with_no_mentions_allowed() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let seller = keepable::app::Actor::new(SELLER.id, "1200000000000000009");
    let hostile = "@everyone [Approve](https://evil.example) <@900000000000000002>";
    harness.app.ask(&seller, &format!("/deal new \"{hostile}\" package=crm-rollout")).await;
    let answer = harness
        .app
        .ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07")
        .await;
    let request = answer
        .actions
        .iter()
        .find(|a| a.action.verb() == "request_approval")
        .expect("a request button");
    let requested =
        harness.app.act(&seller, &request.action.to_string(), &Default::default()).await;
    assert_eq!(requested.kind, "approval_requested", "{requested:?}");
    harness.deliver().await;
    let posts = harness.fake.calls_to("POST", "/channels/*/messages");
    let card =
        posts.iter().find(|call| call.body.to_string().contains("evil.example")).expect("the card");
    assert_eq!(card.body["allowed_mentions"]["parse"], json!([]), "{}", card.body);
    let shown = card.body["embeds"][0]["description"].as_str().unwrap_or_default().to_string();
    assert!(!shown.contains("[Approve](https"), "a masked link survived: {shown}");
    assert!(!shown.contains("@everyone"), "a mention survived: {shown}");
}
