use proptest::prelude::*;

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn pending() -> Approval {
    Approval {
        id: "A1".into(),
        deal_id: None,
        package: "crm-rollout".into(),
        requester: "U1".into(),
        channel: "C1".into(),
        requested_date: "2027-03-01".parse().unwrap(),
        start_date: None,
        evidence: Evidence::Deadline(DeadlineEvidence {
            n: 3,
            p10_days: None,
            p50_days: None,
            p90_days: None,
            requested_days: Some(30),
            share_within: 0.0,
            effort: None,
            start: None,
        }),
        state: ApprovalState::Pending,
        decided_by: None,
        decided_at: None,
        reason: None,
        message_id: None,
        created_at: at("2027-01-01T10:00:00Z"),
        remind_at: None,
        escalate_at: None,
        expires_at: at("2027-01-04T10:00:00Z"),
        offer_id: None,
    }
}

fn approvers() -> Membership {
    Membership::new(&["U2".into(), "U3".into()], Some("S-LEAD"))
}

fn as_user(user: &str) -> Decider<'_> {
    Decider { user, groups: &[] }
}

const NOW: &str = "2027-01-02T09:00:00Z";

#[test]
fn an_approver_may_decide_someone_elses_request() {
    assert_eq!(
        check_decision(
            &pending(),
            as_user("U2"),
            &approvers(),
            &ApprovalDecision::Approve,
            at(NOW)
        ),
        Ok(())
    );
}

#[test]
fn a_member_of_the_approver_group_may_decide() {
    let groups = vec!["S-LEAD".to_string()];
    let decider = Decider { user: "U9", groups: &groups };
    assert_eq!(
        check_decision(&pending(), decider, &approvers(), &ApprovalDecision::Approve, at(NOW)),
        Ok(())
    );
}

#[test]
fn deny_by_default() {
    let refusal = check_decision(
        &pending(),
        as_user("U9"),
        &Membership::default(),
        &ApprovalDecision::Approve,
        at(NOW),
    );
    assert_eq!(refusal, Err(DecisionRefusal::NotAuthorised));
}

#[test]
fn no_self_approval() {
    let mut own = approvers();
    own.users.push("U1".into());
    assert_eq!(
        check_decision(&pending(), as_user("U1"), &own, &ApprovalDecision::Approve, at(NOW)),
        Err(DecisionRefusal::OwnRequest)
    );
}

#[test]
fn a_rejection_needs_a_reason() {
    let reject = ApprovalDecision::Reject { reason: "  ".into() };
    assert_eq!(
        check_decision(&pending(), as_user("U2"), &approvers(), &reject, at(NOW)),
        Err(DecisionRefusal::ReasonMissing)
    );
}

#[test]
fn a_decided_request_stays_decided() {
    let decided = Approval {
        state: ApprovalState::Approved,
        decided_by: Some("U3".into()),
        decided_at: Some(at("2027-01-02T08:00:00Z")),
        ..pending()
    };
    let refusal =
        check_decision(&decided, as_user("U2"), &approvers(), &ApprovalDecision::Approve, at(NOW))
            .unwrap_err();
    assert!(refusal.to_string().contains("U3"), "{refusal}");
}

#[test]
fn a_request_past_its_expiry_cannot_be_decided_before_the_sweep_runs() {
    let late = at("2027-01-04T10:00:00Z");
    let refusal =
        check_decision(&pending(), as_user("U2"), &approvers(), &ApprovalDecision::Approve, late)
            .unwrap_err();
    assert!(matches!(refusal, DecisionRefusal::Expired { .. }), "{refusal}");
}

#[test]
fn the_timers_follow_the_request() {
    let timers = ApprovalTimers { reminder_hours: 4, escalation_hours: 24, expiry_hours: 72 };
    let schedule = timers.schedule(at("2027-01-01T10:00:00Z"));
    assert_eq!(schedule.remind_at, at("2027-01-01T14:00:00Z"));
    assert_eq!(schedule.escalate_at, at("2027-01-02T10:00:00Z"));
    assert_eq!(schedule.expires_at, at("2027-01-04T10:00:00Z"));
}

#[test]
fn states_read_back_as_they_are_written() {
    for state in ApprovalState::ALL {
        assert_eq!(state.as_str().parse::<ApprovalState>(), Ok(*state));
    }
    assert!("pendnig".parse::<ApprovalState>().is_err());
}

proptest! {
    /// Whatever the sequence of clicks, a request is decided at most once: once a decision is
    /// allowed and applied, every later click is refused.
    #[test]
    fn an_approval_is_decided_at_most_once(clicks in proptest::collection::vec((0usize..4, any::<bool>()), 1..12)) {
        let users = ["U1", "U2", "U3", "U9"];
        let mut approval = pending();
        let mut decisions = 0;
        for (who, approve) in clicks {
            let decision = if approve { ApprovalDecision::Approve } else { ApprovalDecision::Reject { reason: "too short".into() } };
            if check_decision(&approval, as_user(users[who]), &approvers(), &decision, at(NOW)).is_ok() {
                approval.state = decision.resulting_state();
                approval.decided_by = Some(users[who].into());
                approval.decided_at = Some(at(NOW));
                decisions += 1;
            }
        }
        prop_assert!(decisions <= 1);
    }
}
