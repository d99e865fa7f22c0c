//! The workflows through the app's own interface (what every adapter calls), on both backends.

use std::collections::HashMap;

use chrono::Duration;
use keepable::app::reply::Reply;
use keepable::app::{Actor, App, Clock};

use crate::support::{action, actor, demo_app, now, on_both_databases, settings, today, TestDb};

fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn outbox_action(app: &App, verb: &str) -> String {
    let messages = app.store.outbox_messages().await.unwrap();
    messages
        .iter()
        .rev()
        .flat_map(|m| m.reply.actions.iter().map(|a| a.action.to_string()).collect::<Vec<_>>())
        .find(|id| id.starts_with(&format!("{verb}:")))
        .unwrap_or_else(|| panic!("no {verb} action in the outbox"))
}

/// Presses a button with no form.
async fn press(app: &App, who: &Actor, wire: &str) -> Reply {
    app.act(who, wire, &HashMap::new()).await
}

async fn request_deadline_approval(app: &App, seller: &Actor) -> String {
    app.ask(seller, "/deal new \"Acme CRM\" package=crm-rollout client=Acme").await;
    let answer =
        app.ask(seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07").await;
    assert_eq!(answer.data["deadline"]["approval_required"], true, "{answer:?}");
    let requested = app.act(seller, &action(&answer, "request_approval"), &HashMap::new()).await;
    assert_eq!(requested.kind, "approval_requested", "{requested:?}");
    requested.data["approval_id"].as_str().unwrap().to_string()
}

on_both_databases!(an_unrealistic_deadline_is_decided_once_by_an_approver_and_audited);
async fn an_unrealistic_deadline_is_decided_once_by_an_approver_and_audited(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let id = request_deadline_approval(&app, &seller).await;
    let approve = outbox_action(&app, "approve").await;
    assert_eq!(approve, format!("approve:{id}"));

    let stranger = app.act(&actor("U-STRANGER", "C-LEAD"), &approve, &HashMap::new()).await;
    assert!(stranger.is_error() && stranger.headline.contains("not authorised"), "{stranger:?}");
    let mut seller_approver = settings();
    seller_approver.approvers.push("U-SELLER".into());
    let seller_app = App::new(app.store.clone(), seller_approver, app.clock).unwrap();
    let own = seller_app.act(&seller, &approve, &HashMap::new()).await;
    assert!(own.is_error() && own.headline.contains("own request"), "{own:?}");

    let decided = app.act(&actor("U-APPROVER", "C-LEAD"), &approve, &HashMap::new()).await;
    assert_eq!(
        (
            decided.kind.as_str(),
            decided.data["state"].as_str(),
            decided.data["decided_by"].as_str()
        ),
        ("approval_decided", Some("approved"), Some("U-APPROVER"))
    );
    let late = app.act(&actor("U-BOSS", "C-LEAD"), &approve, &HashMap::new()).await;
    assert!(late.is_error() && late.headline.contains("U-APPROVER"), "{late:?}");

    let messages = app.store.outbox_messages().await.unwrap();
    let card =
        messages.iter().find(|m| m.idempotency_key == format!("approval:{id}:card")).unwrap();
    assert_eq!(card.target, "channel:leadership");
    let update =
        messages.iter().find(|m| m.updates == Some(card.id)).expect("the card is updated in place");
    assert!(update.text.contains("Approved"), "{}", update.text);
    assert!(messages.iter().any(|m| m.target == "user:U-SELLER" && m.text.contains("approved")));
    let deal = app.ask(&seller, "/deal show").await;
    assert!(deal.data["commitments"][0]["approval_id"] == id.as_str(), "{deal:?}");

    let audit: Vec<(String, String)> =
        app.store.audit_entries().await.unwrap().into_iter().map(|e| (e.actor, e.action)).collect();
    for expected in [
        ("U-STRANGER", "approval.refused"),
        ("U-SELLER", "approval.refused"),
        ("U-APPROVER", "approval.approved"),
        ("U-BOSS", "approval.refused"),
    ] {
        assert!(
            audit.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} missing from {audit:?}"
        );
    }
}

