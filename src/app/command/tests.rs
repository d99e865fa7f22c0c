use super::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn parses_a_package_with_not_before() {
    assert_eq!(
        parse("/earliest-start CRM Rollout not-before=2027-04-21").unwrap(),
        Command::EarliestStart {
            target: StartTarget::Package("CRM Rollout".into()),
            not_before: Some(date("2027-04-21"))
        }
    );
}

#[test]
fn parses_an_ad_hoc_pattern() {
    let Command::EarliestStart { target: StartTarget::Pattern { roles, weeks }, .. } =
        parse("/earliest-start roles=senior:1@20,analyst:2@7.5 weeks=4").unwrap()
    else {
        panic!("not a pattern")
    };
    assert_eq!(weeks, 4);
    assert_eq!(
        roles[1],
        RoleSpec { role: "analyst".into(), count: 2, hours_per_week: Hours::parse("7.5").unwrap() }
    );
}

#[test]
fn a_typo_in_the_command_suggests_the_right_one() {
    let error = parse("/earliest-strat crm").unwrap_err().to_string();
    assert!(error.contains("/earliest-start"), "{error}");
}

#[test]
fn a_malformed_date_shows_the_syntax() {
    let error = parse("/comparables crm deadline=2027-13-01").unwrap_err().to_string();
    assert!(error.contains("deadline") && error.contains("YYYY-MM-DD"), "{error}");
}

#[test]
fn a_deadline_before_the_start_is_refused() {
    let error =
        parse("/comparables crm start=2027-05-01 deadline=2027-04-01").unwrap_err().to_string();
    assert!(error.contains("before"), "{error}");
}

#[test]
fn an_unknown_option_is_refused() {
    assert!(matches!(parse("/staffing crm colour=blue"), Err(UserError::UnknownOption { .. })));
}

#[test]
fn malformed_roles_are_refused() {
    for text in [
        "roles=senior weeks=2",
        "roles=senior:0@20 weeks=2",
        "roles=senior:1@-3 weeks=2",
        "roles=senior:1@20 weeks=0",
    ] {
        assert!(parse(&format!("/earliest-start {text}")).is_err(), "{text}");
    }
}

#[test]
fn included_keeps_the_item_text() {
    assert_eq!(
        parse("/included SINGLE SIGN-ON package=bi-dashboards").unwrap(),
        Command::Included { item: "SINGLE SIGN-ON".into(), package: Some("bi-dashboards".into()) }
    );
}

#[test]
fn keepable_runs_the_inner_command() {
    assert_eq!(
        parse("/keepable staffing crm").unwrap(),
        Command::Staffing { package: "crm".into() }
    );
    assert_eq!(parse("/keepable help").unwrap(), Command::Help);
    assert_eq!(parse("").unwrap(), Command::Help);
}

#[test]
fn deal_commands_take_quoted_names_and_mentions() {
    assert_eq!(
        parse("/deal new \"Acme CRM\" package=crm-rollout client=\"Acme Corp\"").unwrap(),
        Command::Deal(DealCommand::New {
            name: "Acme CRM".into(),
            package: "crm-rollout".into(),
            client: Some("Acme Corp".into())
        })
    );
    // The mention is kept as given: the workflow checks it names one person (`domain::deal::pm_reference`).
    assert_eq!(
        parse("/deal won pm=<@U123|ann>").unwrap(),
        Command::Deal(DealCommand::Won { deal: None, pm: "<@U123|ann>".into() })
    );
    assert_eq!(
        parse("/deal use acme-crm").unwrap(),
        Command::Deal(DealCommand::Use { deal: "acme-crm".into() })
    );
}
