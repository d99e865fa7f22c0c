use serde_json::json;

use super::*;

/// A guild slash command as Discord sends it today (every field serenity requires).
fn full_command() -> Value {
    json!({
        "type": 2, "id": "1300000000000000001", "application_id": "1200000000000000001", "token": "tok",
        "version": 1, "locale": "en-US", "guild_locale": "en-US", "guild_id": "1100000000000000001",
        "channel_id": "1000000000000000001", "channel": {"id": "1000000000000000001", "type": 0},
        "app_permissions": "2248473465835073", "entitlements": [], "authorizing_integration_owners": {"0": "1100000000000000001"},
        "context": 0, "attachment_size_limit": 10485760,
        "member": {
            "user": {"id": "900000000000000001", "username": "ann", "discriminator": "0", "global_name": "Ann", "avatar": null},
            "roles": ["800000000000000001"], "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
            "flags": 0, "pending": false, "permissions": "2248473465835073", "nick": null, "avatar": null, "premium_since": null
        },
        "data": {"id": "1400000000000000001", "name": "deal", "type": 1, "options": [
            {"name": "won", "type": 1, "options": [{"name": "pm", "type": 6, "value": "900000000000000002"}]}
        ]}
    })
}

fn expected_deal_won() -> IncomingKind {
    IncomingKind::Command {
        name: "deal".into(),
        options: vec![CommandOption {
            name: "won".into(),
            value: OptionValue::Options(vec![CommandOption {
                name: "pm".into(),
                value: OptionValue::Text("900000000000000002".into()),
            }]),
        }],
    }
}

#[test]
fn a_complete_payload_is_read_with_serenity() {
    let payload = full_command();
    assert!(
        serde_json::from_value::<Interaction>(payload.clone()).is_ok(),
        "serenity should accept it"
    );
    let incoming = parse(payload.to_string().as_bytes()).unwrap();
    assert_eq!(incoming.actor.user, "900000000000000001");
    assert_eq!(incoming.actor.channel, "1000000000000000001");
    assert_eq!(incoming.actor.groups, vec!["800000000000000001"]);
    assert_eq!(incoming.application_id.as_deref(), Some("1200000000000000001"));
    assert_eq!(incoming.token, "tok");
    assert_eq!(incoming.kind, expected_deal_won());
}

#[test]
fn a_minimal_payload_serenity_rejects_is_read_leniently_to_the_same_thing() {
    let mut payload = full_command();
    let object = payload.as_object_mut().unwrap();
    for key in ["attachment_size_limit", "locale", "version", "entitlements", "channel"] {
        object.remove(key);
    }
    object.insert(
        "member".into(),
        json!({"user": {"id": "900000000000000001"}, "roles": ["800000000000000001"]}),
    );
    assert!(serde_json::from_value::<Interaction>(payload.clone()).is_err());
    let incoming = parse(payload.to_string().as_bytes()).unwrap();
    assert_eq!(incoming.actor.groups, vec!["800000000000000001"]);
    assert_eq!(incoming.kind, expected_deal_won());
}

#[test]
fn a_subcommand_without_options_is_understood() {
    let body = json!({"type": 2, "token": "t", "application_id": "1", "channel_id": "2", "user": {"id": "3"},
        "data": {"name": "keepable", "options": [{"name": "help", "type": 1}]}});
    let incoming = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(incoming.actor.user, "3");
    assert_eq!(
        incoming.kind,
        IncomingKind::Command {
            name: "keepable".into(),
            options: vec![CommandOption {
                name: "help".into(),
                value: OptionValue::Options(vec![])
            }]
        }
    );
}

#[test]
fn autocomplete_marks_the_focused_option() {
    let body = json!({"type": 4, "token": "t", "channel_id": 2, "member": {"user": {"id": 3}, "roles": []},
        "data": {"name": "staffing", "options": [{"name": "package", "type": 3, "value": "crm", "focused": true}]}});
    let incoming = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(incoming.actor.user, "3");
    assert_eq!(
        incoming.kind,
        IncomingKind::Autocomplete {
            name: "staffing".into(),
            options: vec![CommandOption {
                name: "package".into(),
                value: OptionValue::Focused("crm".into())
            }]
        }
    );
}

#[test]
fn a_button_click_and_a_modal_submission_are_read() {
    let click = json!({"type": 3, "token": "t", "channel_id": "2", "member": {"user": {"id": "3"}, "roles": ["9"]},
        "data": {"custom_id": "approve:A1", "component_type": 2}});
    assert_eq!(
        parse(click.to_string().as_bytes()).unwrap().kind,
        IncomingKind::Component { custom_id: "approve:A1".into() }
    );
    let submit = json!({"type": 5, "token": "t", "channel_id": "2", "user": {"id": "3"},
    "data": {"custom_id": "scope_ticket:T1", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "effort", "value": "40"}]},
        {"type": 18, "component": {"type": 4, "custom_id": "price", "value": "900"}}
    ]}});
    let fields: HashMap<String, String> = [("effort", "40"), ("price", "900")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        parse(submit.to_string().as_bytes()).unwrap().kind,
        IncomingKind::ModalSubmit { custom_id: "scope_ticket:T1".into(), fields }
    );
}

#[test]
fn a_ping_needs_nothing_but_its_type_and_junk_is_refused() {
    assert_eq!(parse(br#"{"type":1}"#).unwrap().kind, IncomingKind::Ping);
    assert!(matches!(parse(b"not json"), Err(ParseError::Json(_))));
    assert!(matches!(parse(br#"{"type":2,"data":{"name":"staffing"}}"#), Err(ParseError::NoUser)));
    assert!(matches!(parse(br#"{"type":42,"user":{"id":"1"}}"#), Err(ParseError::UnknownType(42))));
}
