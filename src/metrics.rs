//! Prometheus metrics (`GET /metrics`, SPEC 7): requests and answer latency by platform and
//! command, the outbox (backlog, oldest due age, deliveries, retries, failures, rate limits) and
//! imports. One recorder per process, installed the first time it is asked for; the outbox's
//! backlog and age are read from the database when scraped, so every instance reports the truth.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::store::Store;

/// Answer latency buckets, in seconds: a few milliseconds up to Slack's three seconds.
const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (`None` if another recorder was installed).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .map(PrometheusBuilder::build_recorder)
                .ok()?;
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// One request answered: its platform, command and outcome, and how long the answer took.
pub fn request(platform: &'static str, command: &'static str, outcome: &'static str, seconds: f64) {
    type Handles = (metrics::Counter, metrics::Histogram);
    type Key = (&'static str, &'static str, &'static str);
    thread_local! {
        // Each thread keeps the handles it has used (the registry gives every thread the same
        // counter and histogram), so counting a request takes no lock the other workers wait
        // on, and no handle is cloned.
        static KEPT: RefCell<HashMap<Key, Handles, foldhash::fast::RandomState>> =
            RefCell::default();
    }
    // The recorder exists before a handle is kept, so no kept handle is a no-op one.
    let _ = handle();
    KEPT.with_borrow_mut(|kept| {
        let (counter, histogram) = kept.entry((platform, command, outcome)).or_insert_with(|| {
            (
                metrics::counter!("keepable_requests_total", "platform" => platform, "command" => command, "outcome" => outcome),
                metrics::histogram!("keepable_answer_seconds", "platform" => platform, "command" => command),
            )
        });
        counter.increment(1);
        histogram.record(seconds);
    });
}

/// One delivery attempt's outcome: `sent`, `retry`, `failed` or `rate_limited`.
pub fn delivery(outcome: &'static str) {
    metrics::counter!("keepable_deliveries_total", "outcome" => outcome).increment(1);
}

/// One import's outcome: `changed`, `unchanged`, `refused` or `dry_run`.
pub fn import(outcome: &'static str) {
    metrics::counter!("keepable_imports_total", "outcome" => outcome).increment(1);
}

/// The text exposition, with the outbox gauges read now.
pub async fn render(store: &Store, now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(handle) = handle() else { return String::new() };
    if let Ok(backlog) = store.outbox_backlog().await {
        metrics::gauge!("keepable_outbox_backlog").set(backlog as f64);
    }
    if let Ok(oldest) = store.oldest_due(now).await {
        let age = oldest.map(|at| (now - at).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!("keepable_outbox_oldest_due_seconds").set(age.unwrap_or(0.0));
    }
    handle.render()
}
