//! Import as a snapshot (SPEC 3), on both backends: a re-import of a changed export answers
//! exactly as a fresh import of it; the same export twice changes nothing; a dry run changes
//! nothing; holds survive; the demo is replaced, never mixed; the drop folder imports a changed
//! folder once and tells operations about a broken one.

use std::collections::HashMap;
use std::path::Path;

use keepable::app::refresh::{DropFolder, DropOutcome};
use keepable::app::{App, Clock};
use keepable::import::parse_files;
use keepable::import::snapshot::Mode;
use keepable::store::{ImportOptions, Store};

use crate::support::{actor, now, on_both_databases, settings, today, TestDb};

use keepable::import::FILES;

/// The demo firm's folder as a firm's export: file name and text.
fn demo_export() -> HashMap<&'static str, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    FILES.iter().map(|name| (*name, std::fs::read_to_string(dir.join(name)).unwrap())).collect()
}

fn without_lines(text: &str, drop: impl Fn(&str) -> bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 || !drop(line) {
            out.push(line);
        }
    }
    out.join("\n") + "\n"
}

/// The next week's export: two bookings shortened, one cancelled, one added; a role dropped from
/// a package; a package and a deliverable retired; time off changed; a history row added.
fn next_week(mut export: HashMap<&'static str, String>) -> HashMap<&'static str, String> {
    let edit = |export: &mut HashMap<&'static str, String>,
                file: &'static str,
                f: &dyn Fn(&str) -> String| {
        let text = export[file].clone();
        export.insert(file, f(&text));
    };
    edit(&mut export, "allocations.csv", &|text| {
        let text = text
            .replace(
                "p001,larkspur-bi-2026,2026-10-19,2027-01-01",
                "p001,larkspur-bi-2026,2026-10-19,2026-12-04",
            )
            .replace(
                "p002,alder-integration-2026,2026-10-12,2027-03-05",
                "p002,alder-integration-2026,2026-10-12,2026-12-11",
            );
        let text = without_lines(&text, |l| l.starts_with("p002,meridian-analytics-2026,"));
        text + "p003,new-client-2027,2027-01-04,2027-04-30,16,tentative\n"
    });
    edit(&mut export, "package_roles.csv", &|text| {
        without_lines(text, |l| {
            l.starts_with("crm-rollout,architect,") || l.starts_with("bi-dashboards,")
        })
    });
    edit(&mut export, "packages.csv", &|text| {
        without_lines(text, |l| l.starts_with("bi-dashboards,"))
    });
    let deliverables = export["deliverables.csv"].clone();
    let retired = retirable_deliverable(&deliverables);
    edit(&mut export, "deliverables.csv", &|text| {
        without_lines(text, |l| l.starts_with(&format!("{retired},")))
    });
    edit(&mut export, "package_items.csv", &|text| {
        without_lines(text, |l| {
            l.starts_with("bi-dashboards,") || l.contains(&format!(",{retired},"))
        })
    });
    edit(&mut export, "time_off.csv", &|text| {
        without_lines(text, |l| l.starts_with("p001,")) + "p004,2027-01-11,2027-01-22\n"
    });
    edit(&mut export, "history.csv", &|text| {
        text.to_string()
            + "h999,Acme,crm-rollout,2026-06-01,2026-09-18,2100,2026-09-04,0.31,0.27,1\n"
    });
    export
}

/// A deliverable nothing depends on.
fn retirable_deliverable(deliverables: &str) -> String {
    let ids: Vec<&str> = deliverables.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    ids.iter()
        .rev()
        .find(|id| {
            !deliverables
                .lines()
                .skip(1)
                .any(|l| !l.starts_with(&format!("{id},")) && l.contains(*id))
        })
        .unwrap()
        .to_string()
}

fn files(export: &HashMap<&'static str, String>) -> Vec<(&'static str, String)> {
    FILES.iter().map(|name| (*name, export[name].clone())).collect()
}

async fn import(
    store: &Store,
    export: &HashMap<&'static str, String>,
) -> keepable::store::ImportReport {
    let (parsed, problems) = parse_files(&files(export));
    assert!(problems.is_empty(), "{problems:?}");
    store.import_with(&parsed, Vec::new(), &ImportOptions::cli(now())).await.unwrap().unwrap()
}

fn app(store: Store) -> App {
    App::new(store, settings(), Clock { fixed_now: Some(now()), fixed_today: Some(today()) })
        .unwrap()
}

/// What the sellers would be told, as the JSON contract says it.
async fn answers(app: &App) -> Vec<serde_json::Value> {
    let questions = [
        "/earliest-start crm-rollout",
        "/earliest-start cloud-migration",
        "/earliest-start data-platform-foundation",
        "/earliest-start managed-support-onboarding",
        "/earliest-start bi-dashboards",
        "/earliest-start roles=senior:1@16,analyst:2@32 weeks=6",
        "/staffing crm-rollout",
        "/comparables crm-rollout",
        "/comparables crm-rollout effort=2000 deadline=2027-03-31 start=2027-01-04",
        "/comparables cloud-migration",
        "/included single sign-on package=crm-rollout",
        "/included data migration",
    ];
    let who = actor("U-SELLER", "C-SELLER");
    let mut answers = Vec::new();
    for question in questions {
        let reply = app.ask(&who, question).await;
        let mut data = serde_json::Value::Object((*reply.data).clone());
        if reply.kind == "error" {
            data = serde_json::json!({"kind": "error", "text": reply.to_text()});
        }
        answers.push(serde_json::json!({"question": question, "answer": data}));
    }
    answers
}

/// Every row of the firm's tables, in a stable order, as text.
async fn firm_rows(store: &Store) -> Vec<String> {
    let mut rows = Vec::new();
    for table in FILES.iter().map(|f| f.trim_end_matches(".csv")) {
        rows.push(format!("{table}: {}", store.count(table).await.unwrap()));
    }
    let capacity = store.capacity().await.unwrap();
    rows.push(format!("{:?}", capacity.people));
    rows.push(format!("{:?}", store.packages().await.unwrap()));
    rows.push(format!("{:?}", store.library().await.unwrap()));
    rows
}

on_both_databases!(a_re_import_answers_exactly_as_a_fresh_import_of_the_same_export);
async fn a_re_import_answers_exactly_as_a_fresh_import_of_the_same_export(db: TestDb) {
    let refreshed = Store::connect(&db.url).await.unwrap();
    import(&refreshed, &demo_export()).await;
    let changed = next_week(demo_export());
    let report = import(&refreshed, &changed).await;
    let summary = report.to_string();
    assert!(
        summary.contains("packages.csv         4 rows: 0 new, 0 changed, 1 removed"),
        "{summary}"
    );
    assert!(
        summary.contains("allocations.csv      146 rows: 1 new, 2 changed, 1 removed")
            || summary.contains("allocations.csv      146 rows: 3 new, 0 changed, 3 removed"),
        "{summary}"
    );
    assert!(
        summary.contains("history.csv          151 rows: 1 new, 0 changed, 0 removed"),
        "{summary}"
    );

    let fresh_db = TestDb::sqlite();
    let fresh = Store::connect(&fresh_db.url).await.unwrap();
    import(&fresh, &changed).await;
    let (refreshed, fresh) = (app(refreshed), app(fresh));
    let (after_refresh, after_fresh) = (answers(&refreshed).await, answers(&fresh).await);
    for (a, b) in after_refresh.iter().zip(&after_fresh) {
        assert_eq!(a, b, "{}", db.url);
    }
    // The retired package is gone from answers; the dropped role from its package.
    assert!(after_refresh[4]["answer"]["text"].as_str().unwrap().contains("Unknown package"));
    let staffing = &after_refresh[6]["answer"]["roles"];
    assert!(!staffing.to_string().contains("architect"), "{staffing}");
}

on_both_databases!(the_same_export_twice_changes_nothing);
async fn the_same_export_twice_changes_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let export = next_week(demo_export());
    import(&store, &export).await;
    let (before, imports) = (firm_rows(&store).await, store.imports(10).await.unwrap());
    let report = import(&store, &export).await;
    assert!(report.unchanged(), "{report}");
    assert_eq!(report.files.len(), 10);
    assert!(report.to_string().lines().all(|l| l.ends_with("unchanged")), "{report}");
    assert_eq!(firm_rows(&store).await, before, "{}", db.url);
    assert_eq!(store.imports(10).await.unwrap(), imports, "nothing is recorded either");
}

