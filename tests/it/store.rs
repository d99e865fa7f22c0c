//! The store suite: every test runs on SQLite and, when configured, on PostgreSQL.

use keepable::store::outbox::NewMessage;
use keepable::store::{parse_files, Store};

use crate::support::{demo_store, TestDb};

fn firm_files(allocations: &str) -> Vec<(&'static str, String)> {
    vec![
        ("roles.csv", "id,name,rank\nsenior,Senior,3\n".to_string()),
        ("people.csv", "id,name,role,weekly_hours\np1,Ann,senior,40\np2,Bob,senior,40\n".to_string()),
        ("allocations.csv", allocations.to_string()),
    ]
}

async fn count(store: &Store, table: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap().get(0)
}

#[tokio::test]
async fn importing_the_same_export_twice_changes_nothing() {
    for db in TestDb::all().await {
        let store = demo_store(&db).await;
        let before = (count(&store, "allocations").await, count(&store, "people").await, count(&store, "history").await);
        let demo = keepable::import::demo::demo_firm(crate::support::today()).unwrap();
        store.import(&demo).await.unwrap().unwrap();
        let after = (count(&store, "allocations").await, count(&store, "people").await, count(&store, "history").await);
        assert_eq!(before, after, "{}", db.url);
        assert!(before.0 > 100 && before.1 >= 50 && before.2 >= 150);
    }
}

#[tokio::test]
async fn a_broken_import_is_refused_and_the_database_is_untouched() {
    for db in TestDb::all().await {
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
        assert_eq!(refused.iter().map(ToString::to_string).collect::<Vec<_>>(), vec!["allocations.csv:3: person: unknown person 'ghost'"]);
        assert_eq!(count(&store, "allocations").await, 1, "{}", db.url);
    }
}

#[tokio::test]
async fn an_upsert_updates_rows_by_key() {
    for db in TestDb::all().await {
        let store = Store::connect(&db.url).await.unwrap();
        let (parsed, _) = parse_files(&firm_files("person,project,start,end,hours_per_week\n"));
        store.import(&parsed).await.unwrap().unwrap();
        let renamed = vec![("people.csv", "id,name,role,weekly_hours,active\np1,Ann Lee,senior,32,false\n".to_string())];
        let (parsed, _) = parse_files(&renamed);
        store.import(&parsed).await.unwrap().unwrap();
        assert_eq!(count(&store, "people").await, 2);
        let capacity = store.capacity().await.unwrap();
        assert_eq!(capacity.people.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["p2"], "inactive people do not count");
    }
}

