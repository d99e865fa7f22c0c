//! The answer engines at large-firm scale: a `gen-firm` firm of 2,000 and of 10,000 people in
//! SQLite, and each command answered in-process through `App::ask` — the same path chat takes,
//! including reading what the rule needs from the database and wording the reply.
//!
//! `cargo bench --bench engines` at 2,000, 10,000 and 50,000 people (`KEEPABLE_BENCH_PEOPLE=2000`
//! for one size). Capacity, its weekly free hours, the catalogue and history stay in memory
//! between questions while their data version holds (`store/cache.rs`), so the steady state reads
//! the version rows and writes the answer's offer. `earliest_start_after_a_hold` measures the
//! first answer after a hold (only the held people are read again) and
//! `earliest_start_after_a_change` the first after a change that reads all capacity again (an
//! import); `backtest` replays the whole firm's history.

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use keepable::app::{Actor, App, Clock};
use keepable::config::Settings;
use keepable::import;
use keepable::store::Store;

/// The allocator `keepable serve` runs with (`src/main.rs`), so the figures are the served ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The firm sizes measured: `KEEPABLE_BENCH_PEOPLE` (comma separated) or all three.
fn sizes() -> Vec<usize> {
    std::env::var("KEEPABLE_BENCH_PEOPLE")
        .ok()
        .map(|list| list.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2_000, 10_000, 50_000])
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).expect("a valid date")
}

/// A generated firm imported into a fresh SQLite file; the directory lives as long as the app.
async fn firm_app(people: usize) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("firm");
    import::gen_firm::generate(&csv, people, 7, today()).expect("generating the firm");
    let (parsed, problems) = import::parse_dir(&csv).expect("reading the firm");
    assert!(problems.is_empty(), "generated firm has problems: {problems:?}");
    let url = format!("sqlite://{}", dir.path().join("firm.db").display());
    let store = Store::connect(&url).await.expect("opening SQLite");
    store.import(&parsed).await.expect("importing").expect("a clean import");
    let clock = Clock { fixed_now: None, fixed_today: Some(today()) };
    (App::new(store, Settings::default(), clock).expect("the app"), dir)
}

fn engines(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let seller = Actor::new("U-BENCH", "C-BENCH");
    let questions = [
        ("earliest_start", "/earliest-start cloud-migration"),
        ("earliest_start_pattern", "/earliest-start roles=senior:3@32,analyst:2@24 weeks=10"),
        ("comparables", "/comparables crm-rollout effort=900 deadline=2027-03-26 start=2027-01-04"),
        ("inclusion", "/included item 42 package=data-audit"),
        ("staffing", "/staffing crm-rollout"),
    ];
    for people in sizes() {
        let (app, _dir) = runtime.block_on(firm_app(people));
        for (name, question) in questions {
            let reply = runtime.block_on(app.ask(&seller, question));
            assert!(!reply.is_error(), "{question}: {reply:?}");
            let mut group = c.benchmark_group(name);
            group.sample_size(if people > 2_000 && name.starts_with("earliest") { 20 } else { 50 });
            group.bench_with_input(
                BenchmarkId::from_parameter(people),
                &question,
                |b, question| b.iter(|| runtime.block_on(app.ask(&seller, question))),
            );
            group.finish();
        }
        // The first answer after the capacity data changed (an import, a hold) reads it all again.
        let mut group = c.benchmark_group("earliest_start_after_a_change");
        group.sample_size(20);
        group.bench_with_input(
            BenchmarkId::from_parameter(people),
            &questions[0].1,
            |b, question| {
                b.iter(|| {
                    runtime.block_on(async {
                        app.store.touch_capacity().await.expect("bumping the version");
                        app.ask(&seller, question).await
                    })
                })
            },
        );
        group.finish();
        // The whole firm's backtest (SPEC 4.7), from the history in memory: every finished
        // project of the last two years forecast again from the day before it started.
        let mut group = c.benchmark_group("backtest");
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::from_parameter(people), &people, |b, _| {
            b.iter(|| runtime.block_on(app.backtest(None)).expect("a backtest"))
        });
        group.finish();
        after_a_hold(c, &runtime, &app, people);
    }
}

/// The first earliest-start answer after a seller held capacity for a deal (a new seller and
/// deal each time, so no hold limit is reached, and the deal lost after, so its hold does not
/// use up the firm); only the answer is timed.
fn after_a_hold(c: &mut Criterion, runtime: &tokio::runtime::Runtime, app: &App, people: usize) {
    let question = "/earliest-start cloud-migration";
    let mut group = c.benchmark_group("earliest_start_after_a_hold");
    group.sample_size(20);
    let mut round = 0usize;
    group.bench_function(BenchmarkId::from_parameter(people), |b| {
        b.iter_custom(|iterations| {
            let mut timed = std::time::Duration::ZERO;
            for _ in 0..iterations {
                round += 1;
                let seller = Actor::new(format!("U-HOLD-{round}"), format!("C-HOLD-{round}"));
                runtime.block_on(async {
                    let deal = app
                        .ask(
                            &seller,
                            &format!("/deal new \"Hold {round}\" package=cloud-migration"),
                        )
                        .await;
                    assert!(!deal.is_error(), "{deal:?}");
                    let start = app.ask(&seller, question).await;
                    let hold = start
                        .actions
                        .iter()
                        .map(|a| a.action.to_string())
                        .find(|id| id.starts_with("hold:"))
                        .expect("a hold button");
                    let held = app.act(&seller, &hold, &Default::default()).await;
                    assert_eq!(held.kind, "hold", "{held:?}");
                    let asked = std::time::Instant::now();
                    let reply = app.ask(&seller, question).await;
                    timed += asked.elapsed();
                    assert!(!reply.is_error(), "{reply:?}");
                    // Lost, so its hold goes and the firm's capacity stays as it was.
                    let lost = app.ask(&seller, "/deal lost").await;
                    assert!(!lost.is_error(), "{lost:?}");
                });
            }
            timed
        })
    });
    group.finish();
}

// No plots: criterion draws them with plotters and system fonts, which a build machine may lack.
criterion_group! { name = benches; config = Criterion::default().without_plots(); targets = engines }
criterion_main!(benches);
