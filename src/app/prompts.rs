//! The wording of every reply: minijinja templates from `prompts/`, embedded at build time and
//! overridable from a directory (`prompts_dir`) so a firm can reword replies without recompiling.

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use minijinja::{Environment, Value};
use serde::Serialize;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../prompts/", $name, ".j2")))),*]
    };
}

/// Every template the bot renders, by name.
const TEMPLATES: &[(&str, &str)] = embedded!(
    "earliest_start",
    "staffing",
    "comparables",
    "inclusion",
    "help",
    "deal",
    "commitment",
    "hold",
    "approval_request",
    "approval_card",
    "approval_decided",
    "approval_notice",
    "ticket",
    "ticket_card",
    "ticket_notice",
    "handover",
    "reminder",
    "stale_warning",
    "radar",
    "track_record",
    "digest",
);

pub struct Prompts {
    env: Environment<'static>,
    /// Texts already rendered, by template and context (`render`).
    rendered: std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
}

/// At most this many rendered texts remembered; past it, they are forgotten and rendered again.
const RENDERED_KEPT: usize = 128;

impl Prompts {
    /// The embedded templates, each replaced by `dir/NAME.j2` when that file exists.
    /// Times (`|time`) are shown in `zone`, the firm's time zone.
    pub fn load(dir: Option<&Path>, zone: chrono_tz::Tz) -> anyhow::Result<Prompts> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_filter("date", format_date);
        env.add_filter("money", format_money);
        env.add_filter("hours", format_hours);
        env.add_filter("weeks", format_weeks);
        env.add_filter("percent", format_percent);
        env.add_filter("in_ten", share_in_ten);
        env.add_filter("time", move |value: String| format_time(&value, zone));
        env.add_filter("asof", move |value: String| format_as_of(&value, zone));
        env.add_filter("number", format_hours);
        // Every value a template shows is data, and data may be a person's text: mark it, so each
        // platform shows it as text (`app::text`). A value marked `|safe` is template text
        // already formatted (a macro's output, its data marked inside): it passes as it is.
        env.set_formatter(|out, _state, value| {
            if value.is_safe() {
                out.write_str(&value.to_string())?;
            } else if !value.is_undefined() && !value.is_none() {
                out.write_str(&super::text::user(&value.to_string()))?;
            }
            Ok(())
        });
        for (name, source) in TEMPLATES {
            let source = match dir.map(|d| d.join(format!("{name}.j2"))).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => source.to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .with_context(|| format!("template {name}"))?;
        }
        Ok(Prompts { env, rendered: Default::default() })
    }

    /// Renders template `name` with `context`. A text is a function of its template and context
    /// alone (the templates, filters and time zone are fixed once loaded), and sellers ask the
    /// same questions all day, so a text rendered before is given again: its context, as JSON,
    /// is the key.
    pub fn render(&self, name: &str, context: impl Serialize) -> anyhow::Result<String> {
        let key = (name.to_string(), serde_json::to_string(&context)?);
        if let Some(text) = self.remembered().get(&key) {
            return Ok(text.clone());
        }
        let template =
            self.env.get_template(name).with_context(|| format!("no template {name}"))?;
        let text = template
            .render(Value::from_serialize(&context))
            .with_context(|| format!("rendering {name}"))?;
        let mut remembered = self.remembered();
        if remembered.len() >= RENDERED_KEPT {
            remembered.clear();
        }
        remembered.insert(key, text.clone());
        Ok(text)
    }

    fn remembered(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(String, String), String>> {
        self.rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `2027-11-08T15:00:00Z` -> `Mon 8 Nov 2027, 09:00 CST` in the firm's time zone.
fn format_time(value: &str, zone: chrono_tz::Tz) -> String {
    match value.parse::<chrono::DateTime<chrono::Utc>>() {
        Ok(at) => at.with_timezone(&zone).format("%a %-d %b %Y, %H:%M %Z").to_string(),
        Err(_) => value.to_string(),
    }
}

/// `2026-11-30T15:12:00Z` -> `Mon 30 Nov, 09:12` in the firm's time zone: when data was loaded.
fn format_as_of(value: &str, zone: chrono_tz::Tz) -> String {
    match value.parse::<chrono::DateTime<chrono::Utc>>() {
        Ok(at) => at.with_timezone(&zone).format("%a %-d %b, %H:%M").to_string(),
        Err(_) => value.to_string(),
    }
}

/// `2027-11-08` -> `Mon 8 Nov 2027`.
fn format_date(value: String) -> String {
    match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
        Ok(date) => date.format("%a %-d %b %Y").to_string(),
        Err(_) => value,
    }
}

/// `2400` -> `$2,400`.
fn format_money(value: f64) -> String {
    let cents = (value * 100.0).round() as i64;
    let (whole, fraction) = (cents.abs() / 100, cents.abs() % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if cents < 0 { "-" } else { "" };
    if fraction == 0 {
        format!("{sign}${grouped}")
    } else {
        format!("{sign}${grouped}.{fraction:02}")
    }
}

fn format_hours(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Days -> weeks, one decimal at most.
fn format_weeks(days: f64) -> String {
    let weeks = days / 7.0;
    if (weeks - weeks.round()).abs() < 0.05 {
        format!("{:.0}", weeks.round())
    } else {
        format!("{weeks:.1}")
    }
}

fn format_percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// A share as a seller says it: `0.28` -> `about 3 in 10` (of the comparable projects that
/// follow); only an exact 0 or 1 is `none of the` or `all of the`.
fn share_in_ten(share: f64) -> String {
    let tenths = (share * 10.0).round();
    if share <= 0.0 {
        "none of the".into()
    } else if share >= 1.0 {
        "all of the".into()
    } else if tenths < 1.0 {
        "fewer than 1 in 10".into()
    } else if tenths > 9.0 {
        "more than 9 in 10".into()
    } else {
        format!("about {tenths:.0} in 10")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_money_and_dates_for_people() {
        assert_eq!(format_money(2400.0), "$2,400");
        assert_eq!(format_money(1234567.5), "$1,234,567.50");
        assert_eq!(format_date("2027-11-08".into()), "Mon 8 Nov 2027");
        assert_eq!(format_weeks(77.0), "11");
        assert_eq!(format_weeks(72.4), "10.3");
    }

    #[test]
    fn a_share_reads_in_tenths_and_never_rounds_to_none_or_all() {
        assert_eq!(share_in_ten(0.28), "about 3 in 10");
        assert_eq!(share_in_ten(0.5), "about 5 in 10");
        assert_eq!(share_in_ten(0.0), "none of the");
        assert_eq!(share_in_ten(0.02), "fewer than 1 in 10");
        assert_eq!(share_in_ten(0.97), "more than 9 in 10");
        assert_eq!(share_in_ten(1.0), "all of the");
    }

    #[test]
    fn every_embedded_template_compiles() {
        let prompts = Prompts::load(None, chrono_tz::UTC).unwrap();
        assert!(prompts.render("help", serde_json::json!({"commands": []})).is_ok());
    }

    #[test]
    fn a_text_rendered_before_is_given_again_only_for_the_same_template_and_context() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("help.j2"), "help {{ n }}").unwrap();
        std::fs::write(dir.path().join("staffing.j2"), "staffing {{ n }}").unwrap();
        let prompts = Prompts::load(Some(dir.path()), chrono_tz::UTC).unwrap();
        let data = |n: &str| super::super::text::user(n);
        for round in 0..2 {
            for n in 0..(RENDERED_KEPT + 5) {
                let context = serde_json::json!({ "n": n });
                let shown = prompts.render("help", &context).unwrap();
                assert_eq!(shown, format!("help {}", data(&n.to_string())), "{round}");
                let shown = prompts.render("staffing", &context).unwrap();
                assert_eq!(shown, format!("staffing {}", data(&n.to_string())));
            }
        }
        assert!(prompts.remembered().len() <= RENDERED_KEPT);
        let shown = prompts.render("help", serde_json::json!({ "n": 1.5 })).unwrap();
        assert_eq!(shown, format!("help {}", data("1.5")));
    }

    #[test]
    fn a_macros_output_keeps_the_bots_formatting_and_marks_only_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let source = "{% macro m(x) %}<@{{ x }}>{% endmacro %}{{ m(who)|safe }} {{ who }}";
        std::fs::write(dir.path().join("help.j2"), source).unwrap();
        let prompts = Prompts::load(Some(dir.path()), chrono_tz::UTC).unwrap();
        let shown = prompts.render("help", serde_json::json!({"who": "U1"})).unwrap();
        let user = super::super::text::user("U1");
        assert_eq!(shown, format!("<@{user}> {user}"));
    }

    #[test]
    fn a_directory_overrides_a_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("help.j2"), "Custom help").unwrap();
        let prompts = Prompts::load(Some(dir.path()), chrono_tz::UTC).unwrap();
        assert_eq!(prompts.render("help", serde_json::json!({})).unwrap(), "Custom help");
    }
}