#[tokio::test]
async fn an_outbox_message_is_claimed_by_one_worker_until_its_lease_ends() {
    for db in TestDb::all().await {
        let store = Store::connect(&db.url).await.unwrap();
        let reply = serde_json::json!({"kind": "notice"});
        let mut conn = store.pool().acquire().await.unwrap();
        let message = |key: &str| NewMessage {
            idempotency_key: key.into(),
            target: "channel:C1".into(),
            text: "hi".into(),
            reply: &reply,
            updates: None,
        };
        let first = Store::enqueue(&mut conn, message("k1"), "2027-01-01T00:00:00Z").await.unwrap();
        let again = Store::enqueue(&mut conn, message("k1"), "2027-01-01T00:00:00Z").await.unwrap();
        assert_eq!(first, again, "the same idempotency key is one message");
        drop(conn);
        let claimed = store.claim_due("w1", "2027-01-01T00:00:01Z", "2027-01-01T00:01:01Z", 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(store.claim_due("w2", "2027-01-01T00:00:02Z", "2027-01-01T00:01:02Z", 10).await.unwrap().is_empty());
        // w1 dies; after the lease w2 takes over, and w1 can no longer mark it sent.
        let taken = store.claim_due("w2", "2027-01-01T00:02:00Z", "2027-01-01T00:03:00Z", 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert!(!store.mark_sent(first, "w1", "C1:1", "2027-01-01T00:02:01Z").await.unwrap());
        assert!(store.mark_sent(first, "w2", "C1:1", "2027-01-01T00:02:01Z").await.unwrap());
        let sent = store.outbox_message(first).await.unwrap().unwrap();
        assert_eq!((sent.state.as_str(), sent.platform_ref.as_deref()), ("sent", Some("C1:1")));
    }
}

#[tokio::test]
async fn concurrent_claims_never_hand_out_a_message_twice() {
    for db in TestDb::all().await {
        let store = Store::connect(&db.url).await.unwrap();
        let reply = serde_json::json!({"kind": "notice"});
        let mut conn = store.pool().acquire().await.unwrap();
        for i in 0..40 {
            let message = NewMessage {
                idempotency_key: format!("k{i}"),
                target: "channel:C1".into(),
                text: "hi".into(),
                reply: &reply,
                updates: None,
            };
            Store::enqueue(&mut conn, message, "2027-01-01T00:00:00Z").await.unwrap();
        }
        drop(conn);
        let mut workers = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_due(&format!("w{w}"), "2027-01-01T00:00:01Z", "2027-01-01T01:00:00Z", 3).await.unwrap();
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
}

#[tokio::test]
async fn an_update_waits_until_the_message_it_replaces_is_sent() {
    for db in TestDb::all().await {
        let store = Store::connect(&db.url).await.unwrap();
        let reply = serde_json::json!({"kind": "notice"});
        let mut conn = store.pool().acquire().await.unwrap();
        let original = Store::enqueue(
            &mut conn,
            NewMessage { idempotency_key: "a".into(), target: "channel:C".into(), text: "v1".into(), reply: &reply, updates: None },
            "2027-01-01T00:00:00Z",
        )
        .await
        .unwrap();
        Store::enqueue(
            &mut conn,
            NewMessage {
                idempotency_key: "b".into(),
                target: "channel:C".into(),
                text: "v2".into(),
                reply: &reply,
                updates: Some(original),
            },
            "2027-01-01T00:00:00Z",
        )
        .await
        .unwrap();
        drop(conn);
        let first = store.claim_due("w", "2027-01-01T00:00:01Z", "2027-01-01T00:01:00Z", 10).await.unwrap();
        assert_eq!(first.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["v1"]);
        store.mark_sent(original, "w", "C:1", "2027-01-01T00:00:02Z").await.unwrap();
        let second = store.claim_due("w", "2027-01-01T00:00:03Z", "2027-01-01T00:01:00Z", 10).await.unwrap();
        assert_eq!(second.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["v2"]);
    }
}

#[tokio::test]
async fn capacity_kept_in_memory_sees_changes_made_by_another_instance() {
    for db in TestDb::all().await {
        let first = Store::connect(&db.url).await.unwrap();
        let second = Store::connect(&db.url).await.unwrap();
        let (parsed, problems) = parse_files(&firm_files("person,project,start,end,hours_per_week\n"));
        assert!(problems.is_empty());
        first.import(&parsed).await.unwrap().unwrap();
        let before = first.capacity().await.unwrap();
        assert_eq!(before.people.len(), 2, "{}", db.url);
        assert!(before.people.iter().all(|p| p.bookings.is_empty()));
        assert!(std::sync::Arc::ptr_eq(&before, &first.capacity().await.unwrap()), "unchanged data is not read again");

        let (parsed, _) =
            parse_files(&firm_files("person,project,start,end,hours_per_week,status\np1,x,2027-01-04,2027-02-26,32,tentative\n"));
        second.import(&parsed).await.unwrap().unwrap();
        let after = first.capacity().await.unwrap();
        let ann = after.people.iter().find(|p| p.id == "p1").unwrap();
        assert_eq!(ann.bookings.len(), 1, "{}", db.url);
        assert!(ann.bookings[0].tentative);
    }
}

#[tokio::test]
async fn platform_event_ids_are_remembered_until_they_are_forgotten() {
    for db in TestDb::all().await {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.first_delivery_of_event("slack:Ev1", "2026-11-25T10:00:00Z").await.unwrap());
        assert!(!store.first_delivery_of_event("slack:Ev1", "2026-11-25T10:01:00Z").await.unwrap(), "a retry is seen");
        assert!(store.first_delivery_of_event("slack:Ev2", "2026-11-26T09:00:00Z").await.unwrap());
        assert_eq!(store.forget_events_before("2026-11-26T00:00:00Z").await.unwrap(), 1, "{}", db.url);
        assert!(!store.first_delivery_of_event("slack:Ev2", "2026-11-26T09:05:00Z").await.unwrap());
        assert!(store.first_delivery_of_event("slack:Ev1", "2026-11-26T09:05:00Z").await.unwrap());
    }
}

#[tokio::test]
async fn a_statement_run_first_with_a_missing_number_then_with_one_works() {
    use keepable::store::{Ticket, TicketChange};
    for db in TestDb::all().await {
        let store = Store::connect(&db.url).await.unwrap();
        let at = "2026-11-25T10:00:00Z".to_string();
        let ticket = |id: &str| Ticket {
            id: id.into(),
            deal_id: None,
            package: None,
            requester: "U-SELLER".into(),
            channel: "C1".into(),
            description: "CPQ".into(),
            state: "open".into(),
            effort_hours: None,
            price: None,
            notes: None,
            reason: None,
            deliverable_id: None,
            handled_by: None,
            message_id: None,
            created_at: at.clone(),
            updated_at: at.clone(),
        };
        // One connection: the same statement is prepared once with NULL numbers, then reused.
        let mut tx = store.pool().begin().await.unwrap();
        Store::insert_ticket(&mut tx, &ticket("T1")).await.unwrap();
        assert!(Store::move_ticket(&mut tx, "T1", "open", "accepted", "U-P", &at, &TicketChange::default()).await.unwrap());
        let scoped = TicketChange { effort_hours: Some(40.5), price: Some(4800.0), ..TicketChange::default() };
        let moved = Store::move_ticket(&mut tx, "T1", "accepted", "scoped", "U-P", &at, &scoped).await;
        assert!(moved.as_ref().is_ok_and(|m| *m), "{moved:?} on {}", db.url);
        tx.commit().await.unwrap();
    }
}
