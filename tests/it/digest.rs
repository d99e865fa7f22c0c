//! The weekly radar digest (SPEC 5.7) through `run_due` and the Acknowledge button, on both
//! backends: posted on `digest_weekday` only, once per week whatever the number of instances,
//! saying only what is new or worse than last week's digest, acknowledged by leadership only.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use keepable::app::{App, Clock};
use keepable::config::Settings;
use keepable::store::outbox::OutboundMessage;

use crate::support::{actor, on_both_databases, settings, TestDb};

/// Monday 30 November 2026, 08:00 UTC.
fn monday() -> DateTime<Utc> {
    "2026-11-30T08:00:00Z".parse().unwrap()
}

fn on_day(at: DateTime<Utc>) -> Clock {
    Clock { fixed_now: Some(at), fixed_today: Some(at.date_naive()) }
}

fn leadership() -> Settings {
    Settings {
        sales_leads: vec!["U-LEAD".into()],
        leadership_channel: "C-LEAD".into(),
        ..settings()
    }
}

/// A firm of the demo's packages and no history yet, seen from `at`.
async fn app_at(db: &TestDb, at: DateTime<Utc>) -> App {
    let store = keepable::store::Store::connect(&db.url).await.unwrap();
    let packages = include_str!("../../demo/packages.csv").to_string();
    let (parsed, problems) = keepable::import::parse_files(&[("packages.csv", packages)]);
    assert!(problems.is_empty(), "{problems:?}");
    store.import(&parsed).await.unwrap().unwrap();
    App::new(store, leadership(), on_day(at)).unwrap()
}

async fn digests(app: &App) -> Vec<OutboundMessage> {
    let messages = app.store.outbox_messages().await.unwrap();
    messages.into_iter().filter(|m| m.idempotency_key.starts_with("digest:")).collect()
}

/// Adds to the firm's history (rows are upserted by id) projects that finished in the autumn of 2026: `crm-rollout`
/// with `change_orders` of its five projects having change orders; `bi-dashboards` with five
/// projects, three of them late; and, when `fade` is given, `cloud-migration` with five projects
/// whose margin faded by `fade` points.
async fn history(app: &App, change_orders: usize, fade: Option<u32>) {
    let mut csv = String::from(
        "id,package,start,end,effort_hours,change_orders,planned_end,sold_margin,closed_margin\n",
    );
    for i in 0..5 {
        let co = usize::from(i < change_orders);
        csv.push_str(&format!("crm{i},crm-rollout,2026-06-01,2026-09-1{i},900,{co},,,\n"));
        let planned = if i < 3 { "2026-08-31" } else { "2026-09-30" };
        csv.push_str(&format!("bi{i},bi-dashboards,2026-06-01,2026-09-1{i},500,,{planned},,\n"));
        if let Some(points) = fade {
            let closed = 0.40 - f64::from(points) / 100.0;
            csv.push_str(&format!(
                "cm{i},cloud-migration,2026-05-01,2026-09-2{i},800,,,0.40,{closed:.2}\n"
            ));
        }
    }
    let (parsed, problems) = keepable::import::parse_files(&[("history.csv", csv)]);
    assert!(problems.is_empty(), "{problems:?}");
    app.store.import(&parsed).await.unwrap().unwrap();
}

on_both_databases!(the_digest_is_posted_on_its_weekday_only);
async fn the_digest_is_posted_on_its_weekday_only(db: TestDb) {
    let sunday = app_at(&db, monday() - Duration::hours(9)).await;
    history(&sunday, 2, None).await;
    assert!(!sunday.run_due().await.unwrap().digest_posted);
    let tuesday =
        App::new(sunday.store.clone(), leadership(), on_day(monday() + Duration::days(1)));
    assert!(!tuesday.unwrap().run_due().await.unwrap().digest_posted);
    assert!(digests(&sunday).await.is_empty(), "no digest on a Sunday or a Tuesday");

    // Monday in Chicago has not begun at 05:00 UTC on Monday: the firm's day decides.
    let chicago = Settings { timezone: "America/Chicago".into(), ..leadership() };
    let early = monday() - Duration::hours(3);
    let clock = Clock { fixed_now: Some(early), fixed_today: None };
    let app = App::new(sunday.store.clone(), chicago.clone(), clock).unwrap();
    assert!(!app.run_due().await.unwrap().digest_posted, "still Sunday in Chicago");
    let clock = Clock { fixed_now: Some(monday() + Duration::hours(6)), fixed_today: None };
    let app = App::new(sunday.store.clone(), chicago, clock).unwrap();
    assert!(app.run_due().await.unwrap().digest_posted, "Monday morning in Chicago");

    let thursday = Settings { digest_weekday: chrono::Weekday::Thu, ..leadership() };
    let week_after =
        App::new(sunday.store.clone(), thursday.clone(), on_day(monday() + Duration::days(7)));
    assert!(!week_after.unwrap().run_due().await.unwrap().digest_posted, "not on a Monday now");
    let clock = on_day(monday() + Duration::days(10));
    let app = App::new(sunday.store.clone(), thursday, clock).unwrap();
    assert!(app.run_due().await.unwrap().digest_posted, "digest_weekday moves it");
    assert_eq!(digests(&app).await.len(), 2);
}