on_both_databases!(a_rejection_needs_a_reason_and_tells_the_seller_why);
async fn a_rejection_needs_a_reason_and_tells_the_seller_why(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let id = request_deadline_approval(&app, &seller).await;
    let approver = actor("U-APPROVER", "C-LEAD");
    let blank = app.act(&approver, &format!("reject:{id}"), &fields(&[("reason", " ")])).await;
    assert!(blank.is_error());
    let rejected = app
        .act(&approver, &format!("reject:{id}"), &fields(&[("reason", "Too tight for Q1")]))
        .await;
    assert_eq!(rejected.data["state"], "rejected");
    let notice = app
        .store
        .outbox_messages()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.target == "user:U-SELLER")
        .unwrap();
    assert!(notice.text.contains("Too tight for Q1"), "{}", notice.text);
}

on_both_databases!(two_processes_deciding_at_once_produce_exactly_one_decision);
async fn two_processes_deciding_at_once_produce_exactly_one_decision(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let id = request_deadline_approval(&app, &actor("U-SELLER", "C-DEAL")).await;
    // A second App on its own connection pool stands in for a second instance.
    let store = keepable::store::Store::connect(&db.url).await.unwrap();
    let other = App::new(store, settings(), app.clock).unwrap();
    let (first, approve) = (app.clone(), format!("approve:{id}"));
    let a = tokio::spawn(async move {
        first.act(&actor("U-APPROVER", "C"), &approve, &HashMap::new()).await
    });
    let reject = format!("reject:{id}");
    let b = tokio::spawn(async move {
        other.act(&actor("U-BOSS", "C"), &reject, &fields(&[("reason", "no")])).await
    });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!([a.is_error(), b.is_error()].iter().filter(|e| !**e).count(), 1, "{a:?} {b:?}");
    let decisions = app
        .store
        .audit_entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "approval.approved" || e.action == "approval.rejected")
        .count();
    assert_eq!(decisions, 1);
}

on_both_databases!(a_scoped_ticket_added_to_the_library_answers_the_next_seller);
async fn a_scoped_ticket_added_to_the_library_answers_the_next_seller(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    let unknown = app.ask(&seller, "/included quantum CPQ connector").await;
    assert_eq!(unknown.data["verdict"], "not_in_library");
    let ticket = app.act(&seller, &action(&unknown, "open_ticket"), &HashMap::new()).await;
    assert_eq!((ticket.kind.as_str(), ticket.data["state"].as_str()), ("ticket", Some("open")));
    let id = ticket.data["ticket_id"].as_str().unwrap().to_string();
    let presales = actor("U-PRESALES", "C-PRESALES");
    assert!(
        app.act(&seller, &format!("accept_ticket:{id}"), &HashMap::new()).await.is_error(),
        "only presales moves tickets"
    );
    assert!(
        app.act(
            &presales,
            &format!("scope_ticket:{id}"),
            &fields(&[("effort", "40"), ("price", "4800")])
        )
        .await
        .is_error(),
        "accept before scoping"
    );
    assert_eq!(
        app.act(&presales, &format!("accept_ticket:{id}"), &HashMap::new()).await.data["state"],
        "accepted"
    );
    let bad = app
        .act(
            &presales,
            &format!("scope_ticket:{id}"),
            &fields(&[("effort", "lots"), ("price", "4800")]),
        )
        .await;
    assert!(bad.is_error() && bad.headline.contains("effort"));
    let scoped = app
        .act(
            &presales,
            &format!("scope_ticket:{id}"),
            &fields(&[("effort", "40"), ("price", "4800"), ("notes", "two objects")]),
        )
        .await;
    assert_eq!(
        scoped.data.get("state").and_then(|s| s.as_str()),
        Some("scoped"),
        "{scoped:?} on {}",
        db.url
    );
    let added = app.act(&presales, &format!("add_to_library:{id}"), &HashMap::new()).await;
    assert!(added.data["deliverable_id"].is_string(), "{added:?}");
    let known = app.ask(&actor("U-OTHER", "C-X"), "/included Quantum CPQ connector").await;
    assert_eq!(known.kind, "inclusion", "{known:?} on {}", db.url);
    assert_eq!(
        (known.data["verdict"].as_str(), known.data["price"].as_f64()),
        (Some("customization"), Some(4800.0))
    );
    let notices = app
        .store
        .outbox_messages()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.target == "user:U-SELLER")
        .count();
    assert_eq!(notices, 3, "the requester hears of each transition");
}

