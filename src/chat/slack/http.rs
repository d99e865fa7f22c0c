//! The HTTP endpoints Slack calls: `/slack/commands`, `/slack/interactions` and `/slack/events`.
//! Each one reads the body (the server caps its size: 413), acknowledges `ssl_check=1`, verifies the
//! signature (401 on any failure, unlike slack-morphism's 400), refuses a replayed command or
//! click (401), then hands the decoded payload to the same handler Socket Mode uses.
//! `/slack/baseline`, served only when asked for (`SlackSettings::load_baseline`), is the load
//! benchmark's yardstick: the same signature check, then a constant.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{commands, events, interactions, verify, Ack, Slack};

pub(crate) fn router(slack: Slack) -> Router {
    let mut router = Router::new()
        .route("/slack/commands", post(slash_command))
        .route("/slack/interactions", post(interaction))
        .route("/slack/events", post(event));
    if slack.settings.load_baseline {
        router = router.route("/slack/baseline", post(baseline));
    }
    router.with_state(slack)
}

/// What `/slack/baseline` answers every signed request.
const BASELINE_ANSWER: &str = r#"{"response_type":"ephemeral","text":"ok"}"#;

/// The cost of being a Slack endpoint at all: the signature check `/slack/commands` makes (401
/// otherwise), then a constant; no form parsing, no replay guard, no database. `benches/load.rs`
/// measures the served commands against it.
async fn baseline(State(slack): State<Slack>, headers: HeaderMap, body: Bytes) -> Response {
    match signed_by_slack(&slack, &headers, &body) {
        Ok(_) => ([(CONTENT_TYPE, "application/json")], BASELINE_ANSWER).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn slash_command(State(slack): State<Slack>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match accept(&slack, &headers, &body, Replays::Refused).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    match read_command(&form) {
        Ok(command) => answer(commands::command(&slack, command).await),
        Err(error) => bad_request("slash command", &error),
    }
}

/// The slash command a form holds, each field decoded only when looked up (`Form`): the text
/// and `response_url` the command needs, not every other field Slack sends with them.
fn read_command<'a>(form: &Form<'a>) -> Result<commands::SlashCommand<'a>, String> {
    let field = |name: &str| form.get(name).ok_or_else(|| format!("missing field `{name}`"));
    Ok(commands::SlashCommand {
        command: field("command")?,
        text: form.get("text"),
        user_id: field("user_id")?,
        channel_id: field("channel_id")?,
        response_url: commands::Encoded::FormPair(
            form.pair("response_url").ok_or("missing field `response_url`")?,
        ),
        trigger_id: field("trigger_id")?,
    })
}

async fn interaction(State(slack): State<Slack>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match accept(&slack, &headers, &body, Replays::Refused).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let payload = form
        .get("payload")
        .ok_or("no payload field")
        .and_then(|p| serde_json::from_str::<Value>(&p).map_err(|_| "payload is not JSON"));
    match payload {
        Ok(payload) => answer(interactions::interaction(&slack, payload).await),
        Err(error) => bad_request("interaction", &error),
    }
}

async fn event(State(slack): State<Slack>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = accept(&slack, &headers, &body, Replays::ByEventId).await {
        return response;
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(body) => answer(events::event(&slack, body).await),
        Err(error) => bad_request("event", &error),
    }
}

/// How a second copy of a signed request is recognised.
#[derive(Clone, Copy, PartialEq)]
enum Replays {
    /// Slack never resends a slash command or an interaction, so a signature seen before within
    /// the five-minute window is a replay (see `replay`).
    Refused,
    /// Slack does retry events; they are de-duplicated by `event_id` instead.
    ByEventId,
}

/// The form of a request Slack signed (`body` split into its fields), or the response that ends
/// it: 200 for an `ssl_check`, 401 when not signed by Slack within the time window or replayed,
/// 403 from another workspace.
async fn accept<'b>(
    slack: &Slack,
    headers: &HeaderMap,
    body: &'b [u8],
    replays: Replays,
) -> Result<Form<'b>, Response> {
    // Slack's certificate check carries no command and changes nothing, so it is acknowledged
    // before (and whether or not) it is signed; it never reaches a handler. Looked up in the
    // body itself: a form's table is built only for a signed body (a million `&`s in an
    // unsigned one would otherwise make a table of a million fields).
    if form_field(body, "ssl_check").as_deref() == Some("1") {
        return Err(StatusCode::OK.into_response());
    }
    let signed = signed_by_slack(slack, headers, body).map_err(IntoResponse::into_response)?;
    let form = Form::of(body);
    if let Some(team) = slack.app.settings.slack_team_id.as_deref() {
        let from = team_of(&form, body);
        if from.as_deref() != Some(team) {
            tracing::warn!(
                team = from.as_deref().unwrap_or("none"),
                "refused a request from another Slack workspace"
            );
            return Err(StatusCode::FORBIDDEN.into_response());
        }
    }
    if replays == Replays::Refused {
        // A request is its timestamp and body, named by the tag that signs them.
        let key = crate::chat::replay::request_key(&signed);
        let now = slack.app.clock.now();
        if !slack.replays.first(&slack.app.store, &key, signed.sent_at, now).await {
            tracing::warn!("refused a replayed Slack request");
            return Err(StatusCode::UNAUTHORIZED.into_response());
        }
    }
    Ok(form)
}