on_both_databases!(two_instances_running_run_due_at_once_post_the_digest_once);
async fn two_instances_running_run_due_at_once_post_the_digest_once(db: TestDb) {
    let app = app_at(&db, monday()).await;
    history(&app, 2, None).await;
    // A second App on its own connection pool stands in for a second instance.
    let store = keepable::store::Store::connect(&db.url).await.unwrap();
    let other = App::new(store, leadership(), app.clock).unwrap();
    let first = app.clone();
    let a = tokio::spawn(async move { first.run_due().await.unwrap() });
    let b = tokio::spawn(async move { other.run_due().await.unwrap() });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!([a.digest_posted, b.digest_posted].iter().filter(|p| **p).count(), 1);
    assert!(!app.run_due().await.unwrap().digest_posted, "a later run the same week posts nothing");
    let later = App::new(app.store.clone(), leadership(), on_day(monday() + Duration::hours(30)));
    assert!(!later.unwrap().run_due().await.unwrap().digest_posted);

    let posted = digests(&app).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    let digest = &posted[0];
    assert_eq!(digest.target, "channel:C-LEAD");
    assert_eq!(digest.reply.kind, "digest");
    assert!(!digest.reply.private);
    let buttons: Vec<String> = digest.reply.actions.iter().map(|b| b.action.to_string()).collect();
    assert_eq!(buttons, ["ack_digest:2026-W49"]);
    let posts = app.store.audit_entries().await.unwrap();
    assert_eq!(posts.iter().filter(|e| e.action == "digest.posted").count(), 1);
}

on_both_databases!(the_second_weeks_digest_says_only_what_is_new_or_worse);
async fn the_second_weeks_digest_says_only_what_is_new_or_worse(db: TestDb) {
    let first = app_at(&db, monday()).await;
    history(&first, 2, None).await;
    assert!(first.run_due().await.unwrap().digest_posted);
    let text = &digests(&first).await[0].text;
    assert!(text.contains("Warning signs:"), "{text}");
    assert!(text.contains("CRM Rollout: change orders on 40% of 5 projects (new)"), "{text}");
    assert!(
        text.contains("BI Dashboards: 60% of 5 projects ended after their planned end (new)"),
        "{text}"
    );

    // A week on: CRM Rollout's change orders worse, Cloud Migration's margin fade new, BI
    // Dashboards' slips the same.
    let second = App::new(first.store.clone(), leadership(), on_day(monday() + Duration::days(7)));
    let second = second.unwrap();
    history(&second, 3, Some(15)).await;
    assert!(second.run_due().await.unwrap().digest_posted);
    let text = &digests(&second).await[1].text;
    assert!(text.contains("2026-W50"), "{text}");
    assert!(text.contains("New or worse since last week's digest:"), "{text}");
    assert!(text.contains("CRM Rollout: change orders on 60% of 5 projects (was 40%)"), "{text}");
    assert!(
        text.contains(
            "Cloud Migration: margin 15.0 points lower at close than at sale, over 5 projects (new)"
        ),
        "{text}"
    );
    assert!(!text.contains("BI Dashboards"), "the same slips are no news: {text}");
    assert!(!text.contains("No change"), "{text}");

    // A third week with nothing new: it says so.
    let third = App::new(first.store.clone(), leadership(), on_day(monday() + Duration::days(14)));
    assert!(third.as_ref().unwrap().run_due().await.unwrap().digest_posted);
    let text = &digests(&first).await[2].text;
    assert!(text.contains("No change since last week's digest."), "{text}");
    assert!(!text.contains("•"), "{text}");
}

on_both_databases!(the_digest_is_acknowledged_by_leadership_once_and_refused_for_a_seller);
async fn the_digest_is_acknowledged_by_leadership_once_and_refused_for_a_seller(db: TestDb) {
    let app = app_at(&db, monday()).await;
    history(&app, 2, None).await;
    assert!(app.run_due().await.unwrap().digest_posted);
    let press = |who: &str| {
        let app = app.clone();
        let who = actor(who, "C-LEAD");
        async move { app.act(&who, "ack_digest:2026-W49", &HashMap::new()).await }
    };
    let refused = press("U-SELLER").await;
    assert!(refused.is_error() && refused.private, "{refused:?}");
    assert!(refused.headline.contains("Only approvers and sales leads"), "{refused:?}");

    let done = press("U-LEAD").await;
    assert!(!done.is_error(), "{done:?}");
    assert!(done.headline.contains("You acknowledged the weekly radar digest of 2026-W49"));
    let stored = app.store.digest("2026-W49").await.unwrap().unwrap();
    assert_eq!(stored.acknowledged_by.as_deref(), Some("U-LEAD"));
    assert_eq!(stored.acknowledged_at, Some(monday()));

    let again = press("U-APPROVER").await;
    assert!(again.is_error(), "{again:?}");
    assert!(again.headline.contains("<@U-LEAD> already acknowledged this digest"), "{again:?}");

    // The leadership message is updated in place: who acknowledged it, no button left.
    let posted = digests(&app).await;
    let update = posted.iter().find(|m| m.idempotency_key == "digest:2026-W49:acked").unwrap();
    assert_eq!(update.updates, Some(posted[0].id));
    assert!(update.reply.actions.is_empty());
    assert!(update.text.contains("Acknowledged by @U-LEAD"), "{}", update.text);

    let audit = app.store.audit_entries().await.unwrap();
    let refusals: Vec<_> = audit.iter().filter(|e| e.action == "digest.ack_refused").collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert_eq!(refusals[0].actor, "U-SELLER");
    let acks: Vec<_> = audit.iter().filter(|e| e.action == "digest.acknowledged").collect();
    assert_eq!((acks.len(), acks[0].actor.as_str()), (1, "U-LEAD"));
}
