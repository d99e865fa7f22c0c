//! The `keepable serve` process under load: started on a free port with Slack configured and the
//! baseline route on, waited for on `/healthz`, its resident memory read from /proc, and killed
//! when the benchmark ends (also when it fails half-way).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The workspace every signed request claims to come from.
pub const TEAM: &str = "T0LOAD";

/// How long `serve` may take to answer `/healthz`.
const START_WITHIN: Duration = Duration::from_secs(60);

/// How long the server may take to go idle between phases.
const SETTLE_WITHIN: Duration = Duration::from_secs(120);
/// Idle: at most 5 ticks (50 ms of CPU) in half a second.
const IDLE_WINDOW: Duration = Duration::from_millis(500);
const IDLE_TICKS: u64 = 5;

pub struct Served {
    pub addr: SocketAddr,
    pub secret: String,
    child: Child,
    log: PathBuf,
}

impl Served {
    /// `keepable --db DB serve` on a free local port; its stderr goes to `work/serve.log`.
    pub async fn start(bin: &Path, db: &str, work: &Path) -> anyhow::Result<Served> {
        let addr = free_port()?;
        let secret = format!("load-{}", uuid::Uuid::new_v4().simple());
        let log = work.join("serve.log");
        let mut command = Command::new(bin);
        command.arg("--db").arg(db).arg("serve").arg("--listen").arg(addr.to_string());
        for (name, _) in std::env::vars().filter(|(name, _)| platform_setting(name)) {
            command.env_remove(name);
        }
        command
            .env("SLACK_SIGNING_SECRET", &secret)
            .env("SLACK_BOT_TOKEN", "xoxb-load")
            // Nothing the bot sends leaves the machine: the Web API and every response_url are
            // a closed local port.
            .env("SLACK_API_URL", "http://127.0.0.1:9/api/")
            .env("KEEPABLE_SLACK_TEAM_ID", TEAM)
            .env("KEEPABLE_LOAD_BASELINE", "1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).context("creating serve.log")?);
        let child = command.spawn().with_context(|| format!("starting {}", bin.display()))?;
        let mut served = Served { addr, secret, child, log };
        served.wait_healthy().await?;
        Ok(served)
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let url = format!("http://{}/healthz", self.addr);
        let started = Instant::now();
        while started.elapsed() < START_WITHIN {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("keepable serve exited ({status}):\n{}", self.log_text());
            }
            if crate::slack::get_ok(self.addr, "/healthz").await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("{url} did not answer 200 within {START_WITHIN:?}:\n{}", self.log_text())
    }

    /// The process's resident memory (`VmRSS`), in MB.
    pub fn rss_mb(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("reading /proc/PID/status")?;
        let kb: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS line")?;
        Ok(kb / 1024.0)
    }

    /// Waits (at most `SETTLE_WITHIN`) until the server has gone idle, using under a tenth of a
    /// core over half a second, so a backlog a phase left behind (answers still being worked out
    /// after their "Working on it…") is not charged to the next one; how long that took.
    pub async fn settle(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        while started.elapsed() < SETTLE_WITHIN {
            let before = self.cpu_ticks()?;
            tokio::time::sleep(IDLE_WINDOW).await;
            if self.cpu_ticks()? - before <= IDLE_TICKS {
                break;
            }
        }
        Ok(started.elapsed())
    }

    /// CPU time the server has used (user and system), in clock ticks.
    fn cpu_ticks(&self) -> anyhow::Result<u64> {
        cpu_ticks(&self.child.id().to_string())
    }

    /// Reads the CPU time of this server and of the benchmark itself.
    pub fn cpu_clock(&self) -> CpuClock {
        CpuClock { server: self.child.id() }
    }

    /// Stops the server; what it logged (warnings and errors).
    pub fn stop(mut self) -> anyhow::Result<String> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(self.log_text())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // A benchmark that fails half-way leaves no server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A variable that would configure the server differently from what is measured.
fn platform_setting(name: &str) -> bool {
    ["KEEPABLE_", "SLACK_", "DISCORD_", "DATABASE_URL", "RUST_LOG"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// A local port nobody listens on now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The CPU time of the server and of the load generator (this process).
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    server: u32,
}

impl CpuClock {
    /// (server, generator) CPU time so far, in clock ticks; 0 where /proc cannot be read.
    pub fn ticks(&self) -> (u64, u64) {
        let server = cpu_ticks(&self.server.to_string()).unwrap_or_default();
        (server, cpu_ticks("self").unwrap_or_default())
    }
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`: 100 on Linux).
pub const TICKS_PER_SECOND: u64 = 100;

/// CPU time process `pid` (or `self`) has used, user and system, in clock ticks.
fn cpu_ticks(pid: &str) -> anyhow::Result<u64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).context("reading /proc/PID/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after_name = stat.rsplit_once(')').context("no command name in stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields, 12th and 13th after the name.
    let ticks = |at: usize| -> anyhow::Result<u64> {
        Ok(fields.get(at).context("a short stat line")?.parse()?)
    };
    Ok(ticks(11)? + ticks(12)?)
}