on_both_databases!(a_capacity_hold_is_seen_by_the_next_seller_and_lapses);
async fn a_capacity_hold_is_seen_by_the_next_seller_and_lapses(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    app.ask(&seller, "/deal new Hold package=bi-dashboards").await;
    let answer = app.ask(&seller, "/earliest-start bi-dashboards").await;
    let start = answer.data["earliest_start"].as_str().unwrap().to_string();
    let held = app.act(&seller, &action(&answer, "hold"), &HashMap::new()).await;
    assert_eq!(held.kind, "hold", "{held:?}");
    assert!(!held.to_text().contains("p0"), "people are never named");
    // The same team twice over: the second seller cannot have the same start any more than capacity allows.
    let mut later_dates = Vec::new();
    for i in 0..4 {
        let next = app
            .ask(&actor(&format!("U-NEXT{i}"), "C-OTHER"), "/earliest-start bi-dashboards")
            .await;
        later_dates.push(next.data["earliest_start"].as_str().unwrap_or("9999").to_string());
        let held_again =
            app.ask(&actor("U-SELLER", "C-DEAL"), "/earliest-start bi-dashboards").await;
        app.act(&seller, &action(&held_again, "hold"), &HashMap::new()).await;
    }
    assert!(
        later_dates.iter().any(|d| *d > start),
        "holds push later answers: {later_dates:?} vs {start}"
    );
    // After the hold lifetime, run-due releases them and the start comes back.
    let later = App::new(
        app.store.clone(),
        settings(),
        Clock { fixed_now: Some(now() + Duration::days(30)), fixed_today: Some(today()) },
    )
    .unwrap();
    let report = later.run_due().await.unwrap();
    assert!(report.holds_released >= 1, "{report:?}");
    let again = later.ask(&actor("U-NEXT", "C-OTHER"), "/earliest-start bi-dashboards").await;
    assert_eq!(again.data["earliest_start"].as_str(), Some(start.as_str()));
}

on_both_databases!(pending_approvals_are_reminded_escalated_and_expire);
async fn pending_approvals_are_reminded_escalated_and_expire(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let id = request_deadline_approval(&app, &actor("U-SELLER", "C-DEAL")).await;
    let at = |hours: i64| {
        App::new(
            app.store.clone(),
            settings(),
            Clock { fixed_now: Some(now() + Duration::hours(hours)), fixed_today: Some(today()) },
        )
        .unwrap()
    };
    assert_eq!(at(1).run_due().await.unwrap().reminded, 0);
    let report = at(5).run_due().await.unwrap();
    assert_eq!((report.reminded, report.escalated), (1, 0));
    assert_eq!(at(5).run_due().await.unwrap().reminded, 0, "reminded once");
    assert_eq!(at(25).run_due().await.unwrap().escalated, 1);
    assert_eq!(at(73).run_due().await.unwrap().expired, 1);
    let late = app.act(&actor("U-APPROVER", "C"), &format!("approve:{id}"), &HashMap::new()).await;
    assert!(late.is_error() && late.headline.contains("expired"), "{late:?}");
    let targets: Vec<String> = app
        .store
        .outbox_messages()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.target.to_string())
        .collect();
    assert!(targets.contains(&"channel:leadership-escalations".to_string()), "{targets:?}");
    // The expiry reached every place the request was posted: no button is left to press.
    let messages = app.store.outbox_messages().await.unwrap();
    let replaced: Vec<i64> = messages.iter().filter_map(|m| m.updates).collect();
    for message in messages.iter().filter(|m| !m.reply.actions.is_empty()) {
        assert!(replaced.contains(&message.id), "still has live buttons: {message:?}");
    }
    let last_words: Vec<&str> =
        messages.iter().filter(|m| m.updates.is_some()).map(|m| m.text.as_str()).collect();
    assert!(last_words.iter().all(|t| !t.contains("@keepable")), "{last_words:?}");
    assert!(last_words.iter().any(|t| t.contains("nobody decided in time")), "{last_words:?}");
}