on_both_databases!(a_dry_run_reports_and_changes_nothing);
async fn a_dry_run_reports_and_changes_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    import(&store, &demo_export()).await;
    let before = firm_rows(&store).await;
    let (parsed, _) = parse_files(&files(&next_week(demo_export())));
    let options = ImportOptions { dry_run: true, ..ImportOptions::cli(now()) };
    let report = store.import_with(&parsed, Vec::new(), &options).await.unwrap().unwrap();
    assert!(report.dry_run && !report.unchanged(), "{report}");
    assert!(report
        .to_string()
        .contains("packages.csv         4 rows: 0 new, 0 changed, 1 removed"));
    assert_eq!(firm_rows(&store).await, before, "{}", db.url);
}

on_both_databases!(a_merge_adds_and_updates_and_removes_nothing);
async fn a_merge_adds_and_updates_and_removes_nothing(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    import(&store, &demo_export()).await;
    let partial = vec![(
        "allocations.csv",
        "person,project,start,end,hours_per_week\np003,extra,2027-01-04,2027-01-29,8\n".to_string(),
    )];
    let (parsed, problems) = parse_files(&partial);
    assert!(problems.is_empty());
    let options = ImportOptions { mode: Mode::Merge, ..ImportOptions::cli(now()) };
    let report = store.import_with(&parsed, Vec::new(), &options).await.unwrap().unwrap();
    assert_eq!(
        report.to_string().trim(),
        "allocations.csv      1 row: 1 new, 0 changed, 0 removed"
    );
    assert_eq!(store.count("allocations").await.unwrap(), 147);
}

