//! The two ways a route is loaded. A closed loop: N connections, each sending its next request
//! as soon as its answer came, so the server sets the pace (its saturation throughput). A fixed
//! rate: requests at exact instants whatever the answers do, each on a free connection (a new one
//! when none is free), with latency counted from the request's scheduled instant, so a server that
//! stalls shows long latencies instead of quietly lowering the rate offered to it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;

use crate::served::CpuClock;
use crate::slack::{Answer, Client, Route, Signed};

/// How long a request may go unanswered before it counts as an error.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// At most this many requests signed before a closed loop (about half a kilobyte each): past
/// it, the rest are signed while measuring, and counted.
const MAX_SIGNED_AHEAD: usize = 1_200_000;

/// Connections the fixed rate opens before its first request (more when they are all busy).
const FIXED_RATE_CONNECTIONS: usize = 8;

/// At most this many connections at a fixed rate, half the server's limit (1,024): beyond it,
/// new connections would wait in the server's backlog until idle keep-alive ones time out (10 s),
/// a stall of the benchmark's making. A request waits for a free connection instead, and that
/// wait counts in its latency (from its scheduled instant).
const FIXED_RATE_MAX_CONNECTIONS: usize = 512;

pub enum Phase {
    ClosedLoop { connections: usize, duration: Duration, cpu: CpuClock },
    FixedRate { per_second: f64, duration: Duration, cpu: CpuClock },
}

/// What a phase measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Of every 200 answer (inline or late), sorted: the round trip in a closed loop, from the
    /// scheduled instant at a fixed rate.
    pub latencies: Vec<Duration>,
    /// 200 answers that said "Working on it…".
    pub late: u64,
    /// Answers other than 200, by status.
    pub refused: BTreeMap<u16, u64>,
    /// Requests that got no answer (connection lost, timed out).
    pub errors: u64,
    /// From the phase's start to its last answer (or last request given up on).
    pub elapsed: Duration,
    /// Fixed rate: how late each request left after its scheduled instant (the sender's own
    /// delay, part of the latency).
    pub lag: Vec<Duration>,
    /// Closed loop: requests signed while measuring because the ones signed beforehand ran out.
    pub signed_in_flight: u64,
    /// How long the server took to go idle before the phase (work left by the one before).
    pub settled_in: Duration,
    /// The cores the server and the load generator kept busy during the phase.
    pub cores: Cores,
}

/// CPU used during a phase, in cores (CPU seconds a second): on a shared machine, whether the
/// server had the cores it could use, and what the generator took from it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cores {
    pub server: f64,
    pub generator: f64,
}

impl Cores {
    /// From (server, generator) clock ticks before and after a phase that lasted `elapsed`.
    pub fn between(before: (u64, u64), after: (u64, u64), elapsed: Duration) -> Cores {
        let cores = |from: u64, to: u64| {
            to.saturating_sub(from) as f64
                / crate::served::TICKS_PER_SECOND as f64
                / elapsed.as_secs_f64().max(1e-9)
        };
        Cores { server: cores(before.0, after.0), generator: cores(before.1, after.1) }
    }
}

impl Outcome {
    /// 200 answers a second.
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn record(&mut self, answer: anyhow::Result<Answer>, latency: Duration) {
        match answer {
            Ok(Answer::Inline) => self.latencies.push(latency),
            Ok(Answer::Late) => {
                self.late += 1;
                self.latencies.push(latency);
            }
            Ok(Answer::Refused(status)) => *self.refused.entry(status.as_u16()).or_default() += 1,
            Err(_) => self.errors += 1,
        }
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        self.late += other.late;
        for (status, count) in other.refused {
            *self.refused.entry(status).or_default() += count;
        }
        self.errors += other.errors;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.lag.extend(other.lag);
        self.signed_in_flight += other.signed_in_flight;
    }

    /// Adds `slice`, measured after this one (a later round of the same route's closed loop):
    /// its answers and time add up, and the cores used are averaged over the time of both.
    pub fn then(mut self, slice: Outcome) -> Outcome {
        let (mine, theirs) = (self.elapsed.as_secs_f64(), slice.elapsed.as_secs_f64());
        let both = (mine + theirs).max(1e-9);
        let average = |a: f64, b: f64| (a * mine + b * theirs) / both;
        let cores = Cores {
            server: average(self.cores.server, slice.cores.server),
            generator: average(self.cores.generator, slice.cores.generator),
        };
        let settled_in = self.settled_in.max(slice.settled_in);
        let elapsed = self.elapsed + slice.elapsed;
        self.merge(slice);
        Outcome { elapsed, cores, settled_in, ..self.sorted() }
    }

    fn sorted(mut self) -> Outcome {
        self.latencies.sort_unstable();
        self.lag.sort_unstable();
        self
    }
}

impl Phase {
    pub fn closed_loop(connections: usize, duration: Duration, cpu: CpuClock) -> Phase {
        Phase::ClosedLoop { connections, duration, cpu }
    }

    pub fn fixed_rate(per_second: f64, duration: Duration, cpu: CpuClock) -> Phase {
        Phase::FixedRate { per_second, duration, cpu }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Phase::ClosedLoop { .. } => "closed loop",
            Phase::FixedRate { .. } => "fixed rate",
        }
    }

    pub async fn run(&self, client: &Client, route: &Route) -> anyhow::Result<Outcome> {
        match *self {
            Phase::ClosedLoop { connections, duration, cpu } => {
                closed_loop(client, route, connections, duration, cpu).await
            }
            Phase::FixedRate { per_second, duration, cpu } => {
                fixed_rate(client, route, per_second, duration, cpu).await
            }
        }
    }
}

