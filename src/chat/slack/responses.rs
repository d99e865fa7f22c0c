//! A slash command's inline answer as Slack gets it: the JSON bytes of its Block Kit response,
//! remembered by what the reply shows. Sellers ask the same questions all day, and the same reply
//! makes the same response, so one made before is sent again without building its blocks and
//! writing them out. The key is every part of the reply the response shows (kind, texts, facts,
//! small print, buttons, who sees it) and the chart file shown in it; a remembered response is
//! used only when all of them are equal, never on a hash alone.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use axum::body::Bytes;

use super::blocks::Card;
use super::charts;
use crate::app::reply::{Button, Reply};

/// At most this many responses are remembered; past it they are forgotten and made again.
const KEPT: usize = 512;

/// The responses made, by the hash of what they show.
#[derive(Default)]
pub(crate) struct Responses {
    kept: Mutex<HashMap<u64, Made>>,
    /// foldhash, not SipHash: an equal hash is always checked by comparing what is shown.
    hashing: foldhash::fast::RandomState,
}

/// A response, and what it was made from.
struct Made {
    /// The reply's shown parts (its JSON fields and chart left out).
    reply: Reply,
    /// The uploaded chart shown in the answer, and its title.
    chart: Option<(String, String)>,
    json: Bytes,
    /// The chart is in the response itself (there was room for it).
    chart_inline: bool,
}

/// What an answer's response shows: the reply's shown parts and the chart file in it.
#[derive(PartialEq, Eq, Hash)]
struct Shown<'a> {
    kind: &'a str,
    headline: &'a str,
    body: &'a str,
    facts: &'a [(String, String)],
    context: &'a [String],
    actions: &'a [Button],
    private: bool,
    chart: Option<(&'a str, &'a str)>,
}

impl<'a> Shown<'a> {
    /// What `reply` shows with `chart` (file, title) in it.
    fn of(reply: &'a Reply, chart: Option<(&'a str, &'a str)>) -> Self {
        Shown {
            kind: &reply.kind,
            headline: &reply.headline,
            body: &reply.body,
            facts: &reply.facts,
            context: &reply.context,
            actions: &reply.actions,
            private: reply.private,
            chart,
        }
    }
}

impl Made {
    fn shown(&self) -> Shown<'_> {
        Shown::of(
            &self.reply,
            self.chart.as_ref().map(|(file, title)| (file.as_str(), title.as_str())),
        )
    }
}

impl Responses {
    /// The response to a command answered with `reply`, its chart shown in it when uploaded
    /// before as `file` and there is room; and whether it is (else it follows the answer).
    pub(crate) fn response(&self, reply: &Reply, file: Option<&str>) -> (Bytes, bool) {
        let chart = match (file, &reply.chart) {
            (Some(file), Some(chart)) => Some((file, chart.title())),
            _ => None,
        };
        let now = Shown::of(reply, chart);
        let hash = self.hashing.hash_one(&now);
        if let Some(made) = self.kept().get(&hash).filter(|made| made.shown() == now) {
            return (made.json.clone(), made.chart_inline);
        }
        let mut response = Card::from(reply).response();
        let chart_inline = match (file, &reply.chart) {
            (Some(file), Some(chart)) => charts::show_in_answer(&mut response, file, chart),
            _ => false,
        };
        // A `Value` always writes out; the fallback is never reached.
        let json = Bytes::from(serde_json::to_vec(&response).unwrap_or_default());
        let mut kept = self.kept();
        if kept.len() >= KEPT {
            kept.clear();
        }
        let shown = Reply { data: Default::default(), chart: None, ..reply.clone() };
        let chart = chart.map(|(file, title)| (file.to_string(), title.to_string()));
        kept.insert(hash, Made { reply: shown, chart, json: json.clone(), chart_inline });
        (json, chart_inline)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Made>> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Action;
    use crate::chart::{Chart, Histogram};
    use serde_json::Value;

    fn made(responses: &Responses, reply: &Reply, file: Option<&str>) -> (Value, bool) {
        let (json, inline) = responses.response(reply, file);
        (serde_json::from_slice(&json).unwrap(), inline)
    }

    fn answer() -> Reply {
        Reply::new("earliest_start")
            .with_text("CRM Rollout can start *Mon 7 Dec 2026*.\nBody\n> as of today")
    }

    #[test]
    fn the_same_reply_gets_the_same_response_as_made_fresh() {
        let responses = Responses::default();
        let reply = answer();
        let fresh = Card::from(&reply).response();
        assert_eq!(made(&responses, &reply, None), (fresh.clone(), false));
        assert_eq!(made(&responses, &reply, None), (fresh, false), "remembered");
        assert_eq!(responses.kept().len(), 1);
    }

    #[test]
    fn every_shown_part_makes_another_response() {
        let responses = Responses::default();
        let base = answer();
        let _ = made(&responses, &base, None);
        let changes = [
            // An error is shown only to the asker, with a warning sign.
            Reply { kind: "error".into(), private: false, ..base.clone() },
            Reply { headline: "Other".into(), ..base.clone() },
            Reply { body: "Other body".into(), ..base.clone() },
            Reply { facts: vec![("a".into(), "b".into())], ..base.clone() },
            Reply { context: vec!["other".into()], ..base.clone() },
            Reply { actions: vec![Button::new(Action::Hold("o1".into()), "Hold")], ..base.clone() },
            Reply { private: false, ..base.clone() },
        ];
        for changed in changes {
            assert_eq!(made(&responses, &changed, None).0, Card::from(&changed).response());
        }
        // The same button on another offer is another response.
        let one =
            Reply { actions: vec![Button::new(Action::Hold("o1".into()), "Hold")], ..base.clone() };
        let two = Reply { actions: vec![Button::new(Action::Hold("o2".into()), "Hold")], ..base };
        assert_ne!(made(&responses, &one, None).0, made(&responses, &two, None).0);
    }

    #[test]
    fn a_chart_file_is_shown_in_the_response_and_keyed_by_file() {
        let responses = Responses::default();
        let histogram = Histogram::of_durations("Durations", "weeks", &[70, 84, 85]).unwrap();
        let reply = answer().with_chart(Chart::Histogram(histogram));
        let (without, inline) = made(&responses, &reply, None);
        assert!(!inline);
        assert!(!without.to_string().contains("F1"));
        let (with, inline) = made(&responses, &reply, Some("F1"));
        assert!(inline, "room for the image: {with}");
        assert!(with.to_string().contains("\"F1\""));
        let (other, _) = made(&responses, &reply, Some("F2"));
        assert!(other.to_string().contains("\"F2\"") && !other.to_string().contains("\"F1\""));
    }
}
