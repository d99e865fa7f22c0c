//! `POST /slack/baseline`, the load benchmark's yardstick: absent unless `load_baseline` is set;
//! when set, the same signature check as `/slack/commands` and a constant answer, nothing more.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{command_form, platforms, sign, Harness, FORM};
use crate::support::{demo_app, on_both_databases, settings, TestDb, TestServer};
use keepable::server::Intervals;

fn form() -> String {
    command_form("U-SELLER", "C-DEALS", "/earliest-start", "crm-rollout", "http://127.0.0.1:9/")
}

#[tokio::test]
async fn the_baseline_route_is_absent_unless_asked_for() {
    let db = TestDb::sqlite();
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    let response = slack.post_signed("/slack/baseline", FORM, &form()).await;
    assert_eq!(response.status(), 404);
}

on_both_databases!(the_baseline_route_answers_a_constant_to_signed_requests_only);
async fn the_baseline_route_answers_a_constant_to_signed_requests_only(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    let mut with_baseline = platforms(&slack.fake);
    let mut settings = with_baseline.slack.as_deref().unwrap().clone();
    settings.load_baseline = true;
    with_baseline.slack = Some(Arc::new(settings));
    let server = TestServer::start(slack.app.clone(), with_baseline, Intervals::STEPPED).await;
    let now = slack.app.clock.now().timestamp();
    let post = |timestamp: i64, signature: String| {
        slack
            .http
            .post(server.url("/slack/baseline"))
            .header("content-type", FORM)
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", signature)
            .body(form())
            .send()
    };

    // The same signed request twice: no replay guard, the same constant both times.
    for _ in 0..2 {
        let response = post(now, sign(now, form().as_bytes())).await.unwrap();
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer, json!({"response_type": "ephemeral", "text": "ok"}));
    }
    let forged = sign(now, b"another body");
    assert_eq!(post(now, forged).await.unwrap().status(), 401, "a signature of another body");
    let stale = now - 6 * 60;
    assert_eq!(post(stale, sign(stale, form().as_bytes())).await.unwrap().status(), 401);
    let unsigned = slack.http.post(server.url("/slack/baseline")).body(form()).send();
    assert_eq!(unsigned.await.unwrap().status(), 401);

    // No database: with the store closed it still answers, where a command only apologises.
    slack.app.store.close().await;
    let response = post(now, sign(now, form().as_bytes())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["text"], "ok");
    let command = slack.command("U-SELLER", "C-DEALS", "/earliest-start crm-rollout").await;
    let apology = super::text_of(&command);
    assert!(apology.contains("went wrong"), "the command path reads the database: {apology}");
}
