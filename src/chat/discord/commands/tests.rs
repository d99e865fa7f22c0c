use super::*;

fn text(name: &str, value: &str) -> CommandOption {
    CommandOption { name: name.into(), value: OptionValue::Text(value.into()) }
}

fn sub(name: &str, options: Vec<CommandOption>) -> CommandOption {
    CommandOption { name: name.into(), value: OptionValue::Options(options) }
}

/// The typed command the options make, as the same command typed as text would parse.
fn line(name: &str, options: Vec<CommandOption>) -> Command {
    match invocation(name, &options) {
        Invocation::Command(command) => command.unwrap(),
        Invocation::Line(line) => command::parse(&line).unwrap(),
        other => panic!("expected a command, got {other:?}"),
    }
}

fn parsed(text: &str) -> Command {
    command::parse(text).unwrap()
}

#[test]
fn typed_options_become_the_command_grammar() {
    assert_eq!(
        line(
            "earliest-start",
            vec![text("package", "crm-rollout"), text("not-before", "2027-01-04")]
        ),
        parsed("/earliest-start crm-rollout not-before=2027-01-04")
    );
    assert_eq!(
        line("earliest-start", vec![text("roles", "senior:2@20"), text("weeks", "8")]),
        parsed("/earliest-start roles=senior:2@20 weeks=8")
    );
    assert_eq!(
        line("staffing", vec![text("package", "CRM Rollout")]),
        parsed("/staffing \"CRM Rollout\"")
    );
    assert_eq!(
        line("included", vec![text("item", "SSO integration"), text("package", "crm-rollout")]),
        parsed("/included \"SSO integration\" package=crm-rollout")
    );
    assert_eq!(
        line(
            "comparables",
            vec![
                text("package", "crm-rollout"),
                text("effort", "900"),
                text("deadline", "2026-12-31")
            ]
        ),
        parsed("/comparables crm-rollout effort=900 deadline=2026-12-31")
    );
    assert_eq!(
        line("scope", vec![text("description", "Okta SSO"), text("deal", "acme")]),
        parsed("/scope \"Okta SSO\" deal=acme")
    );
    assert_eq!(
        line(
            "deal",
            vec![sub(
                "new",
                vec![
                    text("name", "Acme CRM"),
                    text("package", "crm-rollout"),
                    text("client", "Acme \"Big\" Corp")
                ]
            )]
        ),
        Command::Deal(command::DealCommand::New {
            name: "Acme CRM".into(),
            package: "crm-rollout".into(),
            client: Some("Acme \"Big\" Corp".into()),
        })
    );
    assert_eq!(
        line(
            "deal",
            vec![sub("won", vec![text("pm", "900000000000000002"), text("deal", "acme-crm")])]
        ),
        parsed("/deal won pm=900000000000000002 acme-crm")
    );
    assert_eq!(line("deal", vec![sub("show", vec![])]), parsed("/deal show"));
    assert_eq!(line("keepable", vec![sub("help", vec![])]), parsed("/keepable help"));
    assert_eq!(
        line("keepable", vec![sub("run", vec![text("command", "staffing crm-rollout")])]),
        parsed("/keepable staffing crm-rollout")
    );
}

#[test]
fn option_values_stay_whole_even_with_equals_signs_and_quotes() {
    let description = "SSO where role=admin and \"MFA\" is on";
    let command = line("scope", vec![text("description", description)]);
    assert_eq!(command, Command::Scope { description: description.into(), deal: None });
}

#[test]
fn scope_without_a_description_asks_for_a_form() {
    assert_eq!(invocation("scope", &[]), Invocation::ScopeModal);
    assert_eq!(invocation("scope", &[text("description", "  ")]), Invocation::ScopeModal);
}

#[test]
fn the_focused_option_is_found_inside_subcommands() {
    let options = vec![sub(
        "new",
        vec![
            text("name", "x"),
            CommandOption { name: "package".into(), value: OptionValue::Focused("cr".into()) },
        ],
    )];
    assert_eq!(focused(&options), Some(("package", "cr")));
    assert_eq!(focused(&[text("package", "x")]), None);
}

#[test]
fn suggestions_rank_prefixes_first_and_stop_at_25() {
    let candidates = |names: &[&str]| {
        names.iter().map(|n| (n.to_string(), n.to_lowercase(), vec![])).collect::<Vec<_>>()
    };
    let ranked = rank("dash", candidates(&["BI Dashboards", "Dashboard pack", "CRM Rollout"]));
    assert_eq!(
        ranked,
        vec![
            ("Dashboard pack".to_string(), "dashboard pack".to_string()),
            ("BI Dashboards".into(), "bi dashboards".into())
        ]
    );
    let many: Vec<String> = (0..40).map(|i| format!("Item {i:02}")).collect();
    let ranked = rank("", candidates(&many.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(ranked.len(), MAX_CHOICES);
    assert_eq!(rank("  CRM--roll ", candidates(&["CRM Rollout"])).len(), 1);
}

#[test]
fn the_definitions_are_valid_for_discord() {
    let definitions = serde_json::to_value(definitions()).unwrap();
    let commands = definitions.as_array().unwrap();
    let names: Vec<&str> = commands.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "earliest-start",
            "staffing",
            "included",
            "comparables",
            "scope",
            "deal",
            "radar",
            "track-record",
            "keepable"
        ]
    );
    fn check(options: &[serde_json::Value]) {
        let mut optional_seen = false;
        for option in options {
            let name = option["name"].as_str().unwrap();
            assert!(
                name.len() <= 32 && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name}"
            );
            assert!(
                !option["description"].as_str().unwrap().is_empty()
                    && option["description"].as_str().unwrap().len() <= 100
            );
            let required = option["required"].as_bool().unwrap_or(false);
            assert!(!(required && optional_seen), "required option {name} after an optional one");
            optional_seen |= !required && option["type"] != 1;
            check(option["options"].as_array().map(Vec::as_slice).unwrap_or(&[]));
        }
    }
    for command in commands {
        check(command["options"].as_array().unwrap());
    }
    let deal_won = &commands[5]["options"][2];
    assert_eq!(deal_won["options"][0]["type"], 6, "pm is a user picker");
}

#[test]
fn radar_and_track_record_take_by_as_a_typed_choice() {
    assert_eq!(line("radar", vec![]), parsed("/radar"));
    assert_eq!(line("radar", vec![text("by", "seller")]), parsed("/radar by=seller"));
    assert_eq!(
        line("track-record", vec![text("by", "package")]),
        parsed("/track-record by=package")
    );
    let definitions = serde_json::to_value(definitions()).unwrap();
    let choices = |command: &str| -> Vec<String> {
        let command =
            definitions.as_array().unwrap().iter().find(|c| c["name"] == command).unwrap();
        let by = &command["options"][0];
        assert_eq!(by["name"], "by");
        by["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap().into())
            .collect()
    };
    assert_eq!(choices("radar"), ["package", "seller", "firm"]);
    assert_eq!(choices("track-record"), ["seller", "package"]);
}