/// What Slack signed, when it signed `body` within the time window of the app's clock; 401
/// otherwise.
fn signed_by_slack(
    slack: &Slack,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<verify::Signed, StatusCode> {
    let now = slack.app.clock.now().timestamp();
    verify::verify_request(slack.settings.signing_secret.expose_secret(), headers, body, now)
        .map_err(|refusal| {
            tracing::warn!(%refusal, "refused a request that Slack did not sign");
            StatusCode::UNAUTHORIZED
        })
}

/// The workspace a signed request comes from: the acting user's team where Slack names it (a
/// shared channel's guest belongs to another), else the workspace's. Commands are forms with
/// `team_id` (and `user_team` for guests); interactions a form whose `payload` has `user.team_id`
/// and `team.id`; events JSON with `team_id`.
fn team_of<'a>(form: &Form<'a>, body: &[u8]) -> Option<Cow<'a, str>> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Team {
        id: Option<String>,
        team_id: Option<String>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Payload {
        team_id: Option<String>,
        team: Team,
        user: Team,
    }
    if let Some(team) = form.get("user_team").or_else(|| form.get("team_id")) {
        return Some(team);
    }
    let payload: Payload = match form.get("payload") {
        Some(json) => serde_json::from_str(&json).ok()?,
        None => serde_json::from_slice(body).ok()?,
    };
    payload.user.team_id.or(payload.team.id).or(payload.team_id).map(Cow::Owned)
}

/// A form-encoded body, split once into its `name=value` pairs; a field is decoded only when
/// looked up (borrowed from the body where nothing was escaped), not the command's text and
/// `response_url` a lookup passes by. A body that is not a form (an event's JSON) has no field a
/// lookup names. A request looks up about nine fields: splitting the body for each one was a
/// thirtieth of a served command.
struct Form<'a>(Vec<Pair<'a>>);

/// One `name=value` of a form, undecoded.
struct Pair<'a> {
    whole: &'a [u8],
    name: &'a [u8],
    value: &'a [u8],
    /// The name is spelt without escapes (checked once, not at every lookup).
    plain_name: bool,
}

/// Whether form text holds an escape (`%xx`, or `+` for a space).
fn escaped(text: &[u8]) -> bool {
    text.iter().any(|byte| matches!(byte, b'%' | b'+'))
}

impl<'a> Pair<'a> {
    fn of(whole: &'a [u8]) -> Pair<'a> {
        let mut halves = whole.splitn(2, |byte| *byte == b'=');
        let name = halves.next().unwrap_or_default();
        let value = halves.next().unwrap_or_default();
        Pair { whole, name, value, plain_name: !escaped(name) }
    }

    /// Whether this is field `name` (a name spelt with escapes is decoded to compare).
    fn is(&self, name: &str) -> bool {
        if self.plain_name {
            return self.name == name.as_bytes();
        }
        url::form_urlencoded::parse(self.whole).next().is_some_and(|(key, _)| key == name)
    }

    /// The value, when this is field `name`. A value with escapes is decoded (`pair_value`); a
    /// plain one is the text itself, as the parser would give it.
    fn value_of(&self, name: &str) -> Option<Cow<'a, str>> {
        if !self.is(name) {
            return None;
        }
        if self.plain_name && !escaped(self.value) {
            return Some(String::from_utf8_lossy(self.value));
        }
        Some(pair_value(self.whole))
    }
}

/// The value of a form's whole `name=value` pair, decoded as the form parser decodes it (empty
/// for an empty pair).
pub(super) fn pair_value(whole: &[u8]) -> Cow<'_, str> {
    url::form_urlencoded::parse(whole).next().map(|(_, value)| value).unwrap_or_default()
}

impl<'a> Form<'a> {
    fn of(body: &'a [u8]) -> Form<'a> {
        // Room for the dozen fields of a slash command without growing.
        let mut pairs = Vec::with_capacity(16);
        pairs.extend(fields(body).map(Pair::of));
        Form(pairs)
    }

    /// The first value of field `name`.
    fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.0.iter().find_map(|pair| pair.value_of(name))
    }

    /// The whole `name=value` pair `get(name)` would decode, undecoded.
    fn pair(&self, name: &str) -> Option<&'a [u8]> {
        self.0.iter().find(|pair| pair.is(name)).map(|pair| pair.whole)
    }
}

/// The first value of field `name` of a form-encoded body, looked up without building its table
/// (`Form`); `None` when absent or when the body is not a form.
fn form_field<'a>(body: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    fields(body).find_map(|pair| Pair::of(pair).value_of(name))
}

/// A form body's `name=value` pairs, undecoded, as `body.split(|b| *b == b'&')` gives them
/// (empty ones included), found with memchr.
fn fields(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'&', body).chain(std::iter::once(body.len()));
    ends.map(move |end| {
        let field = &body[start..end];
        start = end + 1;
        field
    })
}

