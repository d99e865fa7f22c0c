//! Deal integrity (SPEC 5.1, 5.2, 5.5) through the app's own interface, on both backends: who may
//! change and see a deal, channel binding, offers that act once and expire, one current
//! commitment per kind that fits the deadline, one pending approval per kind, one active hold per
//! deal, and user text that stays text.

use std::collections::HashMap;

use chrono::Duration;
use keepable::app::reply::Reply;
use keepable::app::{Actor, App, Clock};
use keepable::config::Settings;
use serde_json::Value;

use crate::support::{action, actor, demo_app, now, on_both_databases, settings, today, TestDb};

/// Presses a button with no form.
async fn press(app: &App, who: &Actor, wire: &str) -> Reply {
    app.act(who, wire, &HashMap::new()).await
}

/// The same store seen `hours` after the tests' `now()`.
fn later(app: &App, settings: Settings, hours: i64) -> App {
    let clock =
        Clock { fixed_now: Some(now() + Duration::hours(hours)), fixed_today: Some(today()) };
    App::new(app.store.clone(), settings, clock).unwrap()
}

/// Opens a deal in `who`'s channel and returns its id.
async fn new_deal(app: &App, who: &Actor, name: &str, package: &str) -> String {
    let created = app.ask(who, &format!("/deal new \"{name}\" package={package}")).await;
    assert_eq!(
        (created.kind.as_str(), created.data["event"].as_str()),
        ("deal", Some("created")),
        "{created:?}"
    );
    created.data["id"].as_str().unwrap().to_string()
}

/// `/deal show <deal>` as its seller (who may always see it).
async fn show(app: &App, seller: &Actor, deal: &str) -> Reply {
    let shown = app.ask(seller, &format!("/deal show {deal}")).await;
    assert_eq!(shown.kind, "deal", "{shown:?}");
    shown
}

