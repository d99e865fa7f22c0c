//! The printed result: one table, a row per route, the closed loop's throughput beside the
//! baseline's, and the fixed rate's achieved rate and latencies.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::phases::Outcome;

/// One route's two phases.
pub struct Row {
    label: String,
    closed: Outcome,
    fixed: Outcome,
}

impl Row {
    pub fn new(label: String, closed: Outcome, fixed: Outcome) -> Row {
        Row { label, closed, fixed }
    }
}

/// The table (the first row is the baseline every ratio is to), then what went wrong, if
/// anything: answers other than 200, answers that came late, requests with no answer.
pub fn print_table(heading: &str, rows: &[Row]) {
    let baseline = rows.first().map(|row| row.closed.per_second()).unwrap_or(f64::NAN);
    println!("\n{heading}\n");
    println!(
        "| route | closed-loop req/s | ratio to baseline | p50 | p99 | fixed rate achieved req/s | p50 | p99 | late, failed (closed; fixed) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for Row { label, closed, fixed } in rows {
        println!(
            "| {label} | {:.0} | {} | {} | {} | {:.1} | {} | {} | {}; {} |",
            closed.per_second(),
            ratio(closed.per_second() / baseline),
            latency(percentile(&closed.latencies, 50.0)),
            latency(percentile(&closed.latencies, 99.0)),
            fixed.per_second(),
            latency(percentile(&fixed.latencies, 50.0)),
            latency(percentile(&fixed.latencies, 99.0)),
            late_and_failed(closed),
            late_and_failed(fixed),
        );
    }
    println!();
    for Row { label, closed, fixed } in rows {
        for (phase, outcome) in [("closed loop", closed), ("fixed rate", fixed)] {
            println!("{label}, {phase}: {}", tally(outcome));
        }
    }
}

/// Answers that came late ("Working on it…") and requests that failed (not 200, or no answer).
fn late_and_failed(outcome: &Outcome) -> String {
    let failed = outcome.refused.values().sum::<u64>() + outcome.errors;
    format!("{}, {failed}", outcome.late)
}

/// What one phase answered, and how well the sender kept up.
fn tally(outcome: &Outcome) -> String {
    let mut parts = vec![format!(
        "{} answered 200 ({} late, \"Working on it\") in {}",
        outcome.latencies.len(),
        outcome.late,
        seconds(outcome.elapsed)
    )];
    if !outcome.refused.is_empty() {
        let refused: Vec<String> =
            outcome.refused.iter().map(|(status, n)| format!("{n}× {status}")).collect();
        parts.push(format!("non-200: {}", refused.join(", ")));
    } else {
        parts.push("non-200: 0".into());
    }
    parts.push(format!("no answer: {}", outcome.errors));
    parts.push(format!(
        "CPU: serve {:.2} cores, generator {:.2}",
        outcome.cores.server, outcome.cores.generator
    ));
    // The server's CPU time per answer: steadier than a ratio of throughputs, which moves with
    // whatever else the machine's cores are doing.
    let answered = outcome.latencies.len() as u64 + outcome.refused.values().sum::<u64>();
    if answered > 0 {
        let busy = outcome.cores.server * outcome.elapsed.as_secs_f64();
        parts.push(format!("serve CPU per request {:.1} µs", busy * 1e6 / answered as f64));
    }
    if !outcome.lag.is_empty() {
        parts.push(format!(
            "sender lag p50 {} p99 {}",
            latency(percentile(&outcome.lag, 50.0)),
            latency(percentile(&outcome.lag, 99.0))
        ));
    }
    if outcome.settled_in > Duration::from_secs(1) {
        parts.push(format!(
            "serve went idle {} after the phase before",
            seconds(outcome.settled_in)
        ));
    }
    if outcome.signed_in_flight > 0 {
        parts.push(format!("{} signed while measuring", outcome.signed_in_flight));
    }
    parts.join("; ")
}

/// A ratio as a percentage, with two decimals below 1%.
fn ratio(ratio: f64) -> String {
    match 100.0 * ratio {
        percent if percent < 1.0 => format!("{percent:.2}%"),
        percent => format!("{percent:.1}%"),
    }
}

/// The nearest-rank percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A latency as people read it: `0.18 ms`, `4.2 ms`, `312 ms`, `2.41 s`.
fn latency(duration: Option<Duration>) -> String {
    let Some(duration) = duration else { return "—".into() };
    let ms = duration.as_secs_f64() * 1000.0;
    match ms {
        ms if ms < 1.0 => format!("{ms:.2} ms"),
        ms if ms < 100.0 => format!("{ms:.1} ms"),
        ms if ms < 1000.0 => format!("{ms:.0} ms"),
        ms => format!("{:.2} s", ms / 1000.0),
    }
}

/// How many lines `serve` logged past its start-up line, and the most frequent kinds (a
/// refusal or an error there explains figures that look wrong).
pub fn print_log(log: &str) {
    let lines: Vec<String> =
        log.lines().map(without_colours).filter(|line| !line.contains(" listening on ")).collect();
    println!("serve logged {} lines (warnings and errors) while measured", lines.len());
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        // The level, target and message, without the time stamp or the fields (`key=value`).
        let kind: Vec<&str> =
            line.split_whitespace().skip(1).take_while(|word| !word.contains('=')).collect();
        *kinds.entry(kind.join(" ")).or_default() += 1;
    }
    let mut kinds: Vec<(String, usize)> = kinds.into_iter().collect();
    kinds.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (kind, count) in kinds.iter().take(5) {
        println!("  {count}× {}", kind.chars().take(160).collect::<String>());
    }
}

/// `line` without terminal colour codes (`ESC [ … m`).
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().take_while(|&c| c != 'm').for_each(drop);
        } else {
            plain.push(c);
        }
    }
    plain
}

pub fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// The 1-, 5- and 15-minute load averages, from /proc/loadavg.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
