//! The side-by-side load benchmark (issue 13): `keepable serve` on a generated firm, driven over
//! HTTP with uniquely signed Slack slash commands, measured against `/slack/baseline` (the same
//! signature check answering a constant) in the same run.
//!
//! `cargo build --release && cargo bench --bench load -- --people 2000` (see `Options`). For each
//! route: a closed loop (`--concurrency` keep-alive connections, each sending as soon as its
//! answer came: throughput, p50/p99 of the round trip) and a fixed rate (`--rate` requests a
//! second at exact instants, latency from each request's *scheduled* instant, so a stalled server
//! shows as latency rather than as a lower offered rate). Modules: `firm` (gen-firm, the imports,
//! the questions asked), `served` (the `serve` process), `slack` (signed forms and the HTTP
//! connections), `phases` (the two kinds of phase), `report` (percentiles and the table).

// A bench target's root is its own crate root: its modules are named by path.
#[path = "load/firm.rs"]
mod firm;
#[path = "load/phases.rs"]
mod phases;
#[path = "load/report.rs"]
mod report;
#[path = "load/served.rs"]
mod served;
#[path = "load/slack.rs"]
mod slack;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use phases::Phase;
use report::Row;

/// `cargo bench --bench load -- [OPTIONS]`.
#[derive(Parser, Debug)]
#[command(
    about = "Side-by-side load benchmark of keepable serve against a signature-only baseline"
)]
struct Options {
    /// People in the generated firm (`keepable gen-firm --people N --seed 7`); 2,000 by default,
    /// 200 with `--quick`.
    #[arg(long)]
    people: Option<usize>,
    /// Seconds each phase runs (one closed-loop and one fixed-rate phase per route).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Requests a second of the fixed-rate phases.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Rounds the closed-loop phases are interleaved in: each route's closed loop runs as this
    /// many slices of `--duration / ROUNDS`, the routes taking turns (baseline, then each
    /// command, then the baseline again), so that what else the machine does in those minutes
    /// falls on every route alike and the ratios compare like with like.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Connections of the closed-loop phases, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The keepable binary (`cargo build --release` first); by default
    /// `$CARGO_TARGET_DIR/release/keepable`, else `target/release/keepable`.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Also import the firm into a fresh database on this PostgreSQL server (created, timed,
    /// dropped): `postgres://postgres@127.0.0.1:5432/postgres`.
    #[arg(long)]
    postgres: Option<String>,
    /// A short smoke run: 200 people unless `--people` says, 1-second phases.
    #[arg(long)]
    quick: bool,
    /// Only these commands after the baseline (`--only /included`, repeatable): every route
    /// by default.
    #[arg(long, value_parser = ["/earliest-start", "/comparables", "/included"])]
    only: Vec<String>,
    /// Passed by `cargo bench` itself; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

impl Options {
    fn people(&self) -> usize {
        self.people.unwrap_or(if self.quick { 200 } else { 2_000 })
    }

    fn duration(&self) -> Duration {
        Duration::from_secs_f64(if self.quick { self.duration.min(1.0) } else { self.duration })
    }