/// A warm-up (a fifth of the phase, at most a second, signing as it goes) estimates the rate, so
/// enough requests are signed before the measured loop starts; then the loop itself.
async fn closed_loop(
    client: &Client,
    route: &Route,
    connections: usize,
    duration: Duration,
    cpu: CpuClock,
) -> anyhow::Result<Outcome> {
    let warm_up = (duration / 5).min(Duration::from_secs(1));
    let estimate =
        run_loop(client, route, (0..connections).map(|_| Vec::new()).collect(), warm_up, cpu)
            .await?;
    // The warm-up starts cold and signs as it goes, so it underestimates: half as many again.
    let wanted = (estimate.per_second() * duration.as_secs_f64() * 1.5) as usize;
    let per_connection = (wanted.min(MAX_SIGNED_AHEAD) / connections).max(1) + 4;
    let stocks = (0..connections)
        .map(|_| (0..per_connection).map(|_| client.sign(route)).collect())
        .collect();
    run_loop(client, route, stocks, duration, cpu).await
}

/// One task per connection, each sending its stock of signed requests (and signing more if it
/// runs out) until `duration` has passed.
async fn run_loop(
    client: &Client,
    route: &Route,
    stocks: Vec<Vec<Signed>>,
    duration: Duration,
    cpu: CpuClock,
) -> anyhow::Result<Outcome> {
    let (started, ticks) = (Instant::now(), cpu.ticks());
    let until = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for stock in stocks {
        let (client, route) = (client.clone(), route.clone());
        tasks.spawn(async move { one_connection(&client, &route, stock, started, until).await });
    }
    let mut outcome = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        outcome.merge(done??);
    }
    outcome.cores = Cores::between(ticks, cpu.ticks(), outcome.elapsed);
    Ok(outcome.sorted())
}

/// One connection's requests; its `elapsed` runs from `started` to its last answer.
async fn one_connection(
    client: &Client,
    route: &Route,
    mut stock: Vec<Signed>,
    started: Instant,
    until: Instant,
) -> anyhow::Result<Outcome> {
    let mut connection = client.connect().await?;
    let mut outcome = Outcome::default();
    while Instant::now() < until {
        let signed = stock.pop().unwrap_or_else(|| {
            outcome.signed_in_flight += 1;
            client.sign(route)
        });
        let sent = Instant::now();
        let answer = within(client.send(&mut connection, route, signed)).await;
        let failed = answer.is_err();
        outcome.record(answer, sent.elapsed());
        if failed {
            connection = client.connect().await?;
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// `total` requests at `per_second`, all signed first. A thread of its own keeps the schedule
/// (a precise sleep, where the runtime's timer rounds to the millisecond) and hands each
/// instant to the runtime, which sends the next request on a free connection.
async fn fixed_rate(
    client: &Client,
    route: &Route,
    per_second: f64,
    duration: Duration,
    cpu: CpuClock,
) -> anyhow::Result<Outcome> {
    let total = (per_second * duration.as_secs_f64()).round().max(1.0) as usize;
    let signed: Vec<Signed> = (0..total).map(|_| client.sign(route)).collect();
    let mut connections = Vec::new();
    for _ in 0..FIXED_RATE_CONNECTIONS {
        connections.push(client.connect().await?);
    }
    let idle = Arc::new(Pool {
        idle: Mutex::new(connections),
        busy: tokio::sync::Semaphore::new(FIXED_RATE_MAX_CONNECTIONS),
    });
    let (started, ticks) = (Instant::now() + Duration::from_millis(20), cpu.ticks());
    let (schedule, mut due) = tokio::sync::mpsc::unbounded_channel();
    let pacer = std::thread::spawn(move || {
        for n in 0..total {
            let at = started + Duration::from_secs_f64(n as f64 / per_second);
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            if schedule.send(at).is_err() {
                return;
            }
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    for signed in signed {
        let Some(at) = due.recv().await else { break };
        let (client, route, idle) = (client.clone(), route.clone(), idle.clone());
        tasks.spawn(async move {
            let mut outcome = scheduled(&client, &route, &idle, signed, at).await;
            outcome.elapsed = started.elapsed();
            outcome
        });
    }
    let _ = pacer.join();
    let mut outcome = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        outcome.merge(done?);
    }
    outcome.cores = Cores::between(ticks, cpu.ticks(), outcome.elapsed);
    Ok(outcome.sorted())
}

/// The fixed rate's connections: the idle ones, and a permit per busy one.
struct Pool {
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    busy: tokio::sync::Semaphore,
}

/// One request due at `at`, on an idle connection or a new one; its latency counts from `at`.
async fn scheduled(
    client: &Client,
    route: &Route,
    pool: &Pool,
    signed: Signed,
    at: Instant,
) -> Outcome {
    let mut outcome = Outcome::default();
    outcome.lag.push(at.elapsed());
    let Ok(_permit) = pool.busy.acquire().await else { return outcome };
    let reused = std::iter::from_fn(|| lock(&pool.idle).pop()).find(|c| !c.is_closed());
    let connection = match reused {
        Some(connection) => Ok(connection),
        None => client.connect().await,
    };
    let answer = match connection {
        Ok(mut connection) => {
            let answer = within(client.send(&mut connection, route, signed)).await;
            if answer.is_ok() {
                lock(&pool.idle).push(connection);
            }
            answer
        }
        Err(error) => Err(error),
    };
    outcome.record(answer, at.elapsed());
    outcome
}

/// `request`, or an error once it has waited `GIVE_UP_AFTER`.
async fn within(
    request: impl std::future::Future<Output = anyhow::Result<Answer>>,
) -> anyhow::Result<Answer> {
    tokio::time::timeout(GIVE_UP_AFTER, request)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {GIVE_UP_AFTER:?}")))
}

fn lock<T>(idle: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