on_both_databases!(a_decision_takes_the_buttons_off_its_reminders_and_escalations);
async fn a_decision_takes_the_buttons_off_its_reminders_and_escalations(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let id = request_deadline_approval(&app, &actor("U-SELLER", "C-DEAL")).await;
    let later = App::new(
        app.store.clone(),
        settings(),
        Clock { fixed_now: Some(now() + Duration::hours(25)), fixed_today: Some(today()) },
    )
    .unwrap();
    let report = later.run_due().await.unwrap();
    assert_eq!((report.reminded, report.escalated), (1, 1));
    let decided =
        later.act(&actor("U-APPROVER", "C"), &format!("approve:{id}"), &HashMap::new()).await;
    assert!(!decided.is_error(), "{decided:?}");
    let messages = app.store.outbox_messages().await.unwrap();
    let replaced: Vec<i64> = messages.iter().filter_map(|m| m.updates).collect();
    for message in messages.iter().filter(|m| !m.reply.actions.is_empty()) {
        assert!(replaced.contains(&message.id), "still has live buttons: {}", message.text);
    }
    let settled: Vec<&str> = messages
        .iter()
        .filter(|m| m.updates.is_some() && m.text.starts_with("Decided:"))
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(settled.len(), 2, "the reminder and the escalation: {settled:?}");
    assert!(settled.iter().all(|t| t.contains("approved by @U-APPROVER")), "{settled:?}");
}

on_both_databases!(a_won_deal_hands_over_to_the_pm_who_alone_acknowledges);
async fn a_won_deal_hands_over_to_the_pm_who_alone_acknowledges(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    app.ask(&seller, "/deal new \"Acme CRM\" package=crm-rollout").await;
    let start = app.ask(&seller, "/earliest-start crm-rollout").await;
    assert_eq!(
        app.act(&seller, &action(&start, "commit_start"), &HashMap::new()).await.kind,
        "commitment"
    );
    let sso = app.ask(&seller, "/included sso package=crm-rollout").await;
    assert_eq!(
        app.act(&seller, &action(&sso, "add_scope"), &HashMap::new()).await.kind,
        "commitment"
    );
    let won = app.ask(&seller, "/deal won pm=<@U-PM|pat>").await;
    assert_eq!((won.kind.as_str(), won.data["status"].as_str()), ("deal", Some("won")), "{won:?}");
    let dm = app
        .store
        .outbox_messages()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.target == "user:U-PM")
        .unwrap();
    assert!(dm.text.contains("Single sign-on") && dm.text.contains("start"), "{}", dm.text);
    let ack = outbox_action(&app, "ack_handover").await;
    assert!(app.act(&seller, &ack, &HashMap::new()).await.is_error(), "only the PM acknowledges");
    let acked = app.act(&actor("U-PM", "D-PM"), &ack, &HashMap::new()).await;
    assert_eq!(
        (acked.kind.as_str(), acked.data["state"].as_str()),
        ("handover", Some("acknowledged"))
    );
    assert!(
        app.act(&actor("U-PM", "D-PM"), &ack, &HashMap::new()).await.is_error(),
        "acknowledged once"
    );
    assert!(app.ask(&seller, "/deal won pm=U-PM").await.is_error(), "a deal is won once");
}