    fn bin(&self) -> PathBuf {
        self.bin.clone().unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
            PathBuf::from(target).join("release").join("keepable")
        })
    }

    fn check(&self) -> anyhow::Result<()> {
        // Every body is signed at the start of its phase: Slack's window is five minutes.
        anyhow::ensure!(
            self.duration > 0.0 && self.duration <= 240.0,
            "--duration must be between 0 and 240 seconds (signatures last five minutes)"
        );
        anyhow::ensure!(self.rate > 0.0, "--rate must be positive");
        anyhow::ensure!(self.rounds >= 1, "--rounds must be at least 1");
        anyhow::ensure!(self.concurrency >= 1, "--concurrency must be at least 1");
        anyhow::ensure!(
            self.bin().is_file(),
            "{} does not exist: run `cargo build --release` first, or pass --bin",
            self.bin().display()
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    options.check()?;
    let shown: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    println!("$ cargo bench --bench load -- {}", shown.join(" "));
    println!("binary {}; load average at start {}", options.bin().display(), report::loadavg());

    let work = tempfile::tempdir().context("a temporary directory")?;
    let firm = firm::Firm::prepare(&options.bin(), work.path(), options.people())?;
    let mut imports = vec![format!(
        "gen-firm --people {} --seed 7: {}; keepable import into SQLite: {}",
        options.people(),
        report::seconds(firm.generated_in),
        report::seconds(firm.imported_in)
    )];
    if let Some(admin) = &options.postgres {
        let took = firm::import_into_postgres(&options.bin(), &firm, admin).await?;
        imports.push(format!("keepable import into PostgreSQL: {}", report::seconds(took)));
    }
    println!("{}", imports.join("; "));

    let measured = serve_and_measure(&options, &firm, work.path()).await?;
    report::print_table(&heading(&options), &measured.rows);
    println!("\n{}", imports.join("; "));
    let [started, loaded, after] = measured.rss_mb;
    println!(
        "serve resident memory (VmRSS): {started:.0} MB started, {loaded:.0} MB with the firm \
         loaded (after one answer per route), {after:.0} MB after the run"
    );
    report::print_log(&measured.log);
    println!("load average at the end {}", report::loadavg());
    Ok(())
}

/// What one served run gave: a row per route, serve's resident memory (started, with the firm
/// loaded, after the run) and its log.
struct Measured {
    rows: Vec<Row>,
    rss_mb: [f64; 3],
    log: String,
}

/// Starts `serve` on the firm, asks each route once (showing the answer, and loading what the
/// answers need), then measures each route's two phases. One client signs every request, so
/// no two forms are alike.
async fn serve_and_measure(
    options: &Options,
    firm: &firm::Firm,
    work: &std::path::Path,
) -> anyhow::Result<Measured> {
    let server = served::Served::start(&options.bin(), &firm.sqlite_url, work).await?;
    let client = slack::Client::new(server.addr, &server.secret);
    let started = server.rss_mb()?;
    let mut routes = slack::Route::all(&firm.questions);
    if !options.only.is_empty() {
        routes
            .retain(|route| route.is_baseline() || options.only.iter().any(|c| c == route.command));
    }
    for route in &routes {
        println!("{} answers: {}", route.label(), client.one(route).await?);
    }
    let loaded = server.rss_mb()?;
    // The closed loops first, interleaved: round after round, each route for its slice.
    let slice = options.duration() / options.rounds;
    let mut closed: Vec<Option<phases::Outcome>> = routes.iter().map(|_| None).collect();
    for round in 1..=options.rounds {
        for (route, so_far) in routes.iter().zip(&mut closed) {
            let phase = Phase::closed_loop(options.concurrency, slice, server.cpu_clock());
            let of = (options.rounds > 1).then_some((round, options.rounds));
            let measured = settled(&server, &phase, &client, route, of).await?;
            *so_far = Some(match so_far.take() {
                Some(earlier) => earlier.then(measured),
                None => measured,
            });
        }
    }
    let mut rows = Vec::new();
    for (route, closed) in routes.iter().zip(closed) {
        let fixed = Phase::fixed_rate(options.rate, options.duration(), server.cpu_clock());
        let fixed = settled(&server, &fixed, &client, route, None).await?;
        let closed = closed.context("every route has a closed loop")?;
        rows.push(Row::new(route.label(), closed, fixed));
    }
    let after = server.rss_mb()?;
    Ok(Measured { rows, rss_mb: [started, loaded, after], log: server.stop()? })
}

/// `phase` of `route` (round `n` of `rounds`, when `round` is `Some((n, rounds))`), once the
/// server has finished what earlier phases left it.
async fn settled(
    server: &served::Served,
    phase: &Phase,
    client: &slack::Client,
    route: &slack::Route,
    round: Option<(u32, u32)>,
) -> anyhow::Result<phases::Outcome> {
    let waited = server.settle().await?;
    let round = round.map(|(n, rounds)| format!(", round {n} of {rounds}")).unwrap_or_default();
    eprintln!(
        "{} of {}{round} (serve idle after {:.1} s) …",
        phase.name(),
        route.label(),
        waited.as_secs_f64()
    );
    let mut outcome = phase.run(client, route).await?;
    outcome.settled_in = waited;
    Ok(outcome)
}

fn heading(options: &Options) -> String {
    let rounds = match options.rounds {
        1 => "one route after another".to_string(),
        rounds => format!("in {rounds} interleaved rounds"),
    };
    format!(
        "{} people; {} s per phase; closed loop over {} keep-alive connections, {rounds}; fixed \
         rate {} req/s (latency from each request's scheduled instant)",
        options.people(),
        options.duration().as_secs_f64(),
        options.concurrency,
        options.rate
    )
}
