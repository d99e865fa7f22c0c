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
            not_before: Some(date("2027-04-21")),
            deal: None,
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
        Command::Included {
            item: "SINGLE SIGN-ON".into(),
            package: Some("bi-dashboards".into()),
            deal: None
        }
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

#[test]
fn a_pattern_may_have_spaces_after_its_commas_and_role_names() {
    let Command::EarliestStart { target: StartTarget::Pattern { roles, .. }, .. } =
        parse("/earliest-start roles=senior:1@32, analyst:1@16 weeks=4").unwrap()
    else {
        panic!("not a pattern")
    };
    assert_eq!(roles.iter().map(|r| r.role.as_str()).collect::<Vec<_>>(), ["senior", "analyst"]);
    let Command::EarliestStart { target: StartTarget::Pattern { roles, .. }, .. } =
        parse("/earliest-start roles=Senior consultant:1@32,Analyst:2@16 weeks=4").unwrap()
    else {
        panic!("not a pattern")
    };
    assert_eq!(roles[0].role, "senior consultant");
    assert!(parse("/earliest-start crm-rollout roles=senior:1@32 weeks=4").is_err());
}

#[test]
fn deal_is_an_option_of_every_command_that_acts_on_a_deal() {
    let deal = Some("acme".to_string());
    assert!(
        matches!(parse("/earliest-start crm-rollout deal=acme").unwrap(), Command::EarliestStart { deal: d, .. } if d == deal)
    );
    assert!(
        matches!(parse("/comparables crm-rollout deal=acme").unwrap(), Command::Comparables { deal: d, .. } if d == deal)
    );
    assert!(
        matches!(parse("/included sso deal=acme").unwrap(), Command::Included { deal: d, .. } if d == deal)
    );
    assert_eq!(
        parse("/deal show deal=acme").unwrap(),
        Command::Deal(DealCommand::Show { deal: deal.clone() })
    );
    assert_eq!(
        parse("/deal lost deal=acme").unwrap(),
        Command::Deal(DealCommand::Lost { deal: deal.clone() })
    );
    assert_eq!(
        parse("/deal use deal=acme").unwrap(),
        Command::Deal(DealCommand::Use { deal: "acme".into() })
    );
}

#[test]
fn radar_and_track_record_take_a_grouping_with_a_default() {
    use crate::domain::radar::Grouping;
    use crate::domain::track_record::TrackGrouping;
    assert_eq!(parse("/radar").unwrap(), Command::Radar { by: Grouping::Package });
    assert_eq!(parse("/radar by=seller").unwrap(), Command::Radar { by: Grouping::Seller });
    assert_eq!(parse("/radar by=FIRM").unwrap(), Command::Radar { by: Grouping::Firm });
    assert_eq!(parse("/keepable radar seller").unwrap(), Command::Radar { by: Grouping::Seller });
    assert_eq!(parse("/track-record").unwrap(), Command::TrackRecord { by: TrackGrouping::Seller });
    assert_eq!(
        parse("/track_record by=package").unwrap(),
        Command::TrackRecord { by: TrackGrouping::Package }
    );
}

#[test]
fn an_unknown_grouping_lists_the_valid_ones() {
    let error = parse("/radar by=client").unwrap_err().to_string();
    assert!(error.contains("use by=package, by=seller, by=firm"), "{error}");
    let error = parse("/track-record by=firm").unwrap_err().to_string();
    assert!(error.contains("use by=seller, by=package"), "{error}");
    assert!(parse("/radar by=seller extra").is_err());
    assert!(parse("/radar window=30").is_err());
}

proptest::proptest! {
    /// A text parsed again, remembered or not, gives what parsing it gives.
    #[test]
    fn a_remembered_parse_is_the_parse(
        text in proptest::string::string_regex(
            "(/(earliest-start|included|comparables|staffing|help|deal) )?[a-z0-9 =.\"-]{0,40}"
        ).unwrap()
    ) {
        for _ in 0..2 {
            let (remembered, parsed) = (parse_remembered(&text), parse(&text));
            proptest::prop_assert_eq!(format!("{remembered:?}"), format!("{parsed:?}"));
        }
    }
}

#[test]
fn a_long_text_or_many_texts_are_parsed_as_ever() {
    let long = format!("/included {}", "x".repeat(PARSED_LONGEST));
    assert_eq!(parse_remembered(&long).unwrap(), parse(&long).unwrap());
    for n in 0..=PARSED_KEPT {
        let text = format!("/staffing package-{n}");
        assert_eq!(parse_remembered(&text).unwrap(), parse(&text).unwrap());
    }
    let first = "/staffing package-0";
    assert_eq!(parse_remembered(first).unwrap(), parse(first).unwrap());
}
