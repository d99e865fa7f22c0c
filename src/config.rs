//! One `Settings` struct: defaults, then a TOML file, then environment overrides. Every key of the
//! file can be overridden by `KEEPABLE_` + the key in upper case (`KEEPABLE_HOLD_DAYS=21`); a
//! list is comma-separated and an empty value unsets an optional key.
//!
//! Secrets (Slack signing secret and tokens, Discord keys and tokens) never live here: the
//! adapters read them from the environment (`chat::slack::SlackSettings`,
//! `chat::discord::DiscordSettings`) and hold them as `secrecy::SecretString`.

mod env;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Channel where approval requests are posted.
    pub leadership_channel: String,
    /// Channel where approvals escalate when nobody decides.
    pub escalation_channel: String,
    /// Channel where scoping tickets are posted.
    pub presales_channel: String,
    /// User ids allowed to decide approvals.
    pub approvers: Vec<String>,
    /// A Slack user group id or Discord role id whose members may decide approvals.
    pub approver_group: Option<String>,
    /// User ids allowed to move scoping tickets.
    pub presales_members: Vec<String>,
    /// A Slack user group id or Discord role id whose members may move scoping tickets.
    pub presales_group: Option<String>,
    /// Hours before a pending approval is reminded, escalated, expired.
    pub approval_reminder_hours: i64,
    pub approval_escalation_hours: i64,
    pub approval_expiry_hours: i64,
    /// Hours before an unacknowledged handover is reminded.
    pub handover_reminder_hours: i64,
    /// Days a capacity hold lasts unless the deal is won.
    pub hold_days: i64,
    /// Candidate start weeks searched (SPEC 4.2).
    pub horizon_weeks: usize,
    /// A directory whose templates override the embedded `prompts/`.
    pub prompts_dir: Option<PathBuf>,
    /// User ids who, besides a deal's seller, may change any deal (commit, hold, request,
    /// rebind, mark won or lost).
    pub sales_leads: Vec<String>,
    /// A Slack user group id or Discord role id whose members are sales leads.
    pub sales_lead_group: Option<String>,
    /// Hours an answer's buttons stay valid.
    pub offer_valid_hours: i64,
    /// Active capacity holds one seller may have at a time.
    pub max_active_holds: usize,
    /// The one Slack workspace served (`T…`); requests from any other are refused.
    pub slack_team_id: Option<String>,
    /// The one Discord server served; interactions from any other are refused.
    pub discord_guild_id: Option<String>,
    /// The firm's time zone, an IANA name (`America/Chicago`): `today` is the date there, and
    /// times are shown in it.
    pub timezone: String,
    /// Days after the last import when answers warn that the capacity data is stale.
    pub stale_after_days: i64,
    /// A drop folder `serve` imports as one snapshot whenever its files change.
    pub import_dir: Option<PathBuf>,
    /// How often `serve` looks at the drop folder: `5m`, `30s`, `1h` (a bare number is minutes).
    pub import_every: String,
    /// Channel where operations hears about drop-folder imports and messages that could not be
    /// delivered.
    pub ops_channel: Option<String>,
    /// Seconds an outbox worker holds the messages it claimed (renewed while it sends): a
    /// crashed instance's messages are taken over within this.
    pub lease_seconds: i64,
    /// The longest `Retry-After` honoured; a longer one is waited out in steps of this.
    pub max_retry_after_seconds: i64,
    /// `/healthz` says unhealthy when a message has been due for longer than this.
    pub health_max_backlog_seconds: i64,
    /// Days back from today whose finished projects the radar looks at (SPEC 4.6).
    pub radar_window_days: i64,
    /// Rows a radar figure must rest on before it may raise a signal.
    pub radar_min_projects: usize,
    /// The radar's `change_orders` signal: above this share of projects with change orders.
    pub radar_change_order_rate: f64,
    /// The radar's `margin_fade` signal: above this many points lost between sale and close.
    pub radar_margin_fade_points: f64,
    /// The radar's `schedule_slip` signal: above this share of projects ending late.
    pub radar_slip_rate: f64,
    /// The radar's `seniority_gap` signal: above this share of projects staffed below the
    /// seniority sold.
    pub radar_seniority_gap_rate: f64,
    /// The day of the week `run-due` posts the weekly digest of the radar to the leadership
    /// channel (SPEC 5.7), in the firm's time zone: `monday`, `tuesday`, … (or `mon`, `tue`, …).
    pub digest_weekday: chrono::Weekday,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            leadership_channel: "leadership".into(),
            escalation_channel: "leadership-escalations".into(),
            presales_channel: "presales".into(),
            approvers: Vec::new(),
            approver_group: None,
            presales_members: Vec::new(),
            presales_group: None,
            approval_reminder_hours: 4,
            approval_escalation_hours: 24,
            approval_expiry_hours: 72,
            handover_reminder_hours: 24,
            hold_days: 14,
            horizon_weeks: 52,
            prompts_dir: None,
            sales_leads: Vec::new(),
            sales_lead_group: None,
            offer_valid_hours: 24,
            max_active_holds: 3,
            slack_team_id: None,
            discord_guild_id: None,
            timezone: "UTC".into(),
            stale_after_days: 7,
            import_dir: None,
            import_every: "5m".into(),
            ops_channel: None,
            lease_seconds: 30,
            max_retry_after_seconds: 60,
            health_max_backlog_seconds: 300,
            radar_window_days: 365,
            radar_min_projects: 5,
            radar_change_order_rate: 0.30,
            radar_margin_fade_points: 10.0,
            radar_slip_rate: 0.30,
            radar_seniority_gap_rate: 0.20,
            digest_weekday: chrono::Weekday::Mon,
        }
    }
}