on_both_databases!(bookings_keyed_by_id_change_in_place);
async fn bookings_keyed_by_id_change_in_place(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    import(&store, &demo_export()).await;
    let with_ids = |end: &str| {
        vec![(
            "allocations.csv",
            format!(
                "id,person,project,start,end,hours_per_week\nA1,p003,x,2027-01-04,{end},8\nA2,p003,x,2027-01-04,{end},8\n"
            ),
        )]
    };
    let (parsed, _) = parse_files(&with_ids("2027-03-26"));
    store.import(&parsed).await.unwrap().unwrap();
    assert_eq!(
        store.count("allocations").await.unwrap(),
        2,
        "two bookings alike, two ids: {}",
        db.url
    );
    let (parsed, _) = parse_files(&with_ids("2027-02-26"));
    let report = store.import(&parsed).await.unwrap().unwrap();
    assert_eq!(
        report.to_string().trim(),
        "allocations.csv      2 rows: 0 new, 2 changed, 0 removed"
    );
    assert_eq!(store.count("allocations").await.unwrap(), 2);
}

on_both_databases!(holds_survive_a_re_import);
async fn holds_survive_a_re_import(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    import(&store, &demo_export()).await;
    let app = app(store);
    let seller = actor("U-SELLER", "C-DEAL");
    app.ask(&seller, "/deal new Hold package=crm-rollout").await;
    let answer = app.ask(&seller, "/earliest-start crm-rollout").await;
    let hold = answer.actions.iter().find(|a| a.action.to_string().starts_with("hold:")).unwrap();
    let held = app.act(&seller, &hold.action.to_string(), &HashMap::new()).await;
    assert_eq!(held.kind, "hold", "{held:?}");
    let booked = app.store.count("allocations").await.unwrap();
    assert!(booked > 146);
    let report = import(&app.store, &demo_export()).await;
    assert!(report.unchanged(), "{report}");
    let report = import(&app.store, &next_week(demo_export())).await;
    assert!(!report.unchanged());
    assert_eq!(app.store.count("allocations").await.unwrap(), booked, "{}", db.url);
    let shown = app.ask(&seller, "/deal show").await;
    let holds = shown.data["holds"].as_array().cloned().unwrap_or_default();
    assert!(holds.iter().any(|h| h["state"] == "active"), "the hold is still active: {shown:?}");
}

on_both_databases!(a_firm_import_replaces_the_demo_and_its_workflows);
async fn a_firm_import_replaces_the_demo_and_its_workflows(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let demo = keepable::import::demo::demo_firm(today()).unwrap();
    store.load_demo(&demo, now()).await.unwrap().unwrap();
    let app = app(store);
    app.ask(&actor("U-SELLER", "C-DEAL"), "/deal new Trial package=crm-rollout").await;
    assert_eq!(app.store.count("deals").await.unwrap(), 1);
    assert!(app.freshness().await.unwrap().demo);

    let firm = vec![
        ("roles.csv", "id,name,rank\nlead,Lead,2\n".to_string()),
        ("people.csv", "id,name,role,weekly_hours\nq1,Quinn,lead,40\n".to_string()),
        ("packages.csv", "id,name,duration_weeks\naudit,Audit,4\n".to_string()),
        ("package_roles.csv", "package,role,count,hours_per_week\naudit,lead,1,20\n".to_string()),
    ];
    let (parsed, problems) = parse_files(&firm);
    assert!(problems.is_empty());
    let report = app.store.import(&parsed).await.unwrap().unwrap();
    assert_eq!(report.replaced_demo, Some(1));
    assert_eq!(
        report.to_string().lines().next().unwrap(),
        "roles.csv            1 row: 1 new, 0 changed, 0 removed"
    );
    for table in ["deals", "allocations", "history", "deliverables", "holidays", "audit_log"] {
        let expected = i64::from(table == "audit_log");
        assert_eq!(app.store.count(table).await.unwrap(), expected, "{table} on {}", db.url);
    }
    assert_eq!(app.store.count("roles").await.unwrap(), 1, "no demo role is kept, even retired");
    assert!(!app.freshness().await.unwrap().demo);
    let answer = app.ask(&actor("U-SELLER", "C-X"), "/earliest-start crm-rollout").await;
    assert_eq!(answer.kind, "error");
    assert_eq!(app.ask(&actor("U-SELLER", "C-X"), "/staffing audit").await.kind, "staffing");
}