on_both_databases!(unacknowledged_handovers_are_reminded);
async fn unacknowledged_handovers_are_reminded(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    app.ask(&seller, "/deal new Remind package=bi-dashboards").await;
    app.ask(&seller, "/deal won pm=U-PM").await;
    let later = App::new(
        app.store.clone(),
        settings(),
        Clock { fixed_now: Some(now() + Duration::hours(25)), fixed_today: Some(today()) },
    )
    .unwrap();
    assert_eq!(later.run_due().await.unwrap().handovers_reminded, 1);
    assert_eq!(later.run_due().await.unwrap().handovers_reminded, 0);
    // Acknowledged, the handover takes its button off the DM and off the reminder.
    let ack = outbox_action(&app, "ack_handover").await;
    let acked = later.act(&actor("U-PM", "D-PM"), &ack, &HashMap::new()).await;
    assert!(!acked.is_error(), "{acked:?}");
    let messages = app.store.outbox_messages().await.unwrap();
    let replaced: Vec<i64> = messages.iter().filter_map(|m| m.updates).collect();
    for message in messages.iter().filter(|m| !m.reply.actions.is_empty()) {
        assert!(replaced.contains(&message.id), "still has live buttons: {}", message.text);
    }
}

on_both_databases!(buttons_of_someone_elses_answer_do_nothing);
async fn buttons_of_someone_elses_answer_do_nothing(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let seller = actor("U-SELLER", "C-DEAL");
    app.ask(&seller, "/deal new Mine package=crm-rollout").await;
    let answer = app.ask(&seller, "/earliest-start crm-rollout").await;
    let stolen = app
        .act(&actor("U-OTHER", "C-DEAL"), &action(&answer, "commit_start"), &HashMap::new())
        .await;
    assert!(stolen.is_error());
    assert!(app.act(&seller, "commit_start:forged", &HashMap::new()).await.is_error());
    assert!(app.act(&seller, "drop_tables", &HashMap::new()).await.is_error());
}

on_both_databases!(two_sellers_holding_the_last_free_person_at_once_book_them_once);
async fn two_sellers_holding_the_last_free_person_at_once_book_them_once(db: TestDb) {
    let files = vec![
        ("roles.csv", "id,name,rank\nsenior,Senior,3\n".to_string()),
        ("people.csv", "id,name,role,weekly_hours\np1,Ann,senior,40\n".to_string()),
        ("packages.csv", "id,name,duration_weeks\nsolo,Solo,2\n".to_string()),
        ("package_roles.csv", "package,role,count,hours_per_week\nsolo,senior,1,40\n".to_string()),
    ];
    let (parsed, problems) = keepable::import::parse_files(&files);
    assert!(problems.is_empty(), "{problems:?}");
    // Two instances on one database, each with its own capacity in memory.
    let instance = || async {
        let store = keepable::store::Store::connect(&db.url).await.unwrap();
        App::new(store, settings(), Clock { fixed_now: Some(now()), fixed_today: Some(today()) })
            .unwrap()
    };
    let (first, second) = (instance().await, instance().await);
    first.store.import(&parsed).await.unwrap().unwrap();
    let (ann, bob) = (actor("U-ANN", "C-ANN"), actor("U-BOB", "C-BOB"));
    first.ask(&ann, "/deal new Alpha package=solo").await;
    second.ask(&bob, "/deal new Beta package=solo").await;
    let (a, b) = (
        first.ask(&ann, "/earliest-start solo").await,
        second.ask(&bob, "/earliest-start solo").await,
    );
    assert_eq!(a.data["earliest_start"], b.data["earliest_start"], "both see the one free person");

    let (hold_a, hold_b, no_fields) = (action(&a, "hold"), action(&b, "hold"), HashMap::new());
    let (held_a, held_b) =
        tokio::join!(first.act(&ann, &hold_a, &no_fields), second.act(&bob, &hold_b, &no_fields));
    let kinds = [held_a.kind.as_str(), held_b.kind.as_str()];
    assert!(
        kinds.contains(&"hold") && kinds.contains(&"error"),
        "exactly one hold: {held_a:?} {held_b:?} on {}",
        db.url
    );
    let refused = if held_a.is_error() { &held_a } else { &held_b };
    assert!(refused.headline.contains("no longer free"), "{refused:?}");
    // The firm has no bookings of its own: every allocation is a hold's.
    assert_eq!(first.store.count("allocations").await.unwrap(), 1, "{}", db.url);
}