/// The chat platform a channel or user id belongs to: `slack:`/`discord:` when prefixed, else by
/// its shape (Discord ids are all digits; Slack's start with a letter).
pub fn platform_of(id: &str) -> &'static str {
    match id.split_once(':') {
        Some(("slack", _)) => "slack",
        Some(("discord", _)) => "discord",
        _ if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => "discord",
        _ => "slack",
    }
}

/// A channel setting for `platform`: a setting may name one channel (`C0LEAD`), or one per
/// platform (`slack:C0LEAD,discord:1090000000000000001`) for an instance serving both; the
/// platform's own entry is taken, else the first. The answer keeps its `slack:`/`discord:`
/// prefix, so delivery knows where it goes.
pub fn pick_channel(setting: &str, platform: Option<&str>) -> String {
    let entries: Vec<&str> = setting.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    let own = platform.and_then(|p| entries.iter().find(|e| e.starts_with(&format!("{p}:"))));
    own.or(entries.first()).map(|e| e.to_string()).unwrap_or_default()
}

impl Settings {
    /// The firm's time zone, or why `timezone` is not one.
    pub fn time_zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            anyhow::anyhow!("timezone '{}' is not a time zone: use an IANA name such as America/Chicago or Europe/Berlin", self.timezone)
        })
    }

    /// How often the drop folder is looked at, or why `import_every` is not a duration.
    pub fn import_interval(&self) -> anyhow::Result<std::time::Duration> {
        let text = self.import_every.trim();
        let interval = match text.parse::<u64>() {
            Ok(minutes) => std::time::Duration::from_secs(minutes * 60),
            Err(_) => humantime::parse_duration(text).map_err(|_| {
                anyhow::anyhow!("import_every '{text}' is not a duration: use 5m, 30s or 1h")
            })?,
        };
        anyhow::ensure!(!interval.is_zero(), "import_every must be longer than zero");
        Ok(interval)
    }

    /// The radar's thresholds and minimum sample (SPEC 4.6).
    pub fn radar_thresholds(&self) -> crate::domain::radar::Thresholds {
        crate::domain::radar::Thresholds {
            min_projects: self.radar_min_projects,
            change_order_rate: self.radar_change_order_rate,
            margin_fade_points: self.radar_margin_fade_points,
            slip_rate: self.radar_slip_rate,
            seniority_gap_rate: self.radar_seniority_gap_rate,
        }
    }

    /// Defaults, overlaid with `path` when given, then with `KEEPABLE_*` environment variables.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let mut settings = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config {}", path.display()))?
            }
            None => Settings::default(),
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        settings.validate()?;
        Ok(settings)
    }

    /// Overrides each key whose `KEEPABLE_*` variable `var` gives, read as the key's own type.
    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        for key in env::keys::<Settings>() {
            let name = env::variable(key);
            if let Some(text) = var(&name) {
                env::set(self, key, &text)
                    .with_context(|| format!("{name} is not a valid {key}"))?;
            }
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.horizon_weeks >= 1, "horizon_weeks must be at least 1");
        anyhow::ensure!(
            self.approval_reminder_hours > 0
                && self.approval_escalation_hours > 0
                && self.approval_expiry_hours > 0,
            "approval delays must be positive"
        );
        anyhow::ensure!(self.hold_days > 0, "hold_days must be positive");
        anyhow::ensure!(self.offer_valid_hours > 0, "offer_valid_hours must be positive");
        anyhow::ensure!(self.max_active_holds >= 1, "max_active_holds must be at least 1");
        anyhow::ensure!(self.stale_after_days >= 1, "stale_after_days must be at least 1");
        anyhow::ensure!(
            (5..=3600).contains(&self.lease_seconds),
            "lease_seconds must be between 5 and 3600"
        );
        anyhow::ensure!(
            (1..=86_400).contains(&self.max_retry_after_seconds),
            "max_retry_after_seconds must be between 1 and 86400"
        );
        anyhow::ensure!(
            self.health_max_backlog_seconds >= 1,
            "health_max_backlog_seconds must be at least 1"
        );
        anyhow::ensure!(self.radar_window_days >= 1, "radar_window_days must be at least 1");
        anyhow::ensure!(self.radar_min_projects >= 1, "radar_min_projects must be at least 1");
        for (key, rate) in [
            ("radar_change_order_rate", self.radar_change_order_rate),
            ("radar_slip_rate", self.radar_slip_rate),
            ("radar_seniority_gap_rate", self.radar_seniority_gap_rate),
        ] {
            anyhow::ensure!((0.0..=1.0).contains(&rate), "{key} must be a share between 0 and 1");
        }
        anyhow::ensure!(
            self.radar_margin_fade_points.is_finite(),
            "radar_margin_fade_points must be a number of points"
        );
        self.time_zone()?;
        self.import_interval()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_file_overrides_defaults() {
        let settings: Settings =
            toml::from_str("approvers = [\"U1\"]\nleadership_channel = \"C9\"\n").unwrap();
        assert_eq!(settings.approvers, vec!["U1"]);
        assert_eq!(settings.leadership_channel, "C9");
        assert_eq!(settings.horizon_weeks, 52);
    }

    #[test]
    fn a_channel_setting_may_name_one_channel_per_platform() {
        let both = "slack:C0LEAD, discord:1090000000000000001";
        assert_eq!(pick_channel(both, Some("discord")), "discord:1090000000000000001");
        assert_eq!(pick_channel(both, Some("slack")), "slack:C0LEAD");
        assert_eq!(pick_channel(both, None), "slack:C0LEAD");
        assert_eq!(pick_channel("C0LEAD", Some("discord")), "C0LEAD");
        assert_eq!(platform_of("discord:1"), "discord");
        assert_eq!(platform_of("1090000000000000001"), "discord");
        assert_eq!(platform_of("C0LEAD"), "slack");
        assert_eq!(platform_of("U-SELLER"), "slack");
    }

    #[test]
    fn the_example_file_is_valid_and_holds_the_radar_defaults() {
        let settings: Settings = toml::from_str(include_str!("../keepable.example.toml")).unwrap();
        settings.validate().unwrap();
        assert_eq!(settings.radar_thresholds(), crate::domain::radar::Thresholds::default());
        assert_eq!(settings.radar_window_days, 365);
        assert_eq!(settings.digest_weekday, chrono::Weekday::Mon);
    }

    #[test]
    fn the_digest_weekday_is_a_day_of_the_week() {
        let settings: Settings = toml::from_str("digest_weekday = \"Thursday\"").unwrap();
        assert_eq!(settings.digest_weekday, chrono::Weekday::Thu);
        assert!(toml::from_str::<Settings>("digest_weekday = \"someday\"").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Settings>("aprovers = []").is_err());
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut settings = Settings::default();
        settings
            .apply_env(|name| (name == "KEEPABLE_APPROVERS").then(|| "U1, U2".to_string()))
            .unwrap();
        assert_eq!(settings.approvers, vec!["U1", "U2"]);
    }

    /// Every key of the file, with its variable and a value that is not its default.
    const EVERY_KEY: [(&str, &str); 35] = [
        ("KEEPABLE_LEADERSHIP_CHANNEL", "C-LEAD"),
        ("KEEPABLE_ESCALATION_CHANNEL", "C-ESC"),
        ("KEEPABLE_PRESALES_CHANNEL", "C-PRE"),
        ("KEEPABLE_APPROVERS", "U1,U2"),
        ("KEEPABLE_APPROVER_GROUP", "S-APPROVERS"),
        ("KEEPABLE_PRESALES_MEMBERS", " U3 , ,U4 "),
        ("KEEPABLE_PRESALES_GROUP", "S-PRESALES"),
        ("KEEPABLE_APPROVAL_REMINDER_HOURS", "5"),
        ("KEEPABLE_APPROVAL_ESCALATION_HOURS", "25"),
        ("KEEPABLE_APPROVAL_EXPIRY_HOURS", "73"),
        ("KEEPABLE_HANDOVER_REMINDER_HOURS", "12"),
        ("KEEPABLE_HOLD_DAYS", "21"),
        ("KEEPABLE_HORIZON_WEEKS", "26"),
        ("KEEPABLE_PROMPTS_DIR", "my-prompts"),
        ("KEEPABLE_SALES_LEADS", "U5,U6"),
        ("KEEPABLE_SALES_LEAD_GROUP", "S-LEADS"),
        ("KEEPABLE_OFFER_VALID_HOURS", "12"),
        ("KEEPABLE_MAX_ACTIVE_HOLDS", "2"),
        ("KEEPABLE_SLACK_TEAM_ID", "T1"),
        ("KEEPABLE_DISCORD_GUILD_ID", "700000000000000001"),
        ("KEEPABLE_TIMEZONE", "America/Chicago"),
        ("KEEPABLE_STALE_AFTER_DAYS", "3"),
        ("KEEPABLE_IMPORT_DIR", "/srv/exports"),
        ("KEEPABLE_IMPORT_EVERY", "1h"),
        ("KEEPABLE_OPS_CHANNEL", "C-OPS"),
        ("KEEPABLE_LEASE_SECONDS", "45"),
        ("KEEPABLE_MAX_RETRY_AFTER_SECONDS", "30"),
        ("KEEPABLE_HEALTH_MAX_BACKLOG_SECONDS", "120"),
        ("KEEPABLE_RADAR_WINDOW_DAYS", "180"),
        ("KEEPABLE_RADAR_MIN_PROJECTS", "8"),
        ("KEEPABLE_RADAR_CHANGE_ORDER_RATE", "0.25"),
        ("KEEPABLE_RADAR_MARGIN_FADE_POINTS", "7.5"),
        ("KEEPABLE_RADAR_SLIP_RATE", "0.4"),
        ("KEEPABLE_RADAR_SENIORITY_GAP_RATE", "0.1"),
        ("KEEPABLE_DIGEST_WEEKDAY", "friday"),
    ];

    #[test]
    fn every_key_has_its_keepable_variable() {
        let mut variables: Vec<String> =
            env::keys::<Settings>().iter().map(|key| env::variable(key)).collect();
        let mut listed: Vec<String> = EVERY_KEY.iter().map(|(name, _)| name.to_string()).collect();
        variables.sort();
        listed.sort();
        assert_eq!(variables, listed, "a setting was added: give it a value in EVERY_KEY");
    }

    #[test]
    fn every_setting_is_overridden_from_the_environment() {
        let mut settings = Settings::default();
        settings
            .apply_env(|name| {
                EVERY_KEY.iter().find(|(n, _)| *n == name).map(|(_, value)| value.to_string())
            })
            .unwrap();
        let expected = Settings {
            leadership_channel: "C-LEAD".into(),
            escalation_channel: "C-ESC".into(),
            presales_channel: "C-PRE".into(),
            approvers: vec!["U1".into(), "U2".into()],
            approver_group: Some("S-APPROVERS".into()),
            presales_members: vec!["U3".into(), "U4".into()],
            presales_group: Some("S-PRESALES".into()),
            approval_reminder_hours: 5,
            approval_escalation_hours: 25,
            approval_expiry_hours: 73,
            handover_reminder_hours: 12,
            hold_days: 21,
            horizon_weeks: 26,
            prompts_dir: Some(PathBuf::from("my-prompts")),
            sales_leads: vec!["U5".into(), "U6".into()],
            sales_lead_group: Some("S-LEADS".into()),
            offer_valid_hours: 12,
            max_active_holds: 2,
            slack_team_id: Some("T1".into()),
            discord_guild_id: Some("700000000000000001".into()),
            timezone: "America/Chicago".into(),
            stale_after_days: 3,
            import_dir: Some(PathBuf::from("/srv/exports")),
            import_every: "1h".into(),
            ops_channel: Some("C-OPS".into()),
            lease_seconds: 45,
            max_retry_after_seconds: 30,
            health_max_backlog_seconds: 120,
            radar_window_days: 180,
            radar_min_projects: 8,
            radar_change_order_rate: 0.25,
            radar_margin_fade_points: 7.5,
            radar_slip_rate: 0.4,
            radar_seniority_gap_rate: 0.1,
            digest_weekday: chrono::Weekday::Fri,
        };
        assert_eq!(settings, expected);
    }

    #[test]
    fn an_empty_variable_unsets_an_optional_setting() {
        let mut settings: Settings =
            toml::from_str("approver_group = \"S1\"\nprompts_dir = \"p\"\n").unwrap();
        settings.apply_env(|name| name.ends_with("_GROUP").then(String::new)).unwrap();
        assert_eq!(settings.approver_group, None);
        assert_eq!(
            settings.prompts_dir,
            Some(PathBuf::from("p")),
            "a variable not given changes nothing"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_variable() {
        let mut settings = Settings::default();
        let error = settings
            .apply_env(|name| (name == "KEEPABLE_HOLD_DAYS").then(|| "two weeks".to_string()))
            .unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "KEEPABLE_HOLD_DAYS is not a valid hold_days: 'two weeks' is not a whole number"
        );
        assert_eq!(settings.hold_days, 14);
    }
}
