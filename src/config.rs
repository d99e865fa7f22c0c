//! One `Settings` struct: defaults, then a TOML file, then environment overrides.
//!
//! Secrets (Slack signing secret and tokens, Discord keys and tokens) never live here: the
//! adapters read them from the environment.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
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
        }
    }
}

impl Settings {
    /// Defaults, overlaid with `path` when given, then with `KEEPABLE_*` environment variables.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let mut settings = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?
            }
            None => Settings::default(),
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        settings.validate()?;
        Ok(settings)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let list = |text: String| text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if let Some(v) = var("KEEPABLE_LEADERSHIP_CHANNEL") {
            self.leadership_channel = v;
        }
        if let Some(v) = var("KEEPABLE_ESCALATION_CHANNEL") {
            self.escalation_channel = v;
        }
        if let Some(v) = var("KEEPABLE_PRESALES_CHANNEL") {
            self.presales_channel = v;
        }
        if let Some(v) = var("KEEPABLE_APPROVERS") {
            self.approvers = list(v);
        }
        if let Some(v) = var("KEEPABLE_APPROVER_GROUP") {
            self.approver_group = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("KEEPABLE_PRESALES_MEMBERS") {
            self.presales_members = list(v);
        }
        if let Some(v) = var("KEEPABLE_PRESALES_GROUP") {
            self.presales_group = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("KEEPABLE_PROMPTS_DIR") {
            self.prompts_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("KEEPABLE_HORIZON_WEEKS") {
            self.horizon_weeks = v.parse().context("KEEPABLE_HORIZON_WEEKS must be a whole number")?;
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.horizon_weeks >= 1, "horizon_weeks must be at least 1");
        anyhow::ensure!(
            self.approval_reminder_hours > 0 && self.approval_escalation_hours > 0 && self.approval_expiry_hours > 0,
            "approval delays must be positive"
        );
        anyhow::ensure!(self.hold_days > 0, "hold_days must be positive");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_file_overrides_defaults() {
        let settings: Settings = toml::from_str("approvers = [\"U1\"]\nleadership_channel = \"C9\"\n").unwrap();
        assert_eq!(settings.approvers, vec!["U1"]);
        assert_eq!(settings.leadership_channel, "C9");
        assert_eq!(settings.horizon_weeks, 52);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Settings>("aprovers = []").is_err());
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut settings = Settings::default();
        settings.apply_env(|name| (name == "KEEPABLE_APPROVERS").then(|| "U1, U2".to_string())).unwrap();
        assert_eq!(settings.approvers, vec!["U1", "U2"]);
    }
}