/// Four decisions at the same moment on SQLite: each takes the write lock in turn and reads
/// inside its own transaction, so none waits on another's lock or on a pool connection.
#[tokio::test]
async fn four_approvals_decided_at_the_same_moment_all_answer_within_a_second_on_sqlite() {
    let db = TestDb::sqlite();
    let app = demo_app(&db, settings()).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            request_deadline_approval(
                &app,
                &actor(&format!("U-SELLER-{n}"), &format!("C-DEAL-{n}")),
            )
            .await,
        );
    }
    let approver = actor("U-APPROVER", "C-LEAD");
    let presses: Vec<String> = ids.iter().map(|id| format!("approve:{id}")).collect();
    let started = std::time::Instant::now();
    let decided = tokio::join!(
        press(&app, &approver, &presses[0]),
        press(&app, &approver, &presses[1]),
        press(&app, &approver, &presses[2]),
        press(&app, &approver, &presses[3])
    );
    let elapsed = started.elapsed();
    for reply in [decided.0, decided.1, decided.2, decided.3] {
        assert_eq!(
            (reply.kind.as_str(), reply.data["state"].as_str()),
            ("approval_decided", Some("approved")),
            "{reply:?}"
        );
    }
    assert!(elapsed < std::time::Duration::from_secs(1), "four decisions took {elapsed:?}");
}

// `today` is the firm's date (SPEC 4): Sunday 19:00 in Chicago is Monday 01:00 UTC, and a
// Chicago firm's first candidate start is the next day, not a week later.
on_both_databases!(a_firm_in_another_time_zone_gets_its_own_monday);
async fn a_firm_in_another_time_zone_gets_its_own_monday(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let sunday_evening_in_chicago =
        Clock { fixed_now: Some("2026-11-30T01:00:00Z".parse().unwrap()), fixed_today: None };
    let question = "/earliest-start roles=principal:1@1 weeks=1";
    let seller = actor("U-SELLER", "C-TZ");
    let mut chicago = settings();
    chicago.timezone = "America/Chicago".into();
    let in_chicago = App::new(app.store.clone(), chicago, sunday_evening_in_chicago).unwrap();
    let in_utc = App::new(app.store.clone(), settings(), sunday_evening_in_chicago).unwrap();
    assert_eq!(
        in_chicago.ask(&seller, question).await.data["earliest_start"],
        "2026-11-30",
        "on {}",
        db.url
    );
    assert_eq!(
        in_utc.ask(&seller, question).await.data["earliest_start"],
        "2026-12-07",
        "on {}",
        db.url
    );
}

#[test]
fn an_unknown_time_zone_is_refused_at_start_up() {
    let settings = keepable::config::Settings { timezone: "Mars/Olympus".into(), ..settings() };
    let error = settings.time_zone().unwrap_err().to_string();
    assert!(error.contains("Mars/Olympus") && error.contains("IANA"), "{error}");
}

on_both_databases!(a_reminder_goes_to_the_platform_where_the_request_was_posted);
async fn a_reminder_goes_to_the_platform_where_the_request_was_posted(db: TestDb) {
    let both = keepable::config::Settings {
        leadership_channel: "slack:C-LEAD,discord:1090000000000000007".into(),
        ..settings()
    };
    let app = demo_app(&db, both.clone()).await.on_platform("discord");
    let seller = actor("400000000000000001", "1090000000000000002");
    request_deadline_approval(&app, &seller).await;
    let later = App::new(
        app.store.clone(),
        both,
        Clock { fixed_now: Some(now() + Duration::hours(5)), fixed_today: Some(today()) },
    )
    .unwrap();
    assert_eq!(later.run_due().await.unwrap().reminded, 1);
    let targets: Vec<String> =
        app.store.outbox_messages().await.unwrap().iter().map(|m| m.target.to_string()).collect();
    let leadership = "channel:discord:1090000000000000007".to_string();
    assert_eq!(targets.iter().filter(|t| **t == leadership).count(), 2, "{targets:?}");
    assert!(!targets.iter().any(|t| t.contains("C-LEAD")), "{targets:?}");
}