on_both_databases!(the_drop_folder_imports_a_changed_folder_once_and_tells_operations);
async fn the_drop_folder_imports_a_changed_folder_once_and_tells_operations(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let settings = keepable::config::Settings { ops_channel: Some("C-OPS".into()), ..settings() };
    let app =
        App::new(store, settings, Clock { fixed_now: Some(now()), fixed_today: Some(today()) })
            .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let write = |export: &HashMap<&'static str, String>| {
        for (name, text) in export {
            std::fs::write(folder.path().join(name), text).unwrap();
        }
    };
    let mut drop = DropFolder::new(folder.path().to_path_buf());
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Unchanged, "no export yet");
    write(&demo_export());
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Settling, "files may still be coming");
    assert_eq!(app.store.count("people").await.unwrap(), 0);
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Imported);
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Unchanged, "once per change");
    let ops = |app: &App| {
        let store = app.store.clone();
        async move {
            store
                .outbox_messages()
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.target == keepable::app::reply::Target::Channel("C-OPS".into()))
                .map(|m| m.reply.to_text())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ops(&app).await.len(), 1);
    assert!(
        ops(&app).await[0].contains("people.csv           60 rows: 60 new"),
        "{:?}",
        ops(&app).await
    );

    write(&next_week(demo_export()));
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Settling);
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Imported);
    assert_eq!(app.store.count("history").await.unwrap(), 151);
    let before = firm_rows(&app.store).await;
    let last_good = app.store.last_import().await.unwrap().unwrap();

    std::fs::write(
        folder.path().join("allocations.csv"),
        "person,project,start,end,hours_per_week\nghost,x,2027-01-04,2026-01-01,-3\n",
    )
    .unwrap();
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Settling);
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Refused);
    assert_eq!(firm_rows(&app.store).await, before, "a broken export changes nothing: {}", db.url);
    assert_eq!(app.store.last_import().await.unwrap().unwrap(), last_good);
    let told = ops(&app).await;
    assert_eq!(told.len(), 3, "{told:?}");
    assert!(
        told[2].contains("was not imported") && told[2].contains("allocations.csv:2:"),
        "{}",
        told[2]
    );
    assert_eq!(drop.step(&app).await.unwrap(), DropOutcome::Unchanged, "told once, not every look");
}

on_both_databases!(answers_say_how_old_the_capacity_is_and_warn_when_it_is_stale);
async fn answers_say_how_old_the_capacity_is_and_warn_when_it_is_stale(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let (parsed, _) = parse_files(&files(&demo_export()));
    let imported_at: chrono::DateTime<chrono::Utc> = "2026-11-23T15:12:00Z".parse().unwrap();
    store
        .import_with(&parsed, Vec::new(), &ImportOptions::cli(imported_at))
        .await
        .unwrap()
        .unwrap();
    let at = |now: &str| {
        let settings =
            keepable::config::Settings { timezone: "America/Chicago".into(), ..settings() };
        let clock = Clock { fixed_now: Some(now.parse().unwrap()), fixed_today: None };
        App::new(store.clone(), settings, clock).unwrap()
    };
    let seller = actor("U-SELLER", "C-SELLER");
    let fresh = at("2026-11-25T15:00:00Z").ask(&seller, "/earliest-start crm-rollout").await;
    assert!(fresh.to_text().contains("Capacity as of Mon 23 Nov, 09:12"), "{}", fresh.to_text());
    assert!(!fresh.to_text().contains("days old"));
    assert_eq!(fresh.data["capacity"]["stale"], false);
    let stale = at("2026-12-01T16:00:00Z").ask(&seller, "/earliest-start crm-rollout").await;
    assert!(stale.to_text().contains("the capacity data is 8 days old"), "{}", stale.to_text());
    assert_eq!(stale.data["capacity"]["stale"], true);
}
