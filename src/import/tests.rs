use super::*;
use crate::domain::firm::{role_counts_text, RoleCount};

fn parse(files: &[(&str, &str)]) -> (ParsedFirm, Vec<String>) {
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (*n, t.to_string())).collect();
    let (parsed, problems) = parse_files(&files);
    let problems = check(&parsed, problems, &KnownIds::default());
    (parsed, problems.iter().map(ToString::to_string).collect())
}

const ROLES: &str = "id,name,rank\nsenior,Senior,3\n";
const PEOPLE: &str = "id,name,role,weekly_hours\np1,Ann,senior,40\n";

#[test]
fn a_clean_set_parses_without_problems() {
    let (parsed, problems) = parse(&[("roles.csv", ROLES), ("people.csv", PEOPLE)]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(parsed.data.people.len(), 1);
    assert!(parsed.data.people[0].active);
}

#[test]
fn a_bad_date_names_the_file_line_and_column() {
    let allocations = "person,project,start,end,hours_per_week\np1,x,2027-01-01,2027-02-01,8\np1,y,2027-13-01,2027-02-01,8\n";
    let (_, problems) =
        parse(&[("roles.csv", ROLES), ("people.csv", PEOPLE), ("allocations.csv", allocations)]);
    assert_eq!(
        problems,
        vec!["allocations.csv:3: start: bad date '2027-13-01' (expected YYYY-MM-DD)"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let allocations = "person,project,start,end,hours_per_week,status\n\
        ghost,x,2027-01-01,2027-02-01,8,confirmed\n\
        p1,x,2027-03-01,2027-02-01,8,confirmed\n\
        p1,x,2027-01-01,2027-02-01,-8,confirmed\n\
        p1,x,2027-01-01,2027-02-01,8,maybe\n\
        p1,x,2027-01-01,2027-02-01,lots,confirmed\n";
    let (_, problems) =
        parse(&[("roles.csv", ROLES), ("people.csv", PEOPLE), ("allocations.csv", allocations)]);
    assert_eq!(
        problems,
        vec![
            "allocations.csv:2: person: unknown person 'ghost'",
            "allocations.csv:3: end: end 2027-02-01 is before start 2027-03-01",
            "allocations.csv:4: hours_per_week: hours must be positive, got '-8'",
            "allocations.csv:5: status: unknown status 'maybe' (expected confirmed or tentative)",
            "allocations.csv:6: hours_per_week: bad number 'lots'",
        ]
    );
}

#[test]
fn a_missing_required_column_is_reported_on_the_header() {
    let (_, problems) = parse(&[("roles.csv", "id,name\nsenior,Senior\n")]);
    assert_eq!(problems, vec!["roles.csv:1: rank: missing required column"]);
}

#[test]
fn unknown_references_and_duplicate_roles_are_refused() {
    let packages = "id,name,duration_weeks\ncrm,CRM,4\n";
    let package_roles =
        "package,role,count,hours_per_week\ncrm,senior,1,8\ncrm,senior,2,8\nerp,wizard,1,8\n";
    let (_, problems) = parse(&[
        ("roles.csv", ROLES),
        ("packages.csv", packages),
        ("package_roles.csv", package_roles),
    ]);
    assert_eq!(
        problems,
        vec![
            "package_roles.csv:3: role: role appears twice in the package (crm/senior)",
            "package_roles.csv:4: package: unknown package 'erp'",
            "package_roles.csv:4: role: unknown role 'wizard'",
        ]
    );
}

#[test]
fn dependency_cycles_and_bad_categories_are_refused() {
    let deliverables = "id,name,category,effort_hours,price,depends_on\n\
        a,A,standard,1,1,b\n\
        b,B,standard,1,1,c\n\
        c,C,standard,1,1,a\n\
        d,D,bespoke,1,1,\n\
        e,E,standard,1,1,zzz\n";
    let (_, problems) = parse(&[("deliverables.csv", deliverables)]);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("cycle in depends_on")));
    assert!(problems.iter().any(|p| p == "deliverables.csv:5: category: unknown category 'bespoke' (expected standard or customization)"));
    assert!(problems
        .iter()
        .any(|p| p == "deliverables.csv:6: depends_on: dependency on unknown deliverable 'zzz'"));
}

#[test]
fn quoted_cells_and_unknown_columns_are_fine() {
    let roles = "id,name,rank,colour\nsenior,\"Senior, consultant\",3,blue\n";
    let (parsed, problems) = parse(&[("roles.csv", roles)]);
    assert!(problems.is_empty());
    assert_eq!(parsed.data.roles[0].name, "Senior, consultant");
}

#[test]
fn line_numbers_are_right_with_crlf_line_endings() {
    let roles = "id,name,rank\r\nsenior,Senior,3\r\n\"multi\r\nline\",X,1\r\nx,X,abc\r\n";
    let (_, problems) = parse(&[("roles.csv", roles)]);
    assert_eq!(problems, vec!["roles.csv:5: rank: bad integer 'abc'"]);
}

#[test]
fn a_semicolon_separated_file_is_one_clear_problem_not_five_missing_columns() {
    let (_, problems) =
        parse_files(&[("roles.csv", "id;name;rank\nsenior;Senior;3\n".to_string())]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .to_string()
            .starts_with("roles.csv:1: header: the file looks semicolon-separated"),
        "{}",
        problems[0]
    );
}

#[test]
fn an_unknown_column_is_a_warning_with_the_closest_known_one() {
    let people = "id,name,role,weekly_hours,slack_id,shoe_size\n".to_string();
    let (parsed, _) = parse_files(&[("people.csv", people)]);
    assert_eq!(
        parsed.warnings,
        [
            "people.csv: column 'slack_id' ignored; did you mean slack_user_id?",
            "people.csv: column 'shoe_size' ignored"
        ]
    );
}

#[test]
fn an_unknown_file_is_refused_with_the_file_meant() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roles.csv"), "id,name,rank\nsenior,Senior,3\n").unwrap();
    std::fs::write(dir.path().join("Allocations.csv"), "person,project,start,end,hours_per_week\n")
        .unwrap();
    std::fs::write(dir.path().join("timeoff.csv"), "person,start,end\n").unwrap();
    let (_, problems) = parse_dir(dir.path()).unwrap();
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "Allocations.csv: unknown file; did you mean allocations.csv?",
            "timeoff.csv: unknown file; did you mean time_off.csv?"
        ]
    );
}

