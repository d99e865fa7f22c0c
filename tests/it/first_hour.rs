//! What a newcomer meets in the first hour (issue "A first hour without surprises"): advice that
//! works, buttons that work, answers that name their assumptions; on both backends.

use std::collections::HashMap;

use keepable::app::reply::Reply;
use keepable::config::Settings;

use crate::support::{action, actor, demo_app, on_both_databases, settings, TestDb};

fn verbs(reply: &Reply) -> Vec<String> {
    reply.actions.iter().map(|a| a.action.verb().to_string()).collect()
}

on_both_databases!(no_button_is_offered_that_would_fail_and_deal_names_the_deal);
async fn no_button_is_offered_that_would_fail_and_deal_names_the_deal(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-LOBBY");
    let unbound = app.ask(&seller, "/earliest-start crm-rollout").await;
    assert!(!verbs(&unbound).iter().any(|v| v == "commit_start" || v == "hold"), "{unbound:?}");
    assert!(unbound.to_text().contains("add deal=<deal>"), "{}", unbound.to_text());

    app.ask(&actor("U-SELLER", "C-ACME"), "/deal new Acme package=crm-rollout").await;
    let named = app.ask(&seller, "/earliest-start crm-rollout deal=acme").await;
    let committed = app.act(&seller, &action(&named, "commit_start"), &HashMap::new()).await;
    assert_eq!(committed.kind, "commitment", "{committed:?}");
    let shown = app.ask(&seller, "/deal show deal=acme").await;
    assert_eq!(shown.data["commitments"][0]["kind"], "start", "{shown:?}");

    let stranger = actor("U-STRANGER", "C-LOBBY");
    let theirs = app.ask(&stranger, "/earliest-start crm-rollout deal=acme").await;
    let refused = app.act(&stranger, &action(&theirs, "commit_start"), &HashMap::new()).await;
    assert!(refused.is_error(), "only the deal's seller or a sales lead: {refused:?}");
    let unknown = app.ask(&seller, "/comparables crm-rollout deal=nope").await;
    assert!(unknown.is_error() && unknown.to_text().contains("nope"), "{unknown:?}");
}

on_both_databases!(with_no_approvers_nobody_is_sent_to_wait_for_one);
async fn with_no_approvers_nobody_is_sent_to_wait_for_one(db: TestDb) {
    let app = demo_app(&db, Settings { approvers: Vec::new(), ..settings() }).await;
    let seller = actor("U-SELLER", "C-ACME");
    app.ask(&seller, "/deal new Acme package=crm-rollout").await;
    let answer =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    assert_eq!(answer.data["deadline"]["approval_required"], true);
    assert!(!verbs(&answer).contains(&"request_approval".to_string()), "{answer:?}");
    assert!(answer.to_text().contains("No approvers are configured"), "{}", answer.to_text());
}

on_both_databases!(a_near_match_is_one_press_from_its_answer_and_scope_knows_the_library);
async fn a_near_match_is_one_press_from_its_answer_and_scope_knows_the_library(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-ACME");
    app.ask(&seller, "/deal new Acme package=crm-rollout").await;
    let near = app.ask(&seller, "/included single sign on thing").await;
    let suggested = near.data["suggestions"][0].as_str().unwrap().to_string();
    let pressed = app.act(&seller, &action(&near, "answer_for"), &HashMap::new()).await;
    assert_eq!(pressed.kind, "inclusion", "{pressed:?}");
    assert_eq!(pressed.data["name"], suggested.as_str());
    assert!(pressed.data["deliverable"].is_string());

    let scoped = app.ask(&seller, "/scope Single sign-on").await;
    assert_eq!(scoped.kind, "inclusion", "already in the library: {scoped:?}");
    assert!(scoped.to_text().contains("no ticket is needed"));
    assert_eq!(app.store.count("tickets").await.unwrap(), 0);

    let first = app.ask(&seller, "/scope Salesforce CPQ with approval chains").await;
    let second = app.ask(&seller, "/scope salesforce cpq with approval chains").await;
    assert_eq!(first.kind, "ticket");
    assert!(second.headline.contains("already open"), "{second:?}");
    assert_eq!(app.store.count("tickets").await.unwrap(), 1, "{}", db.url);
}

on_both_databases!(answers_name_their_assumptions_and_why_a_team_cannot_start);
async fn answers_name_their_assumptions_and_why_a_team_cannot_start(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-X");
    let deadline = app.ask(&seller, "/comparables crm-rollout deadline=2027-01-29").await;
    let start = deadline.data["deadline"]["start"].as_str().unwrap().to_string();
    let start: chrono::NaiveDate = start.parse().unwrap();
    let shown = start.format("%a %-d %b %Y").to_string();
    assert!(deadline.to_text().contains(&format!("from {shown}")), "{}", deadline.to_text());
    let recent = app.ask(&seller, "/comparables crm-rollout").await;
    assert!(recent.to_text().contains("The most recent"), "{}", recent.to_text());
    let near = app.ask(&seller, "/comparables crm-rollout effort=1,400").await;
    assert!(near.to_text().contains("Nearest to 1400 h of effort"), "{}", near.to_text());

    let impossible =
        app.ask(&seller, "/earliest-start roles=architect:40@16, analyst:1@80 weeks=4").await;
    let text = impossible.to_text();
    assert!(text.contains("cannot be staffed"), "{text}");
    assert!(text.contains("40 × Solution architect needed, but the firm has"), "{text}");
    assert!(text.contains("Analyst at 80 h/week is more than anyone in that role works"), "{text}");
    let by_name = app.ask(&seller, "/earliest-start roles=Solution architect:1@16 weeks=4").await;
    assert_eq!(by_name.kind, "earliest_start", "{by_name:?}");
}