/// The deal's commitments of `kind`, as `/deal show` lists them.
fn commitments_of(shown: &Reply, kind: &str) -> Vec<Value> {
    shown.data["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}

/// The deal's holds in `state`, as `/deal show` lists them.
fn holds_in(shown: &Reply, state: &str) -> Vec<Value> {
    shown.data["holds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["state"] == state)
        .cloned()
        .collect()
}

/// Every audit entry as (actor, action).
async fn audit(app: &App) -> Vec<(String, String)> {
    app.store.audit_entries().await.unwrap().into_iter().map(|e| (e.actor, e.action)).collect()
}

/// Whether `user` has an audit entry whose action ends in `.refused`.
async fn refusal_audited(app: &App, user: &str) -> bool {
    audit(app).await.iter().any(|(who, what)| who == user && what.ends_with(".refused"))
}

async fn count(app: &App, table: &str) -> i64 {
    app.store.count(table).await.unwrap()
}

/// Messages queued for the leadership channel.
async fn leadership_messages(app: &App) -> usize {
    app.store
        .outbox_messages()
        .await
        .unwrap()
        .iter()
        .filter(|m| m.target == "channel:leadership")
        .count()
}

on_both_databases!(only_the_seller_or_a_sales_lead_wins_or_loses_a_deal);
async fn only_the_seller_or_a_sales_lead_wins_or_loses_a_deal(db: TestDb) {
    let app = demo_app(&db, Settings { sales_leads: vec!["U-LEAD".into()], ..settings() }).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let deal = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let stranger = actor("U-STRANGER", "C-ELSEWHERE");

    let won = app.ask(&stranger, &format!("/deal won {deal} pm=U-PM")).await;
    assert!(won.is_error(), "{won:?}");
    let lost = app.ask(&stranger, &format!("/deal lost {deal}")).await;
    assert!(lost.is_error(), "{lost:?}");
    assert_eq!(show(&app, &seller, &deal).await.data["status"], "open", "nothing changed");
    assert_eq!(count(&app, "handovers").await, 0);
    let refusals = audit(&app)
        .await
        .into_iter()
        .filter(|(who, what)| who == "U-STRANGER" && what.ends_with(".refused"))
        .count();
    assert_eq!(refusals, 2, "both attempts audited: {:?}", audit(&app).await);

    let lost = app.ask(&seller, "/deal lost").await;
    assert_eq!(
        (lost.kind.as_str(), lost.data["status"].as_str()),
        ("deal", Some("lost")),
        "{lost:?}"
    );

    let other = new_deal(&app, &actor("U-SELLER", "C-OTHER"), "Beta CRM", "crm-rollout").await;
    let lead = actor("U-LEAD", "C-LEADS");
    let won = app.ask(&lead, &format!("/deal won {other} pm=U-PM")).await;
    assert_eq!(
        (won.kind.as_str(), won.data["status"].as_str(), won.data["pm"].as_str()),
        ("deal", Some("won"), Some("U-PM")),
        "{won:?}"
    );
    assert!(audit(&app).await.contains(&("U-LEAD".into(), "deal.won".into())));
}

on_both_databases!(a_pm_must_be_a_person_not_a_channel_or_a_group);
async fn a_pm_must_be_a_person_not_a_channel_or_a_group(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let deal = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    for pm in ["<#C123|general>", "<!subteam^S1>", "#general", "@here"] {
        let won = app.ask(&seller, &format!("/deal won pm={pm}")).await;
        assert!(won.is_error() && won.headline.contains("one person"), "pm={pm}: {won:?}");
    }
    assert_eq!(show(&app, &seller, &deal).await.data["status"], "open");
    assert_eq!(count(&app, "handovers").await, 0);
    assert!(app.store.outbox_messages().await.unwrap().is_empty(), "no handover was sent");
    let refusals = audit(&app)
        .await
        .into_iter()
        .filter(|(who, what)| who == "U-SELLER" && what == "deal.refused")
        .count();
    assert_eq!(refusals, 4);
}

on_both_databases!(a_channel_bound_to_someone_elses_open_deal_is_theirs_to_rebind);
async fn a_channel_bound_to_someone_elses_open_deal_is_theirs_to_rebind(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let first = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;

    let intruder = actor("U-STRANGER", "C-DEAL");
    let taken = app.ask(&intruder, "/deal new Mine package=bi-dashboards").await;
    assert!(taken.is_error() && taken.headline.contains(&first), "names the bound deal: {taken:?}");
    assert!(audit(&app).await.contains(&("U-STRANGER".into(), "deal.refused".into())));
    assert_eq!(count(&app, "deals").await, 1, "no deal was created");
    assert_eq!(
        app.ask(&seller, "/deal show").await.data["id"],
        first.as_str(),
        "the channel still shows the first deal"
    );

    let rebound = app.ask(&seller, "/deal new Second package=bi-dashboards").await;
    assert_eq!(
        (rebound.kind.as_str(), rebound.data["rebound_from"].as_str()),
        ("deal", Some(first.as_str())),
        "{rebound:?}"
    );
    let second = rebound.data["id"].as_str().unwrap().to_string();
    assert_eq!(app.ask(&seller, "/deal show").await.data["id"], second.as_str());

    let back = app.ask(&seller, &format!("/deal use {first}")).await;
    assert_eq!(
        (back.kind.as_str(), back.data["event"].as_str(), back.data["rebound_from"].as_str()),
        ("deal", Some("rebound"), Some(second.as_str())),
        "{back:?}"
    );
    assert_eq!(app.ask(&seller, "/deal show").await.data["id"], first.as_str());

    let stolen = app.ask(&actor("U-STRANGER", "C-MINE"), &format!("/deal use {first}")).await;
    assert!(stolen.is_error(), "{stolen:?}");
    let channels = show(&app, &seller, &first).await.data["channels"].clone();
    assert!(
        !channels.as_array().unwrap().iter().any(|c| c == "C-MINE"),
        "not bound to the stranger's channel: {channels}"
    );
    let refusals = audit(&app)
        .await
        .into_iter()
        .filter(|(who, what)| who == "U-STRANGER" && what == "deal.refused")
        .count();
    assert_eq!(refusals, 2);
}

on_both_databases!(a_deal_is_shown_to_those_entitled_with_its_json_contract);
async fn a_deal_is_shown_to_those_entitled_with_its_json_contract(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let deal = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let start = app.ask(&seller, "/earliest-start crm-rollout").await;
    assert_eq!(press(&app, &seller, &action(&start, "commit_start")).await.kind, "commitment");
    assert_eq!(press(&app, &seller, &action(&start, "hold")).await.kind, "hold");

    let stranger = app.ask(&actor("U-STRANGER", "C-X"), &format!("/deal show {deal}")).await;
    assert!(stranger.is_error(), "{stranger:?}");
    assert!(!stranger.to_text().contains("2027"), "nothing of the deal leaks: {stranger:?}");
    assert!(refusal_audited(&app, "U-STRANGER").await);
    assert!(
        app.ask(&actor("U-PM", "C-X"), &format!("/deal show {deal}")).await.is_error(),
        "not the PM yet"
    );

    let by_seller = app.ask(&seller, "/deal show").await;
    let by_approver = app.ask(&actor("U-APPROVER", "C-LEAD"), &format!("/deal show {deal}")).await;
    let by_presales = app.ask(&actor("U-PRESALES", "C-PRE"), &format!("/deal show {deal}")).await;
    for shown in [&by_seller, &by_approver, &by_presales] {
        assert_eq!(
            (shown.kind.as_str(), shown.data["id"].as_str()),
            ("deal", Some(deal.as_str())),
            "{shown:?}"
        );
    }

    let json = by_seller.to_json();
    assert_eq!(json["kind"], "deal");
    assert_eq!(json["id"], deal.as_str());
    assert_eq!(json["name"], "Acme CRM");
    assert_eq!(json["seller"], "U-SELLER");
    assert_eq!(json["status"], "open");
    assert_eq!(json["package"], "crm-rollout");
    assert!(json.get("pm").is_some_and(Value::is_null), "{json}");
    assert_eq!(json["channels"], serde_json::json!(["C-DEAL"]));
    let commitments = json["commitments"].as_array().unwrap();
    assert_eq!(commitments.len(), 2, "start and staffing: {json}");
    for commitment in commitments {
        for key in ["kind", "value", "current", "approval", "source"] {
            assert!(commitment.get(key).is_some(), "commitment without {key}: {commitment}");
        }
    }
    let committed_start = commitments.iter().find(|c| c["kind"] == "start").unwrap();
    assert_eq!(
        (&committed_start["value"], &committed_start["current"]),
        (&start.data["earliest_start"], &Value::Bool(true))
    );
    let holds = json["holds"].as_array().unwrap();
    assert_eq!(holds.len(), 1, "{json}");
    for key in ["id", "state", "start", "end", "expires_at"] {
        assert!(holds[0].get(key).is_some(), "hold without {key}: {}", holds[0]);
    }
    assert_eq!(
        (&holds[0]["state"], &holds[0]["start"]),
        (&Value::from("active"), &start.data["earliest_start"])
    );

    app.ask(&seller, "/deal won pm=U-PM").await;
    let by_pm = app.ask(&actor("U-PM", "D-PM"), &format!("/deal show {deal}")).await;
    assert_eq!(
        (by_pm.kind.as_str(), by_pm.data["status"].as_str(), by_pm.data["pm"].as_str()),
        ("deal", Some("won"), Some("U-PM"))
    );
    assert_eq!(holds_in(&by_pm, "confirmed").len(), 1, "winning confirms the hold: {by_pm:?}");
}

on_both_databases!(an_inclusion_answer_asked_again_offers_its_button_anew);
async fn an_inclusion_answer_asked_again_offers_its_button_anew(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;

    let first = app.ask(&seller, "/included sso").await;
    let second = app.ask(&seller, "/included sso").await;
    assert_eq!((&first.headline, &first.body), (&second.headline, &second.body));
    let (one, other) = (action(&first, "add_scope"), action(&second, "add_scope"));
    assert_ne!(one, other, "each answer offers its own press");
    let pressed = press(&app, &seller, &other).await;
    assert_eq!(pressed.kind, "commitment", "{pressed:?}");

    // The same deliverable where no deal is: explained, without a button.
    let explains = |reply: &Reply| reply.context.iter().any(|c| c.contains("a deal's channel"));
    let elsewhere = actor("U-SELLER", "C-ELSEWHERE");
    for _ in 0..2 {
        let there = app.ask(&elsewhere, "/included sso package=crm-rollout").await;
        assert!(there.actions.is_empty() && explains(&there), "{there:?}");
    }
    // And back in the deal's channel, neither the explanation nor another deal's press.
    let again = app.ask(&seller, "/included sso package=crm-rollout").await;
    assert!(!explains(&again), "{again:?}");
    // Its press acts on the deal, where the deliverable is already.
    let pressed = press(&app, &seller, &action(&again, "add_scope")).await;
    assert!(pressed.headline.contains("already in the scope"), "{pressed:?}");
}

on_both_databases!(every_offer_button_pressed_twice_has_one_effect);
async fn every_offer_button_pressed_twice_has_one_effect(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let deal = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;

    let start = app.ask(&seller, "/earliest-start crm-rollout").await;
    let commit = action(&start, "commit_start");
    assert_eq!(press(&app, &seller, &commit).await.kind, "commitment");
    let again = press(&app, &seller, &commit).await;
    assert_eq!(
        (again.kind.as_str(), again.data["already"].as_bool()),
        ("commitment", Some(true)),
        "{again:?}"
    );

    let sso = app.ask(&seller, "/included sso").await;
    let add = action(&sso, "add_scope");
    assert_eq!(press(&app, &seller, &add).await.kind, "commitment");
    let again = press(&app, &seller, &add).await;
    assert_eq!(again.data["already"], true, "{again:?}");

    let hold = action(&start, "hold");
    let held = press(&app, &seller, &hold).await;
    assert_eq!(held.kind, "hold", "{held:?}");
    let again = press(&app, &seller, &hold).await;
    assert_eq!(
        (again.kind.as_str(), again.data["hold_id"].as_str()),
        ("hold", held.data["hold_id"].as_str()),
        "{again:?}"
    );

    let tight =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let request = action(&tight, "request_approval");
    let requested = press(&app, &seller, &request).await;
    assert_eq!(requested.kind, "approval_requested", "{requested:?}");
    let again = press(&app, &seller, &request).await;
    assert_eq!(
        (again.data["approval_id"].as_str(), again.data["already"].as_bool()),
        (requested.data["approval_id"].as_str(), Some(true))
    );

    let unknown = app.ask(&seller, "/included quantum CPQ connector").await;
    let ticket = action(&unknown, "open_ticket");
    let opened = press(&app, &seller, &ticket).await;
    assert_eq!(opened.kind, "ticket", "{opened:?}");
    let again = press(&app, &seller, &ticket).await;
    assert_eq!(
        (again.data["ticket_id"].as_str(), again.data["already"].as_bool()),
        (opened.data["ticket_id"].as_str(), Some(true))
    );

    let shown = show(&app, &seller, &deal).await;
    let starts = commitments_of(&shown, "start");
    assert_eq!(starts.len(), 1, "{starts:?}");
    assert_eq!(starts[0]["current"], true);
    assert_eq!(commitments_of(&shown, "scope").len(), 1);
    assert_eq!(count(&app, "commitments").await, 3, "start, staffing and one scope item");
    assert_eq!(count(&app, "holds").await, 1);
    assert_eq!(count(&app, "approvals").await, 1);
    assert_eq!(leadership_messages(&app).await, 1, "one leadership card");
    assert_eq!(count(&app, "tickets").await, 1);
}

on_both_databases!(two_request_approval_presses_at_once_open_one_approval);
async fn two_request_approval_presses_at_once_open_one_approval(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let tight =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let request = action(&tight, "request_approval");
    let (a, b) = tokio::join!(press(&app, &seller, &request), press(&app, &seller, &request));
    for reply in [&a, &b] {
        assert_eq!(reply.kind, "approval_requested", "{reply:?}");
    }
    assert_eq!(a.data["approval_id"], b.data["approval_id"], "both told of the one request");
    assert_eq!(count(&app, "approvals").await, 1, "{}", db.url);
    assert_eq!(leadership_messages(&app).await, 1);
}

on_both_databases!(a_button_is_its_askers_and_expires);
async fn a_button_is_its_askers_and_expires(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let start = app.ask(&seller, "/earliest-start crm-rollout").await;
    let commit = action(&start, "commit_start");

    let other = press(&app, &actor("U-OTHER", "C-DEAL"), &commit).await;
    assert!(other.is_error() && other.headline.contains("someone else"), "{other:?}");
    assert!(audit(&app).await.contains(&("U-OTHER".into(), "offer.refused".into())));
    let hold = press(&app, &actor("U-OTHER", "C-DEAL"), &action(&start, "hold")).await;
    assert!(hold.is_error(), "{hold:?}");

    // A stranger's own answer in the seller's channel cannot change the seller's deal either.
    let stranger = actor("U-STRANGER", "C-DEAL");
    let theirs = app.ask(&stranger, "/earliest-start crm-rollout").await;
    let committed = press(&app, &stranger, &action(&theirs, "commit_start")).await;
    assert!(committed.is_error(), "{committed:?}");
    let tight =
        app.ask(&stranger, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let requested = press(&app, &stranger, &action(&tight, "request_approval")).await;
    assert!(requested.is_error(), "{requested:?}");
    let refusals: Vec<String> = audit(&app)
        .await
        .into_iter()
        .filter(|(who, what)| who == "U-STRANGER" && what.ends_with(".refused"))
        .map(|(_, what)| what)
        .collect();
    assert_eq!(refusals, ["commitment.refused", "approval.refused"]);
    assert_eq!(count(&app, "approvals").await, 0);

    let tomorrow = later(&app, settings(), 25);
    let stale = press(&tomorrow, &seller, &commit).await;
    assert!(stale.is_error() && stale.headline.contains("24 hours old"), "{stale:?}");
    assert!(audit(&app).await.contains(&("U-SELLER".into(), "offer.refused".into())));
    assert_eq!(count(&app, "commitments").await, 0, "nothing committed");

    let fresh = tomorrow.ask(&seller, "/earliest-start crm-rollout").await;
    assert_eq!(
        press(&tomorrow, &seller, &action(&fresh, "commit_start")).await.kind,
        "commitment",
        "a fresh answer works"
    );
}

on_both_databases!(a_new_start_supersedes_the_old_and_keeps_it_as_history);
async fn a_new_start_supersedes_the_old_and_keeps_it_as_history(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let deal = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let first = app.ask(&seller, "/earliest-start crm-rollout").await;
    assert_eq!(press(&app, &seller, &action(&first, "commit_start")).await.kind, "commitment");
    let second = app.ask(&seller, "/earliest-start crm-rollout not-before=2027-03-01").await;
    assert_ne!(first.data["earliest_start"], second.data["earliest_start"]);
    let committed = press(&app, &seller, &action(&second, "commit_start")).await;
    assert_eq!(committed.kind, "commitment", "{committed:?}");
    assert!(
        committed.data["was"]
            .as_str()
            .is_some_and(|was| was.contains(first.data["earliest_start"].as_str().unwrap())),
        "{committed:?}"
    );

    let shown = show(&app, &seller, &deal).await;
    let starts = commitments_of(&shown, "start");
    let current: Vec<_> = starts.iter().filter(|c| c["current"] == true).collect();
    let superseded: Vec<_> = starts.iter().filter(|c| c["current"] == false).collect();
    assert_eq!(current.len(), 1, "{starts:?}");
    assert_eq!(current[0]["value"], second.data["earliest_start"]);
    assert_eq!(superseded.len(), 1, "{starts:?}");
    assert_eq!(superseded[0]["value"], first.data["earliest_start"]);
    let staffing = commitments_of(&shown, "staffing");
    assert_eq!(staffing.iter().filter(|c| c["current"] == true).count(), 1, "{staffing:?}");
}

on_both_databases!(a_start_that_ends_after_the_committed_deadline_is_refused_with_the_arithmetic);
async fn a_start_that_ends_after_the_committed_deadline_is_refused_with_the_arithmetic(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let deal = new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    // 24 weeks from the earliest start: every comparable finished within that.
    let roomy =
        app.ask(&seller, "/comparables crm-rollout deadline=2027-06-30 start=2027-01-11").await;
    assert_eq!(roomy.data["deadline"]["approval_required"], false, "{roomy:?}");
    let committed = press(&app, &seller, &action(&roomy, "commit_deadline")).await;
    assert_eq!(
        (committed.kind.as_str(), committed.data["value"].as_str()),
        ("commitment", Some("2027-06-30")),
        "{committed:?}"
    );

    // CRM Rollout runs 12 weeks: from Mon 3 May it ends Fri 23 Jul, after the deadline.
    let late = app.ask(&seller, "/earliest-start crm-rollout not-before=2027-05-03").await;
    assert_eq!(late.data["earliest_start"], "2027-05-03", "{late:?}");
    let refused = press(&app, &seller, &action(&late, "commit_start")).await;
    assert!(refused.is_error(), "{refused:?}");
    assert!(refused.headline.contains("after the deadline"), "{refused:?}");
    assert!(
        refused.headline.contains("Mon 3 May 2027") && refused.headline.contains("Fri 23 Jul 2027"),
        "{refused:?}"
    );
    assert!(audit(&app).await.contains(&("U-SELLER".into(), "commitment.refused".into())));
    let shown = show(&app, &seller, &deal).await;
    assert!(commitments_of(&shown, "start").is_empty(), "{shown:?}");

    let requested = press(&app, &seller, &action(&refused, "request_approval")).await;
    assert_eq!(
        (
            requested.kind.as_str(),
            requested.data["requested_date"].as_str(),
            requested.data["deal_id"].as_str()
        ),
        ("approval_requested", Some("2027-06-30"), Some(deal.as_str())),
        "{requested:?}"
    );
}

on_both_databases!(a_second_request_of_a_kind_points_to_the_pending_one);
async fn a_second_request_of_a_kind_points_to_the_pending_one(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let tight =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let first = press(&app, &seller, &action(&tight, "request_approval")).await;
    assert_eq!(first.kind, "approval_requested", "{first:?}");

    let tighter =
        app.ask(&seller, "/comparables crm-rollout deadline=2027-01-15 start=2026-12-07").await;
    let second = press(&app, &seller, &action(&tighter, "request_approval")).await;
    assert_eq!(second.kind, "approval_requested", "{second:?}");
    assert!(second.data["pending"] == true || second.data["already"] == true, "{second:?}");
    assert_eq!(second.data["approval_id"], first.data["approval_id"]);
    assert_eq!(count(&app, "approvals").await, 1);
    assert_eq!(leadership_messages(&app).await, 1);
}

on_both_databases!(an_expired_request_cannot_be_decided_before_the_sweep);
async fn an_expired_request_cannot_be_decided_before_the_sweep(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let tight =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let requested = press(&app, &seller, &action(&tight, "request_approval")).await;
    let id = requested.data["approval_id"].as_str().unwrap().to_string();
    assert_eq!(settings().approval_expiry_hours, 72);

    let in_time = later(&app, settings(), 71);
    let expired = later(&app, settings(), 73);
    let late = press(&expired, &actor("U-APPROVER", "C-LEAD"), &format!("approve:{id}")).await;
    assert!(late.is_error() && late.headline.contains("expired"), "{late:?}");
    assert!(audit(&app).await.contains(&("U-APPROVER".into(), "approval.refused".into())));
    assert_eq!(
        app.store.approval(&id).await.unwrap().unwrap().state.as_str(),
        "pending",
        "the sweep has not run"
    );
    let decided = press(&in_time, &actor("U-APPROVER", "C-LEAD"), &format!("approve:{id}")).await;
    assert_eq!(decided.data["state"], "approved", "within its time it can be decided: {decided:?}");
}

on_both_databases!(an_expired_request_does_not_block_a_new_one_before_the_sweep);
async fn an_expired_request_does_not_block_a_new_one_before_the_sweep(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let tight =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let first = press(&app, &seller, &action(&tight, "request_approval")).await;
    assert_eq!(first.kind, "approval_requested", "{first:?}");

    let expired = later(&app, settings(), 73);
    let again =
        expired.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    let second = press(&expired, &seller, &action(&again, "request_approval")).await;
    assert_eq!(second.kind, "approval_requested", "{second:?}");
    assert_ne!(
        second.data["approval_id"], first.data["approval_id"],
        "a new request, not the expired one: {second:?}"
    );
    assert_eq!(count(&app, "approvals").await, 2);
}

on_both_databases!(a_deadline_in_the_past_or_before_the_start_is_an_input_error);
async fn a_deadline_in_the_past_or_before_the_start_is_an_input_error(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    for command in [
        "/comparables crm-rollout deadline=2026-11-01",
        "/comparables crm-rollout deadline=2027-01-01 start=2027-02-01",
    ] {
        let answer = app.ask(&seller, command).await;
        assert!(answer.is_error(), "{command}: {answer:?}");
        assert!(answer.actions.is_empty(), "{command}: no approval to request: {answer:?}");
    }
    assert_eq!(count(&app, "approvals").await, 0);
}

on_both_databases!(included_in_a_deal_channel_answers_for_the_deals_package);
async fn included_in_a_deal_channel_answers_for_the_deals_package(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let in_deal = app.ask(&seller, "/included sso").await;
    let explicit = app.ask(&seller, "/included sso package=crm-rollout").await;
    let elsewhere = app.ask(&actor("U-SELLER", "C-NO-DEAL"), "/included sso").await;
    assert_eq!(in_deal.data["package"], "crm-rollout", "{in_deal:?}");
    for key in [
        "verdict",
        "deliverable",
        "package",
        "price",
        "effort_hours",
        "separately_priced",
        "depends_on",
    ] {
        assert_eq!(in_deal.data[key], explicit.data[key], "{key}");
    }
    assert!(
        in_deal.to_text().contains("Acme CRM"),
        "says which deal it answered for: {}",
        in_deal.to_text()
    );
    assert!(elsewhere.data["package"].is_null(), "{elsewhere:?}");
    assert_ne!(
        elsewhere.data["verdict"], in_deal.data["verdict"],
        "the package makes a difference here"
    );
}

on_both_databases!(a_deal_has_one_active_hold_and_a_seller_a_limited_number);
async fn a_deal_has_one_active_hold_and_a_seller_a_limited_number(db: TestDb) {
    let app = demo_app(&db, Settings { max_active_holds: 1, ..settings() }).await;
    let (in_a, in_b) = (actor("U-SELLER", "C-A"), actor("U-SELLER", "C-B"));
    let a = new_deal(&app, &in_a, "Alpha", "bi-dashboards").await;
    let b = new_deal(&app, &in_b, "Beta", "bi-dashboards").await;

    let first = app.ask(&in_a, "/earliest-start bi-dashboards").await;
    let first_hold = press(&app, &in_a, &action(&first, "hold")).await;
    assert_eq!(first_hold.kind, "hold", "{first_hold:?}");
    let second = app.ask(&in_a, "/earliest-start bi-dashboards not-before=2027-02-01").await;
    let second_hold = press(&app, &in_a, &action(&second, "hold")).await;
    assert_eq!(
        second_hold.kind, "hold",
        "a new hold on the same deal replaces the old: {second_hold:?}"
    );
    let shown = show(&app, &in_a, &a).await;
    let active = holds_in(&shown, "active");
    assert_eq!(active.len(), 1, "{shown:?}");
    assert_eq!(active[0]["id"], second_hold.data["hold_id"]);
    assert_eq!(holds_in(&shown, "released").len(), 1, "{shown:?}");

    let other = app.ask(&in_b, "/earliest-start bi-dashboards").await;
    let over = press(&app, &in_b, &action(&other, "hold")).await;
    assert!(
        over.is_error() && over.headline.contains("already hold"),
        "max_active_holds is 1: {over:?}"
    );
    assert!(audit(&app).await.contains(&("U-SELLER".into(), "hold.refused".into())));
    assert!(show(&app, &in_b, &b).await.data["holds"].as_array().unwrap().is_empty());

    let lost = app.ask(&in_a, "/deal lost").await;
    assert_eq!(lost.data["status"], "lost", "{lost:?}");
    let shown = show(&app, &in_a, &a).await;
    assert!(holds_in(&shown, "active").is_empty(), "losing the deal released its hold: {shown:?}");
    assert_eq!(holds_in(&shown, "released").len(), 2);

    let on_lost = app.ask(&in_a, "/earliest-start bi-dashboards").await;
    let refused = press(&app, &in_a, &action(&on_lost, "hold")).await;
    assert!(
        refused.is_error() && refused.headline.contains("lost"),
        "no hold on a lost deal: {refused:?}"
    );
    assert!(holds_in(&show(&app, &in_a, &a).await, "active").is_empty());

    let now_free = app.ask(&in_b, "/earliest-start bi-dashboards").await;
    assert_eq!(
        press(&app, &in_b, &action(&now_free, "hold")).await.kind,
        "hold",
        "the released hold no longer counts"
    );
}

on_both_databases!(a_hostile_deal_name_stays_text_in_replies_and_on_the_leadership_card);
async fn a_hostile_deal_name_stays_text_in_replies_and_on_the_leadership_card(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let name = "<!channel> <https://x|Approve in Keepable> @everyone";
    let created = app.ask(&seller, &format!("/deal new \"{name}\" package=crm-rollout")).await;
    assert_eq!(
        (created.kind.as_str(), created.data["name"].as_str()),
        ("deal", Some(name)),
        "{created:?}"
    );
    assert!(created.to_text().contains(name), "shown verbatim: {}", created.to_text());

    let tight =
        app.ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    assert_eq!(
        press(&app, &seller, &action(&tight, "request_approval")).await.kind,
        "approval_requested"
    );
    let messages = app.store.outbox_messages().await.unwrap();
    let card =
        messages.iter().find(|m| m.target == "channel:leadership").expect("a leadership card");
    assert!(card.text.contains(name), "the card names the deal: {}", card.text);
    let marked = format!("{}\n{}", card.reply.headline, card.reply.body);
    assert!(keepable::app::text::plain(&marked).contains(name), "{marked:?}");
    let on_slack =
        keepable::app::text::render(&marked, str::to_string, keepable::app::text::slack_escape);
    assert!(!on_slack.contains("<!channel>") && !on_slack.contains("<https://x"), "{on_slack}");
    assert!(on_slack.contains("&lt;!channel&gt;"), "{on_slack}");
    assert!(on_slack.contains("<@U-SELLER>"), "the bot's own mention stays: {on_slack}");
}

/// The capacity this store holds, and the capacity a store that has never read it reads.
async fn capacity_as_read_fresh(app: &App, db: &TestDb) {
    let held = app.store.capacity().await.unwrap();
    let fresh = keepable::store::Store::connect(&db.url).await.unwrap().capacity().await.unwrap();
    assert_eq!(held.version, fresh.version);
    assert_eq!(held.people, fresh.people, "the capacity kept in memory went stale");
}

on_both_databases!(holds_update_the_capacity_in_memory_in_place_and_it_stays_exact);
async fn holds_update_the_capacity_in_memory_in_place_and_it_stays_exact(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    // A second instance that holds the capacity from before the holds.
    let other =
        App::new(keepable::store::Store::connect(&db.url).await.unwrap(), settings(), app.clock)
            .unwrap();
    let before = other.store.capacity().await.unwrap();
    let question = "/earliest-start crm-rollout";
    let first = other.ask(&actor("U-OTHER", "C-OTHER"), question).await;
    assert!(!first.is_error(), "{first:?}");

    let seller = actor("U-SELLER", "C-DEAL");
    new_deal(&app, &seller, "Acme CRM", "crm-rollout").await;
    let start = app.ask(&seller, question).await;
    let held = press(&app, &seller, &action(&start, "hold")).await;
    assert_eq!(held.kind, "hold", "{held:?}");
    let winner = actor("U-WINNER", "C-WIN");
    new_deal(&app, &winner, "Globex", "crm-rollout").await;
    let start = app.ask(&winner, question).await;
    let also = press(&app, &winner, &action(&start, "hold")).await;
    assert_eq!(also.kind, "hold", "{also:?}");
    let booked = |reply: &Reply| reply.data["people_held"].as_u64().unwrap() as usize;

    // The other instance reads only the held people again: everyone else is shared as it was.
    let after = other.store.capacity().await.unwrap();
    assert!(after.version > before.version);
    let shared = after
        .people
        .iter()
        .filter(|p| before.people.iter().any(|b| std::sync::Arc::ptr_eq(b, p)))
        .count();
    assert!(shared > 0);
    assert!(
        shared + booked(&held) + booked(&also) >= before.people.len(),
        "only the held people were read again: {shared} of {} kept",
        before.people.len()
    );
    capacity_as_read_fresh(&other, &db).await;
    // The answer the other instance gave before the holds, brought up to date for the held
    // people only, is the one an instance reading everything afresh gives.
    let answers_as_read_fresh = || async {
        let fresh_answer = App::new(
            keepable::store::Store::connect(&db.url).await.unwrap(),
            settings(),
            app.clock,
        )
        .unwrap()
        .ask(&actor("U-OTHER", "C-OTHER"), question)
        .await;
        let answer = other.ask(&actor("U-OTHER", "C-OTHER"), question).await;
        assert_eq!(answer.data["earliest_start"], fresh_answer.data["earliest_start"]);
        assert_eq!(answer.data["roles"], fresh_answer.data["roles"]);
    };
    answers_as_read_fresh().await;

    // A lost deal releases its hold, a won deal confirms it: both read in place, both exact.
    assert!(!app.ask(&seller, "/deal lost").await.is_error());
    capacity_as_read_fresh(&other, &db).await;
    answers_as_read_fresh().await;
    let won = app.ask(&winner, "/deal won pm=U-PM").await;
    assert!(!won.is_error(), "{won:?}");
    capacity_as_read_fresh(&other, &db).await;
    answers_as_read_fresh().await;

    // Any other change (an import) reads everything again.
    app.store.touch_capacity().await.unwrap();
    capacity_as_read_fresh(&other, &db).await;
    let again = other.store.capacity().await.unwrap();
    assert!(!again
        .people
        .iter()
        .any(|p| after.people.iter().any(|b| std::sync::Arc::ptr_eq(b, p))));
}

on_both_databases!(a_channel_bound_on_one_instance_has_buttons_on_another_at_once);
/// Which deal a channel is about is remembered per instance, and forgotten as soon as any instance
/// changes a deal: the second instance answers the very next question with the deal's buttons.
/// An answer without buttons saves no offer, since nothing could act on it.
async fn a_channel_bound_on_one_instance_has_buttons_on_another_at_once(db: TestDb) {
    let quiet = Settings { approvers: Vec::new(), ..settings() };
    let first = demo_app(&db, quiet.clone()).await;
    let second = App::new(
        keepable::store::Store::connect(&db.url).await.unwrap(),
        quiet,
        Clock { fixed_now: Some(now()), fixed_today: Some(today()) },
    )
    .unwrap();
    let seller = actor("U-SELLER", "C-NEW");
    let before = second.ask(&seller, "/earliest-start crm-rollout").await;
    assert!(before.actions.is_empty(), "no deal, no approvers: {before:?}");
    assert_eq!(count(&second, "offers").await, 0, "no button, no offer");

    let deal = new_deal(&first, &seller, "Acme CRM", "crm-rollout").await;
    let after = second.ask(&seller, "/earliest-start crm-rollout").await;
    assert!(action(&after, "hold").contains(':'), "{after:?}");
    assert_eq!(count(&second, "offers").await, 1);
    let held = press(&second, &seller, &action(&after, "hold")).await;
    assert!(!held.is_error(), "{held:?}");

    // Lost, and a new deal opened in the channel, on the first instance: the second holds for
    // the new deal.
    let lost = first.ask(&seller, &format!("/deal lost {deal}")).await;
    assert!(!lost.is_error(), "{lost:?}");
    let next = new_deal(&first, &seller, "Beta CRM", "crm-rollout").await;
    let answer = second.ask(&seller, "/earliest-start crm-rollout").await;
    let held = press(&second, &seller, &action(&answer, "hold")).await;
    assert!(!held.is_error(), "{held:?}");
    assert_eq!(holds_in(&show(&first, &seller, &next).await, "active").len(), 1);
}