fn answer(ack: Ack) -> Response {
    match ack {
        Ack::Empty => StatusCode::OK.into_response(),
        Ack::Json(body) => Json(body).into_response(),
        Ack::Response(json) => ([(CONTENT_TYPE, "application/json")], json).into_response(),
        Ack::Failed => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn bad_request(what: &str, error: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %error, "unreadable Slack {what}");
    (StatusCode::BAD_REQUEST, format!("unreadable {what}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_field_is_found_and_decoded_as_form_urlencoded_parses_it() {
        let body = b"token=x&team_id=T1&text=crm+rollout%20%26+more&response_url=https%3A%2F%2Fhooks.slack.com%2Fa&team_id=T2&flag";
        let form = Form::of(body);
        assert_eq!(form.get("team_id").as_deref(), Some("T1"), "the first value");
        assert_eq!(form.get("text").as_deref(), Some("crm rollout & more"));
        assert_eq!(form.get("response_url").as_deref(), Some("https://hooks.slack.com/a"));
        assert_eq!(form.get("flag").as_deref(), Some(""));
        assert_eq!(form.get("user_team"), None);
        assert_eq!(form.get("team"), None, "a prefix of a name is another name");
        // A name spelt with escapes is the same name.
        assert_eq!(Form::of(b"ssl%5Fcheck=1").get("ssl_check").as_deref(), Some("1"));
        assert_eq!(Form::of(b"a+b=1").get("a b").as_deref(), Some("1"));
        // Every field, as the whole-body parser sees them.
        for (key, value) in url::form_urlencoded::parse(body) {
            if key != "team_id" {
                assert_eq!(form.get(&key).as_deref(), Some(value.as_ref()), "{key}");
            }
        }
        // A value holding '=' keeps it; bytes that are not UTF-8 read as the parser reads them.
        assert_eq!(Form::of(b"a=b=c").get("a").as_deref(), Some("b=c"));
        let odd = b"a=\xff&b=%ff";
        for (key, value) in url::form_urlencoded::parse(odd) {
            assert_eq!(Form::of(odd).get(&key).as_deref(), Some(value.as_ref()), "{key}");
        }
        // An event's JSON is no form.
        assert_eq!(Form::of(br#"{"team_id":"T1"}"#).get("team_id"), None);
        // Looked up in the body itself (before the signature is checked), the same values.
        for name in ["team_id", "text", "response_url", "flag", "user_team", "team"] {
            assert_eq!(form_field(body, name), form.get(name), "{name}");
        }
        // A field's pair, decoded later, is the value `get` gives, escaped name or not.
        for (body, name) in [(&body[..], "response_url"), (b"a=0&ssl%5Fcheck=1+2", "ssl_check")] {
            let pair = Form::of(body).pair(name).expect(name);
            let later = super::commands::Encoded::FormPair(pair).decoded();
            assert_eq!(Some(later.as_str()), Form::of(body).get(name).as_deref(), "{name}");
        }
        assert_eq!(form.pair("missing"), None);
        assert_eq!(form_field(b"ssl%5Fcheck=1&x=2", "ssl_check").as_deref(), Some("1"));
    }

    proptest::proptest! {
        #[test]
        fn a_body_is_split_at_its_ampersands_as_split_splits_it(
            body in proptest::collection::vec(proptest::sample::select(b"&=a%+".to_vec()), 0..40)
        ) {
            let split: Vec<&[u8]> = body.split(|byte| *byte == b'&').collect();
            proptest::prop_assert_eq!(fields(&body).collect::<Vec<_>>(), split);
        }
    }

    #[test]
    fn a_slash_command_is_read_from_slacks_form() {
        let form = "token=x&team_id=T1&team_domain=acme&channel_id=C1&channel_name=deal&user_id=U1\
            &command=%2Fincluded&text=sso+%26+saml&api_app_id=A1\
            &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=t.1";
        let command = read_command(&Form::of(form.as_bytes())).unwrap();
        assert_eq!(command.command, "/included");
        assert_eq!(command.text.as_deref(), Some("sso & saml"));
        assert_eq!((&*command.user_id, &*command.channel_id), ("U1", "C1"));
        assert_eq!(command.response_url.decoded(), "https://hooks.slack.com/commands/1");
        assert_eq!(command.trigger_id, "t.1");
        // Nothing escaped, nothing copied.
        assert!(matches!(command.user_id, Cow::Borrowed(_)));
        // Without text (`/help`).
        let help = form.replace("&text=sso+%26+saml", "");
        assert_eq!(read_command(&Form::of(help.as_bytes())).unwrap().text, None);
        // A form missing a field every command has is not a slash command.
        for missing in ["command", "user_id", "channel_id", "response_url", "trigger_id"] {
            let fields: Vec<&str> = form
                .split('&')
                .filter(|field| !field.starts_with(&format!("{missing}=")))
                .collect();
            let body = fields.join("&");
            let error = read_command(&Form::of(body.as_bytes())).err();
            assert_eq!(error, Some(format!("missing field `{missing}`")));
        }
    }
}
