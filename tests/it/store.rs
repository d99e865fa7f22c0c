//! The store suite: every test runs on SQLite and, when configured, on PostgreSQL.

use chrono::{DateTime, Utc};
use keepable::app::reply::{Reply, Target};
use keepable::import::parse_files;
use keepable::store::outbox::NewMessage;
use keepable::store::Store;

use crate::support::{demo_store, on_both_databases, TestDb};

fn firm_files(allocations: &str) -> Vec<(&'static str, String)> {
    vec![
        ("roles.csv", "id,name,rank\nsenior,Senior,3\n".to_string()),
        (
            "people.csv",
            "id,name,role,weekly_hours\np1,Ann,senior,40\np2,Bob,senior,40\n".to_string(),
        ),
        ("allocations.csv", allocations.to_string()),
    ]
}

async fn count(store: &Store, table: &str) -> i64 {
    store.count(table).await.unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Queues one message in its own transaction.
async fn enqueue(store: &Store, key: &str, text: &str, updates: Option<i64>) -> i64 {
    let mut reply = Reply::new("notice");
    reply.headline = text.into();
    let mut tx = store.begin().await.unwrap();
    let message = NewMessage {
        idempotency_key: key.into(),
        target: Target::Channel("C1".into()),
        reply: &reply,
        updates,
        caused_by: None,
    };
    let id = tx.enqueue(message, at("2027-01-01T00:00:00Z")).await.unwrap();
    tx.commit().await.unwrap();
    id
}

on_both_databases!(importing_the_same_export_twice_changes_nothing);
async fn importing_the_same_export_twice_changes_nothing(db: TestDb) {
    let store = demo_store(&db).await;
    let before = (
        count(&store, "allocations").await,
        count(&store, "people").await,
        count(&store, "history").await,
    );
    let demo = keepable::import::demo::demo_firm(crate::support::today()).unwrap();
    store.import(&demo).await.unwrap().unwrap();
    let after = (
        count(&store, "allocations").await,
        count(&store, "people").await,
        count(&store, "history").await,
    );
    assert_eq!(before, after, "{}", db.url);
    assert!(before.0 > 100 && before.1 >= 50 && before.2 >= 150);
}

on_both_databases!(awkward_text_is_stored_as_written_and_reads_back_unchanged);
async fn awkward_text_is_stored_as_written_and_reads_back_unchanged(db: TestDb) {
    // PostgreSQL's import binds each column as an array literal: quotes, backslashes, commas,
    // braces, the word NULL and empty optional fields must all come back exactly.
    let store = Store::connect(&db.url).await.unwrap();
    let people = "id,name,role,weekly_hours,active,slack_user_id,email\n\
                  p1,\"Ann \"\"The Hat\"\" O'Neil, {Jr}\",senior,37.5,true,U1,\n\
                  p2,NULL,senior,40,true,,C:\\\\x \\\"y\\\"\n\
                  p3,Zoë 北,senior,0.1,false,,\n";
    let allocations =
        "person,project,start,end,hours_per_week\np1,\"a,b\",2027-01-04,2027-02-26,20.25\n";
    let mut files = firm_files(allocations);
    files[1] = ("people.csv", people.to_string());
    let (parsed, problems) = parse_files(&files);
    assert!(problems.is_empty(), "{problems:?}");
    store.import(&parsed).await.unwrap().unwrap();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    type Stored = (String, f64, i64, Option<String>, Option<String>);
    let stored: Vec<Stored> = sqlx::query_as(
        "SELECT name, weekly_hours, CASE WHEN active THEN 1 ELSE 0 END, slack_user_id, email \
         FROM people ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let text = |t: &str| Some(t.to_string());
    assert_eq!(
        stored,
        vec![
            (r#"Ann "The Hat" O'Neil, {Jr}"#.to_string(), 37.5, 1, text("U1"), None),
            ("NULL".to_string(), 40.0, 1, None, text(r#"C:\\x \"y\""#)),
            ("Zoë 北".to_string(), 0.1, 0, None, None),
        ],
        "{}",
        db.url
    );
    let hours: Vec<f64> =
        store.capacity().await.unwrap().people.iter().map(|p| p.weekly_hours.as_f64()).collect();
    assert_eq!(hours, vec![37.5, 40.0], "{}", db.url);
    // Read back exactly: the same files again change nothing.
    let again = store.import(&parsed).await.unwrap().unwrap();
    assert!(again.unchanged(), "{}: {again}", db.url);
}

on_both_databases!(a_broken_import_is_refused_and_the_database_is_untouched);
async fn a_broken_import_is_refused_and_the_database_is_untouched(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let good = "person,project,start,end,hours_per_week\np1,x,2027-01-04,2027-02-26,20\n";
    let (parsed, problems) = parse_files(&firm_files(good));
    assert!(problems.is_empty());
    store.import(&parsed).await.unwrap().unwrap();
    // A reference to a person only the database could know is checked against the database too.
    let unknown = "person,project,start,end,hours_per_week\np1,y,2027-03-01,2027-03-26,20\nghost,y,2027-03-01,2027-03-26,20\n";
    let files = vec![("allocations.csv", unknown.to_string())];
    let (parsed, problems) = parse_files(&files);
    assert!(problems.is_empty());
    let refused = store.import(&parsed).await.unwrap().unwrap_err();
    assert_eq!(
        refused.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["allocations.csv:3: person: unknown person 'ghost'"]
    );
    assert_eq!(count(&store, "allocations").await, 1, "{}", db.url);
}

on_both_databases!(a_merge_updates_rows_by_key_and_removes_nothing);
async fn a_merge_updates_rows_by_key_and_removes_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let (parsed, _) = parse_files(&firm_files("person,project,start,end,hours_per_week\n"));
    store.import(&parsed).await.unwrap().unwrap();
    let renamed = vec![(
        "people.csv",
        "id,name,role,weekly_hours,active\np1,Ann Lee,senior,32,false\n".to_string(),
    )];
    let (parsed, _) = parse_files(&renamed);
    let merge = keepable::store::ImportOptions {
        mode: keepable::import::snapshot::Mode::Merge,
        ..keepable::store::ImportOptions::cli(at("2026-11-25T15:00:00Z"))
    };
    let report = store.import_with(&parsed, Vec::new(), &merge).await.unwrap().unwrap();
    assert_eq!(
        report.to_string().trim(),
        "people.csv           1 row: 0 new, 1 changed, 0 removed"
    );
    assert_eq!(count(&store, "people").await, 2);
    let capacity = store.capacity().await.unwrap();
    assert_eq!(
        capacity.people.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["p2"],
        "inactive people do not count"
    );
}

on_both_databases!(an_outbox_message_is_claimed_by_one_worker_until_its_lease_ends);
async fn an_outbox_message_is_claimed_by_one_worker_until_its_lease_ends(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let first = enqueue(&store, "k1", "hi", None).await;
    let again = enqueue(&store, "k1", "hi", None).await;
    assert_eq!(first, again, "the same idempotency key is one message");
    let claimed = store
        .claim_due("w1", at("2027-01-01T00:00:01Z"), at("2027-01-01T00:01:01Z"), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store
        .claim_due("w2", at("2027-01-01T00:00:02Z"), at("2027-01-01T00:01:02Z"), 10)
        .await
        .unwrap()
        .is_empty());
    // w1 dies; after the lease w2 takes over, and w1 can no longer mark it sent.
    let taken = store
        .claim_due("w2", at("2027-01-01T00:02:00Z"), at("2027-01-01T00:03:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert!(!store.mark_sent(first, "w1", "C1:1", at("2027-01-01T00:02:01Z")).await.unwrap());
    assert!(store.mark_sent(first, "w2", "C1:1", at("2027-01-01T00:02:01Z")).await.unwrap());
    let sent = store.outbox_message(first).await.unwrap().unwrap();
    assert_eq!((sent.state.as_str(), sent.platform_ref.as_deref()), ("sent", Some("C1:1")));
}

on_both_databases!(concurrent_claims_never_hand_out_a_message_twice);
async fn concurrent_claims_never_hand_out_a_message_twice(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    for i in 0..40 {
        enqueue(&store, &format!("k{i}"), "hi", None).await;
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_due(
                        &format!("w{w}"),
                        at("2027-01-01T00:00:01Z"),
                        at("2027-01-01T01:00:00Z"),
                        3,
                    )
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (40, 40), "{}", db.url);
}

on_both_databases!(an_update_waits_until_the_message_it_replaces_is_sent);
async fn an_update_waits_until_the_message_it_replaces_is_sent(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let original = enqueue(&store, "a", "v1", None).await;
    enqueue(&store, "b", "v2", Some(original)).await;
    let first = store
        .claim_due("w", at("2027-01-01T00:00:01Z"), at("2027-01-01T00:01:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(first.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["v1"]);
    store.mark_sent(original, "w", "C:1", at("2027-01-01T00:00:02Z")).await.unwrap();
    let second = store
        .claim_due("w", at("2027-01-01T00:00:03Z"), at("2027-01-01T00:01:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(second.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["v2"]);
}

on_both_databases!(capacity_kept_in_memory_sees_changes_made_by_another_instance);
async fn capacity_kept_in_memory_sees_changes_made_by_another_instance(db: TestDb) {
    let first = Store::connect(&db.url).await.unwrap();
    let second = Store::connect(&db.url).await.unwrap();
    let (parsed, problems) = parse_files(&firm_files("person,project,start,end,hours_per_week\n"));
    assert!(problems.is_empty());
    first.import(&parsed).await.unwrap().unwrap();
    let before = first.capacity().await.unwrap();
    assert_eq!(before.people.len(), 2, "{}", db.url);
    assert!(before.people.iter().all(|p| p.bookings.is_empty()));
    assert!(
        std::sync::Arc::ptr_eq(&before, &first.capacity().await.unwrap()),
        "unchanged data is not read again"
    );

    let (parsed, _) = parse_files(&firm_files(
        "person,project,start,end,hours_per_week,status\np1,x,2027-01-04,2027-02-26,32,tentative\n",
    ));
    second.import(&parsed).await.unwrap().unwrap();
    let after = first.capacity().await.unwrap();
    let ann = after.people.iter().find(|p| p.id == "p1").unwrap();
    assert_eq!(ann.bookings.len(), 1, "{}", db.url);
    assert!(ann.bookings[0].tentative);
}

on_both_databases!(platform_event_ids_are_remembered_until_they_are_forgotten);
async fn platform_event_ids_are_remembered_until_they_are_forgotten(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    assert!(store.first_delivery_of_event("slack:Ev1", at("2026-11-25T10:00:00Z")).await.unwrap());
    assert!(
        !store.first_delivery_of_event("slack:Ev1", at("2026-11-25T10:01:00Z")).await.unwrap(),
        "a retry is seen"
    );
    assert!(store.first_delivery_of_event("slack:Ev2", at("2026-11-26T09:00:00Z")).await.unwrap());
    assert_eq!(
        store.forget_events_before(at("2026-11-26T00:00:00Z")).await.unwrap(),
        1,
        "{}",
        db.url
    );
    assert!(!store.first_delivery_of_event("slack:Ev2", at("2026-11-26T09:05:00Z")).await.unwrap());
    assert!(store.first_delivery_of_event("slack:Ev1", at("2026-11-26T09:05:00Z")).await.unwrap());
}

on_both_databases!(keys_presented_at_once_to_two_instances_are_each_first_exactly_once);
/// The replay guard's keys are written in batches (group commit): many at once, some twice on
/// one instance and once more on another, and each key is still new exactly once.
async fn keys_presented_at_once_to_two_instances_are_each_first_exactly_once(db: TestDb) {
    let first = Store::connect(&db.url).await.unwrap();
    let second = Store::connect(&db.url).await.unwrap();
    let now = at("2026-11-25T10:00:00Z");
    let mut attempts = Vec::new();
    for n in 0..150 {
        let key = format!("slack-request:{n}");
        for store in [&first, &first, &second] {
            let (store, key) = (store.clone(), key.clone());
            attempts.push(tokio::spawn(async move {
                (key.clone(), store.first_delivery_of_event(&key, now).await.unwrap())
            }));
        }
    }
    let mut firsts = std::collections::HashMap::<String, usize>::new();
    for attempt in attempts {
        let (key, first) = attempt.await.unwrap();
        *firsts.entry(key).or_default() += usize::from(first);
    }
    assert_eq!(firsts.len(), 150);
    assert!(firsts.values().all(|&n| n == 1), "{}: {firsts:?}", db.url);
}

on_both_databases!(a_request_key_is_refused_after_a_restart_and_by_every_instance_that_shares_it);
/// The replay guard's keys: new once per instance, once written seen by the next process on the
/// file (a restart) and, on PostgreSQL, by every instance at once.
async fn a_request_key_is_refused_after_a_restart_and_by_every_instance_that_shares_it(db: TestDb) {
    let now = at("2026-11-25T10:00:00Z");
    let first = Store::connect(&db.url).await.unwrap();
    assert!(first.first_request("s:1", now).await.unwrap(), "{}", db.url);
    assert!(!first.first_request("s:1", now).await.unwrap(), "{}", db.url);
    assert!(first.first_request("s:2", now).await.unwrap(), "{}", db.url);
    // At shutdown the keys are written; the next process on the database refuses them.
    first.flush_request_keys().await;
    drop(first);
    let next = Store::connect(&db.url).await.unwrap();
    for key in ["s:1", "s:2"] {
        assert!(!next.first_request(key, now).await.unwrap(), "{key} on {}", db.url);
    }
    assert!(next.first_request("s:3", now).await.unwrap(), "{}", db.url);
    if db.url.starts_with("postgres") {
        // Instances side by side: each key is committed before its request goes on.
        let other = Store::connect(&db.url).await.unwrap();
        assert!(!other.first_request("s:3", now).await.unwrap());
    }
    next.flush_request_keys().await;
}

on_both_databases!(offers_saved_at_once_are_each_saved_once);
async fn offers_saved_at_once_are_each_saved_once(db: TestDb) {
    use keepable::domain::offer::{Offer, OfferTerms, TicketOffer};
    let store = Store::connect(&db.url).await.unwrap();
    let offer = |n: usize| Offer {
        id: format!("offer{n}"),
        owner: format!("U{n}"),
        channel: "C1".into(),
        terms: OfferTerms::Ticket(TicketOffer { description: format!("item {n}"), package: None }),
        created_at: at("2026-11-25T10:00:00Z"),
        deal: n.is_multiple_of(2).then(|| "deal-1".to_string()),
    };
    let saving: Vec<_> = (0..120)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_offer(offer(n)).await })
        })
        .collect();
    for saved in saving {
        saved.await.unwrap().unwrap();
    }
    // An id drawn twice fails alone, not with the offers written beside it.
    let again = tokio::spawn({
        let store = store.clone();
        async move { store.insert_offer(offer(7)).await }
    });
    let fresh = store.insert_offer(offer(500)).await;
    assert!(again.await.unwrap().is_err(), "{}", db.url);
    fresh.unwrap();
    assert_eq!(count(&store, "offers").await, 121, "{}", db.url);
    for n in [0, 7, 119, 500] {
        assert_eq!(store.offer(&format!("offer{n}")).await.unwrap(), Some(offer(n)), "{}", db.url);
    }
}

on_both_databases!(a_statement_run_first_with_a_missing_number_then_with_one_works);
async fn a_statement_run_first_with_a_missing_number_then_with_one_works(db: TestDb) {
    use keepable::domain::ticket::{Ticket, TicketChange, TicketState};
    let store = Store::connect(&db.url).await.unwrap();
    let now = at("2026-11-25T10:00:00Z");
    let ticket = |id: &str| Ticket {
        id: id.into(),
        deal_id: None,
        package: None,
        requester: "U-SELLER".into(),
        channel: "C1".into(),
        description: "CPQ".into(),
        state: TicketState::Open,
        effort_hours: None,
        price: None,
        notes: None,
        reason: None,
        deliverable_id: None,
        handled_by: None,
        message_id: None,
        created_at: now,
        updated_at: now,
        offer_id: None,
    };
    // One transaction: the same statement is prepared once with NULL numbers, then reused.
    let mut tx = store.begin().await.unwrap();
    tx.insert_ticket(&ticket("T1")).await.unwrap();
    let accept = (TicketState::Open, TicketState::Accepted);
    assert!(tx.move_ticket("T1", accept, "U-P", now, &TicketChange::default()).await.unwrap());
    let scoped =
        TicketChange { effort_hours: Some(40.5), price: Some(4800.0), ..TicketChange::default() };
    let moved = tx
        .move_ticket("T1", (TicketState::Accepted, TicketState::Scoped), "U-P", now, &scoped)
        .await;
    assert!(moved.as_ref().is_ok_and(|m| *m), "{moved:?} on {}", db.url);
    tx.commit().await.unwrap();
}

// History's optional columns are stored and read back as they were given.
on_both_databases!(history_keeps_its_seller_deal_and_staffing);
async fn history_keeps_its_seller_deal_and_staffing(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let files = vec![
        ("roles.csv", "id,name,rank\nsenior,Senior,3\nanalyst,Analyst,1\n".to_string()),
        ("packages.csv", "id,name,duration_weeks\ncrm,CRM,8\n".to_string()),
        (
            "history.csv",
            "id,package,start,end,effort_hours,seller,deal,sold_roles,staffed_roles\n\
             h1,crm,2025-01-06,2025-03-28,900,U1,acme,senior:1;analyst:2,analyst:3\n\
             h2,crm,2025-02-03,2025-04-25,700,,,,\n"
                .to_string(),
        ),
    ];
    let (parsed, problems) = parse_files(&files);
    assert!(problems.is_empty(), "{problems:?}");
    store.import(&parsed).await.unwrap().unwrap();
    let history = store.history("crm").await.unwrap();
    let (h1, h2) = (&history[0], &history[1]);
    assert_eq!(
        (h1.seller.as_deref(), h1.deal.as_deref()),
        (Some("U1"), Some("acme")),
        "{}",
        db.url
    );
    assert_eq!(h1.sold_roles.as_ref().map(|r| r.len()), Some(2));
    assert_eq!(
        h1.staffed_roles.as_ref().map(|r| (r[0].role.as_str(), r[0].count)),
        Some(("analyst", 3))
    );
    assert_eq!((h2.seller.as_deref(), h2.sold_roles.as_ref()), (None, None));
}