#[test]
fn history_carries_its_seller_deal_and_the_staffing_sold_and_delivered() {
    let files = [
        ("roles.csv", "id,name,rank\nsenior,Senior,3\nanalyst,Analyst,1\n".to_string()),
        ("packages.csv", "id,name,duration_weeks\ncrm,CRM,8\n".to_string()),
        (
            "history.csv",
            "id,package,start,end,effort_hours,planned_end,seller,deal,sold_roles,staffed_roles\n\
             h1,crm,2025-01-06,2025-03-28,900,2025-03-14,U1,acme,senior:1;analyst:2,analyst:3\n\
             h2,crm,2025-01-06,2025-03-28,900,2024-12-31,,,senior:0,wizard:1\n"
                .to_string(),
        ),
    ];
    let (parsed, read) = parse_files(&files);
    let problems = check(&parsed, read, &KnownIds::default());
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(shown.iter().any(|p| p.starts_with("history.csv:3: planned_end:")), "{shown:?}");
    assert!(
        shown
            .iter()
            .any(|p| p.starts_with("history.csv:3: sold_roles:") && p.contains("at least 1")),
        "{shown:?}"
    );
    let h1 = parsed.data.history.iter().find(|h| h.id == "h1").unwrap();
    assert_eq!((h1.seller.as_deref(), h1.deal.as_deref()), (Some("U1"), Some("acme")));
    assert_eq!(
        h1.sold_roles,
        Some(vec![
            RoleCount { role: "senior".into(), count: 1 },
            RoleCount { role: "analyst".into(), count: 2 }
        ])
    );
    assert_eq!(role_counts_text(h1.staffed_roles.as_deref().unwrap()), "analyst:3");
}

#[test]
fn staffing_in_history_names_known_roles() {
    let files = [
        ("roles.csv", "id,name,rank\nsenior,Senior,3\n".to_string()),
        ("packages.csv", "id,name,duration_weeks\ncrm,CRM,8\n".to_string()),
        ("history.csv", "id,package,start,end,effort_hours,staffed_roles\nh1,crm,2025-01-06,2025-03-28,900,wizard:1\n".to_string()),
    ];
    let (parsed, _) = parse_files(&files);
    let shown: Vec<String> =
        check(&parsed, Vec::new(), &KnownIds::default()).iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["history.csv:2: staffed_roles: unknown role 'wizard'"]);
}
