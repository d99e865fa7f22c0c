//! The answer engines as commands: load what the rule needs, apply the pure rule, word the reply.

use std::sync::Arc;

use crate::domain::deal::Deal;
use chrono::NaiveDate;

use super::action::Action;
use super::answers::{
    ComparablesAnswer, DatedFinish, DeadlineAnswer, Dependency, EarliestStartAnswer,
    InclusionAnswer, NearestProject, Phase, RoleStart, StaffedRole, StaffingAnswer,
};
use super::command::{RoleSpec, StartTarget};
use super::error::{AppError, UserError};
use super::reply::{Button, Reply};
use super::{resolve_package, Actor, App};
use crate::domain::calendar::first_candidate;
use crate::domain::capacity::{shortfalls, Shortfall};
use crate::domain::capacity::{Pattern, Requirement, Window};
use crate::domain::comparables::{comparables, deadline_verdict, finish_by, nearest, Comparables};
use crate::domain::firm::{Package, Role};
use crate::domain::library::Verdict;
use crate::domain::offer::{
    DeadlineOffer, OfferKind, OfferTerms, OfferedDependency, OfferedRole, ScopeOffer, StartOffer,
    SuggestionOffer, TicketOffer,
};

/// An earliest-start answer with what produced it, for replies, holds and approvals.
pub(crate) struct StartAnswer {
    pub package: Option<Arc<Package>>,
    pub pattern: Pattern,
    pub window: Window,
    pub result: crate::domain::capacity::EarliestStart,
}

impl App {
    /// The package `given` names, shared with the catalogue.
    pub(crate) async fn package(&self, given: &str) -> Result<Arc<Package>, AppError> {
        let packages = self.store.packages().await?;
        Ok(resolve_package(&packages, given)?.clone())
    }

    pub(crate) async fn package_pattern(&self, package: &Package) -> Result<Pattern, AppError> {
        let requirements = self
            .store
            .package_roles(&package.id)
            .await?
            .into_iter()
            .map(|r| Requirement { role: r.role, count: r.count, hours_per_week: r.hours_per_week })
            .collect();
        Ok(Pattern { requirements, weeks: package.duration_weeks })
    }

    fn ad_hoc_pattern(
        &self,
        roles: &[Role],
        specs: &[RoleSpec],
        weeks: i64,
    ) -> Result<Pattern, UserError> {
        let mut requirements = Vec::new();
        for spec in specs {
            let role = roles
                .iter()
                .find(|r| {
                    r.id.eq_ignore_ascii_case(&spec.role) || r.name.eq_ignore_ascii_case(&spec.role)
                })
                .ok_or_else(|| UserError::UnknownRole {
                    given: spec.role.clone(),
                    known: roles.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", "),
                })?;
            if requirements.iter().any(|r: &Requirement| r.role == role.id) {
                return Err(UserError::Syntax {
                    message: format!(
                        "'{}' and another entry are both the role {}: give each role once",
                        crate::app::text::user(&spec.role),
                        role.id
                    ),
                    syntax: crate::app::command::syntax_of("earliest-start"),
                });
            }
            requirements.push(Requirement {
                role: role.id.clone(),
                count: spec.count,
                hours_per_week: spec.hours_per_week,
            });
        }
        Ok(Pattern { requirements, weeks })
    }

    /// SPEC 4.2 for a package or an ad-hoc pattern.
    pub(crate) async fn compute_start(
        &self,
        target: &StartTarget,
        not_before: Option<NaiveDate>,
    ) -> Result<StartAnswer, AppError> {
        let (package, pattern) = match target {
            StartTarget::Package(given) => {
                let package = self.package(given).await?;
                let pattern = self.package_pattern(&package).await?;
                (Some(package), pattern)
            }
            StartTarget::Pattern { roles, weeks } => {
                let known = self.store.offered_roles().await?;
                (None, self.ad_hoc_pattern(&known, roles, *weeks)?)
            }
        };
        let window = Window {
            first: first_candidate(self.today(), not_before),
            horizon: self.settings.horizon_weeks,
        };
        let capacity = self.store.capacity().await?;
        // Everyone's weeks from the first candidate of a question without `not-before`, for the
        // horizon and a year of pattern; a window outside them (a far `not-before`, a pattern
        // longer than a year) is computed from the bookings.
        let result = capacity.earliest_start(
            &pattern,
            window,
            first_candidate(self.today(), None),
            self.settings.horizon_weeks + PATTERN_WEEKS_KEPT,
        );
        Ok(StartAnswer { package, pattern, window, result })
    }

    pub(super) async fn earliest_start(
        &self,
        actor: &Actor,
        target: StartTarget,
        not_before: Option<NaiveDate>,
        deal: Option<&str>,
    ) -> Result<Reply, AppError> {
        let on = self.answer_deal(actor, deal).await?;
        let computed = self.compute_start(&target, not_before).await?;
        let roles = self.store.roles().await?;
        let role_name = |id: &str| {
            roles
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let result = &computed.result;
        let requirements = &computed.pattern.requirements;
        let answer = EarliestStartAnswer {
            package: computed.package.as_ref().map(|p| p.id.clone()),
            weeks: computed.pattern.weeks,
            earliest_start: result.earliest_start,
            earliest_start_ignoring_tentative: result.earliest_start_ignoring_tentative,
            roles: requirements
                .iter()
                .zip(&result.per_requirement)
                .map(|(r, start)| RoleStart {
                    role: r.role.clone(),
                    role_name: role_name(&r.role),
                    count: r.count,
                    hours_per_week: r.hours_per_week.as_f64(),
                    earliest_start: *start,
                })
                .collect(),
            subject: computed
                .package
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "This team".into()),
            phased: phases(requirements, &result.per_requirement, &role_name),
            horizon: computed.window.horizon,
            not_before,
            today: self.today(),
            capacity: self.freshness().await?,
            why_not: Vec::new(),
        };
        let mut answer = answer;
        if answer.earliest_start.is_none() {
            answer.why_not = self.why_not(&computed, &role_name).await?;
        }
        let mut reply = self.answer("earliest_start", &answer)?;
        if let Some(terms) = start_offer(&answer) {
            let buttons = self.start_buttons(&mut reply, answer.package.is_some(), &on);
            self.offer_buttons(actor, terms, &on, &mut reply, buttons).await?;
        }
        Ok(reply)
    }

    /// Why no start was found, requirement by requirement.
    async fn why_not(
        &self,
        computed: &StartAnswer,
        role_name: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<String>, AppError> {
        let capacity = self.store.capacity().await?;
        let found = shortfalls(
            &computed.pattern,
            &capacity.people,
            &computed.result.per_requirement,
            computed.window.horizon,
        );
        Ok(found.iter().map(|s| explain_shortfall(s, role_name)).collect())
    }

    /// The buttons of an earliest-start answer: only those that can work here.
    fn start_buttons(&self, reply: &mut Reply, package: bool, on: &AnswerDeal) -> Vec<Offered> {
        let mut buttons = Vec::new();
        if on.deal.is_some() {
            buttons.push(Offered(Action::CommitStart, "Commit this start", true));
            buttons.push(Offered(Action::Hold, "Hold this capacity", false));
        }
        if package && self.exceptions_possible(reply) {
            buttons.push(Offered(Action::RequestEarlyStart, "Ask for an earlier start", false));
        }
        on.explain(reply, "commit or hold this start");
        buttons
    }

    pub(super) async fn staffing(&self, given: &str) -> Result<Reply, AppError> {
        let package = self.package(given).await?;
        let pattern = self.package_pattern(&package).await?;
        let roles = self.store.roles().await?;
        let answer = StaffingAnswer {
            package: package.id.clone(),
            package_name: package.name.clone(),
            weeks: pattern.weeks,
            roles: pattern
                .requirements
                .iter()
                .map(|r| {
                    let role = roles.iter().find(|x| x.id == r.role);
                    StaffedRole {
                        role: r.role.clone(),
                        role_name: role.map(|x| x.name.clone()).unwrap_or_else(|| r.role.clone()),
                        description: role.map(|x| x.description.clone()).unwrap_or_default(),
                        count: r.count,
                        hours_per_week: r.hours_per_week.as_f64(),
                    }
                })
                .collect(),
        };
        self.answer("staffing", &answer)
    }

    pub(super) async fn comparables(
        &self,
        actor: &Actor,
        given: &str,
        (effort, deadline, start): (Option<f64>, Option<NaiveDate>, Option<NaiveDate>),
        deal: Option<&str>,
    ) -> Result<Reply, AppError> {
        let on = self.answer_deal(actor, deal).await?;
        let package = self.package(given).await?;
        let (answer, made) = self.remembered_comparables(&package, effort, deadline, start).await?;
        // The reply (and its chart) of a remembered answer is made once, beside it.
        let plain = match made.plain.get() {
            Some(reply) => reply,
            None => {
                let mut reply = self.answer("comparables", &answer)?;
                reply.chart = super::charts::comparables_chart(&answer).map(Arc::new);
                made.plain.get_or_init(|| reply)
            }
        };
        let (Some(deadline), Some(verdict)) = (deadline, &answer.deadline) else {
            return Ok(plain.clone());
        };
        if verdict.start.is_some_and(|start| deadline < start) {
            // Before the start is an input error, never an approval request: no button.
            return Ok(plain.clone());
        }
        let approval_required = verdict.approval_required;
        if !approval_required && on.deal.is_none() {
            // No button to offer, only how to get one: the same words each time, made once.
            let explained = made.explained.get_or_init(|| {
                let mut reply = plain.clone();
                on.explain(&mut reply, "commit this deadline");
                reply
            });
            return Ok(explained.clone());
        }
        let mut reply = plain.clone();
        let terms = deadline_offer(&answer, deadline).ok_or(UserError::UnknownAction)?;
        let mut buttons = Vec::new();
        if approval_required {
            if self.exceptions_possible(&mut reply) {
                buttons.push(Offered(Action::RequestApproval, "Request approval", true));
            }
        } else {
            buttons.push(Offered(Action::CommitDeadline, "Commit this deadline", true));
        }
        self.offer_buttons(actor, terms, &on, &mut reply, buttons).await?;
        Ok(reply)
    }

    /// SPEC 4.4 for `package`, with the finish dates from `start` (or the package's earliest
    /// start) and, with a deadline, the rule's verdict from that start. A deadline in the past
    /// or before the start is an input error.
    pub(crate) async fn compute_comparables(
        &self,
        package: &Package,
        effort: Option<f64>,
        deadline: Option<NaiveDate>,
        start: Option<NaiveDate>,
    ) -> Result<ComparablesAnswer, AppError> {
        let (answer, _) = self.remembered_comparables(package, effort, deadline, start).await?;
        Ok(ComparablesAnswer::clone(&answer))
    }

    /// `compute_comparables`, with the place its reply is kept while the answer is remembered.
    async fn remembered_comparables(
        &self,
        package: &Package,
        effort: Option<f64>,
        deadline: Option<NaiveDate>,
        start: Option<NaiveDate>,
    ) -> Result<(Arc<ComparablesAnswer>, MadeReply), AppError> {
        let today = self.today();
        if let Some(deadline) = deadline.filter(|deadline| *deadline <= today) {
            return Err(UserError::DeadlineInThePast { deadline, today }.into());
        }
        let history = self.store.history(&package.id).await?;
        // Without a start given, the answer also depends on capacity (the earliest start), unless
        // there is neither a deadline nor any history to date.
        let capacity = match start {
            None if deadline.is_some() || !history.is_empty() => Some(self.store.capacity().await?),
            _ => None,
        };
        let question = ComparablesQuestion {
            package: package.id.clone(),
            effort: effort.map(f64::to_bits),
            deadline,
            start,
            today,
        };
        let catalogue: std::sync::Arc<dyn std::any::Any + Send + Sync> =
            self.store.catalogue().await?;
        let from = ComparablesFrom::of(&history, &catalogue, capacity.as_ref());
        if let Some(remembered) = self.comparables_answers.get(&question, &from) {
            return Ok(remembered);
        }
        let answer = Arc::new(
            self.compute_comparables_from(package, &history, effort, deadline, start).await?,
        );
        let made = MadeReply::default();
        self.comparables_answers.put(question, from, (answer.clone(), made.clone()));
        Ok((answer, made))
    }

    async fn compute_comparables_from(
        &self,
        package: &Package,
        history: &[crate::domain::firm::HistoryRow],
        effort: Option<f64>,
        deadline: Option<NaiveDate>,
        start: Option<NaiveDate>,
    ) -> Result<ComparablesAnswer, AppError> {
        let today = self.today();
        let set = comparables(history.iter(), today, effort);
        let start_used = match start {
            Some(start) => Some(start),
            // Nothing to date and no deadline to judge: no need to look for a start.
            None if deadline.is_none() && set.rows.is_empty() => None,
            None => {
                self.compute_start(&StartTarget::Package(package.id.clone()), None)
                    .await?
                    .result
                    .earliest_start
            }
        };
        let mut answer = ComparablesAnswer {
            package: package.id.clone(),
            package_name: package.name.clone(),
            n: set.rows.len(),
            effort,
            effort_filter_applied: set.effort_filter_applied,
            p10_days: set.p10_days,
            p50_days: set.p50_days,
            p80_days: set.p80_days,
            p90_days: set.p90_days,
            nearest: nearest(&set, effort, 3).into_iter().map(NearestProject::from).collect(),
            finish: dated_finish(&set, start_used, start.is_some()),
            backtest: self.backtest_line(&package.id).await?,
            deadline: None,
            deadline_date: deadline,
            requested_weeks: None,
            today,
            durations_days: set.rows.iter().map(|row| row.duration_days()).collect(),
        };
        if let Some(deadline) = deadline {
            let verdict = deadline_verdict(&set, start_used, deadline);
            answer.requested_weeks = verdict
                .requested_days
                .map(|d| format!("{:.1}", d as f64 / 7.0).trim_end_matches(".0").to_string());
            answer.deadline = Some(DeadlineAnswer {
                start: verdict.start,
                requested_days: verdict.requested_days,
                share_within: verdict.share_within,
                approval_required: verdict.approval_required,
            });
        }
        Ok(answer)
    }

    /// The offer behind "Request approval" of `deadline` for `package` counted from `start`.
    pub(crate) async fn deadline_terms(
        &self,
        package: &Package,
        deadline: NaiveDate,
        start: NaiveDate,
    ) -> Result<OfferTerms, AppError> {
        let answer = self.compute_comparables(package, None, Some(deadline), Some(start)).await?;
        Ok(deadline_offer(&answer, deadline).ok_or(UserError::UnknownAction)?)
    }

    pub(super) async fn included(
        &self,
        actor: &Actor,
        item: &str,
        package: Option<&str>,
        deal: Option<&str>,
    ) -> Result<Reply, AppError> {
        let on = self.answer_deal(actor, deal).await?;
        let (package, deal) = self.inclusion_package(&on, package).await?;
        let library = self.store.library().await?;
        let question = super::inclusions::Question {
            item,
            package: package.as_ref().map(|p| (p.id.as_str(), p.name.as_str())),
            deal: deal.as_ref().map(|d| d.name.as_str()),
            explained: on.deal.is_none(),
        };
        if let Some((answer, reply)) = self.inclusion_answers.get(&question, &library) {
            return self.inclusion_found(actor, &on, &answer, reply).await;
        }
        let package_id = package.as_ref().map(|p| p.id.clone());
        let mut answer = InclusionAnswer {
            verdict: Verdict::NotInLibrary,
            deliverable: None,
            name: None,
            description: None,
            package: package_id.clone(),
            package_name: package.as_ref().map(|p| p.name.clone()),
            price: None,
            effort_hours: None,
            separately_priced: None,
            depends_on: Vec::new(),
            query: item.to_string(),
            suggestions: Vec::new(),
            deal_name: deal.as_ref().map(|d| d.name.clone()),
        };
        let Some(deliverable) = library.find_exact(item) else {
            let suggested = library.suggestions(item, 3);
            answer.suggestions = suggested.iter().map(|d| d.name.clone()).collect();
            let mut reply = self.answer("inclusion", &answer)?;
            // Each near match is one press away from its own answer.
            for d in &suggested {
                let terms = OfferTerms::Suggestion(SuggestionOffer {
                    deliverable: d.id.clone(),
                    name: d.name.clone(),
                    package: package_id.clone(),
                });
                let id = self.offer_on(actor, terms, &on).await?;
                reply
                    .actions
                    .push(Button::new(Action::AnswerFor(id), format!("Answer for {}", d.name)));
            }
            let ticket = TicketOffer { description: item.to_string(), package: package_id };
            let id = self.offer_on(actor, OfferTerms::Ticket(ticket), &on).await?;
            reply
                .actions
                .push(Button::new(Action::OpenTicket(id), "Open a scoping ticket").primary());
            return Ok(reply);
        };
        let verdict = library.verdict(deliverable, package_id.as_deref());
        answer.verdict = verdict;
        answer.depends_on = library
            .dependencies(deliverable, package_id.as_deref())
            .into_iter()
            .map(|d| Dependency {
                deliverable: d.deliverable,
                name: d.name,
                verdict: d.verdict,
                price: d.price,
                effort_hours: d.effort_hours,
            })
            .collect();
        answer.deliverable = Some(deliverable.id.clone());
        answer.name = Some(deliverable.name.clone());
        answer.description = Some(deliverable.description.clone()).filter(|d| !d.is_empty());
        answer.price = Some(deliverable.price);
        answer.effort_hours = Some(deliverable.effort_hours);
        answer.separately_priced = Some(verdict.separately_priced());
        let mut reply = self.answer("inclusion", &answer)?;
        on.explain(&mut reply, ADD_SCOPE);
        let answer = Arc::new(answer);
        self.inclusion_answers.put(&question, &library, answer.clone(), &reply);
        self.inclusion_found(actor, &on, &answer, reply).await
    }

    /// The reply to an inclusion question whose deliverable the library holds (explained
    /// already where there is no deal), with "Add to deal scope" offered in a deal's channel.
    async fn inclusion_found(
        &self,
        actor: &Actor,
        on: &AnswerDeal,
        answer: &InclusionAnswer,
        mut reply: Reply,
    ) -> Result<Reply, AppError> {
        if on.deal.is_none() {
            return Ok(reply);
        }
        let terms = scope_offer(answer).ok_or(UserError::UnknownAction)?;
        let buttons = vec![Offered(Action::AddScope, "Add to deal scope", true)];
        self.offer_buttons(actor, terms, on, &mut reply, buttons).await?;
        Ok(reply)
    }
}

/// What an inclusion answer without a deal says it would take to add the item to one.
const ADD_SCOPE: &str = "add this to a deal's scope";

impl App {
    /// The package an inclusion question is about: the one given, or in a deal's channel the
    /// deal's (returned too, so the answer says so).
    async fn inclusion_package(
        &self,
        on: &AnswerDeal,
        given: Option<&str>,
    ) -> Result<(Option<Arc<Package>>, Option<Deal>), AppError> {
        if let Some(given) = given {
            return Ok((Some(self.package(given).await?), None));
        }
        match &on.deal {
            // A deal keeps the package it was sold on, even once an import has retired it.
            Some(deal) => {
                let package = self.store.package_by_id(&deal.package).await?.map(Arc::new);
                Ok((package, Some(deal.clone())))
            }
            None => Ok((None, None)),
        }
    }

    /// The press on a suggestion of a "not in the library" answer: the answer for it.
    pub(in crate::app) async fn answer_for_suggestion(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Reply, AppError> {
        let offer = self.owned_offer(actor, id, OfferKind::Suggestion).await?;
        let OfferTerms::Suggestion(terms) = &offer.terms else {
            return Err(UserError::UnknownAction.into());
        };
        let deal = offer.deal.clone();
        self.included(actor, &terms.name, terms.package.as_deref(), deal.as_deref()).await
    }

    /// The deal an answer's buttons act on: the one named (`deal=`), or the channel's.
    async fn answer_deal(
        &self,
        actor: &Actor,
        named: Option<&str>,
    ) -> Result<AnswerDeal, AppError> {
        Ok(match named {
            Some(given) => {
                let deal = self.find_deal(actor, Some(given)).await?;
                AnswerDeal { deal: Some(deal), named: true }
            }
            None => AnswerDeal {
                deal: self.store.deal_for_channel(&actor.channel).await?,
                named: false,
            },
        })
    }

    /// An offer for an answer's buttons, tied to the deal named with `deal=`.
    async fn offer_on(
        &self,
        actor: &Actor,
        terms: OfferTerms,
        on: &AnswerDeal,
    ) -> Result<String, AppError> {
        let deal = on.deal.as_ref().filter(|_| on.named).map(|d| d.id.clone());
        self.offer_for_deal(actor, terms, deal).await
    }

    /// Saves the offer behind `buttons` and adds them to the reply; an answer without buttons
    /// saves nothing, since nothing could ever act on it.
    async fn offer_buttons(
        &self,
        actor: &Actor,
        terms: OfferTerms,
        on: &AnswerDeal,
        reply: &mut Reply,
        buttons: Vec<Offered>,
    ) -> Result<(), AppError> {
        if buttons.is_empty() {
            return Ok(());
        }
        let id = self.offer_on(actor, terms, on).await?;
        for Offered(action, label, primary) in buttons {
            let button = Button::new(action(id.clone()), label);
            reply.actions.push(if primary { button.primary() } else { button });
        }
        Ok(())
    }

    /// Whether an exception can be asked for: not when nobody may approve one, and then the
    /// reply says so instead of offering a button that could only fail.
    fn exceptions_possible(&self, reply: &mut Reply) -> bool {
        if self.approvers().is_empty() {
            reply.context.push(NO_APPROVERS.into());
            return false;
        }
        true
    }
}

/// A comparables question, as its answer is remembered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ComparablesQuestion {
    package: String,
    /// The effort's bits: the same number asked again is the same question.
    effort: Option<u64>,
    deadline: Option<NaiveDate>,
    start: Option<NaiveDate>,
    today: NaiveDate,
}

/// The data an answer was worked out from: the package's history, the catalogue (the package
/// and its staffing pattern) and, without a start given, the capacity. Weak, so a remembered
/// answer never keeps old data in memory, and the same pointer can only be the same data.
#[derive(Clone)]
pub(crate) struct ComparablesFrom {
    history: std::sync::Weak<Vec<crate::domain::firm::HistoryRow>>,
    catalogue: std::sync::Weak<dyn std::any::Any + Send + Sync>,
    capacity: Option<std::sync::Weak<crate::store::Capacity>>,
}

impl ComparablesFrom {
    fn of(
        history: &std::sync::Arc<Vec<crate::domain::firm::HistoryRow>>,
        catalogue: &std::sync::Arc<dyn std::any::Any + Send + Sync>,
        capacity: Option<&std::sync::Arc<crate::store::Capacity>>,
    ) -> Self {
        ComparablesFrom {
            history: std::sync::Arc::downgrade(history),
            catalogue: std::sync::Arc::downgrade(catalogue),
            capacity: capacity.map(std::sync::Arc::downgrade),
        }
    }

    fn same(&self, other: &ComparablesFrom) -> bool {
        let capacity = match (&self.capacity, &other.capacity) {
            (Some(a), Some(b)) => a.ptr_eq(b),
            (None, None) => true,
            _ => false,
        };
        capacity
            && self.history.ptr_eq(&other.history)
            && self.catalogue.ptr_eq(&other.catalogue)
            && self.history.strong_count() > 0
    }
}

/// Comparables answers already worked out (SPEC 4.4 sorts every comparable of the package: at
/// 50,000 people, thousands per question), while their data are the data held.
#[derive(Default)]
pub(crate) struct ComparablesAnswers {
    kept: std::sync::Mutex<std::collections::HashMap<ComparablesQuestion, KeptComparables>>,
}

/// A remembered comparables answer: the data it came from, the answer, and its reply.
type KeptComparables = (ComparablesFrom, (Arc<ComparablesAnswer>, MadeReply));

/// The reply made from a remembered answer, once one is: a function of the answer alone.
pub(crate) type MadeReply = std::sync::Arc<MadeReplies>;

/// The replies of a remembered comparables answer, each made once beside it: as answered, and
/// with the words on committing its deadline that an answer outside a deal's channel adds.
#[derive(Debug, Default)]
pub(crate) struct MadeReplies {
    plain: std::sync::OnceLock<Reply>,
    explained: std::sync::OnceLock<Reply>,
}

/// How many comparables answers are remembered.
const COMPARABLES_KEPT: usize = 256;

impl ComparablesAnswers {
    fn get(
        &self,
        question: &ComparablesQuestion,
        from: &ComparablesFrom,
    ) -> Option<(Arc<ComparablesAnswer>, MadeReply)> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (was_from, answer) = kept.get(question)?;
        was_from.same(from).then(|| answer.clone())
    }

    fn put(
        &self,
        question: ComparablesQuestion,
        from: ComparablesFrom,
        answer: (Arc<ComparablesAnswer>, MadeReply),
    ) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= COMPARABLES_KEPT {
            kept.retain(|_, (was_from, _)| was_from.history.strong_count() > 0);
            if kept.len() >= COMPARABLES_KEPT {
                kept.clear();
            }
        }
        kept.insert(question, (from, answer));
    }
}

/// How many weeks of pattern the precomputed weeks cover beyond the horizon.
const PATTERN_WEEKS_KEPT: usize = 52;

/// Said where an exception would be requested while nobody can approve one.
pub(crate) const NO_APPROVERS: &str = "No approvers are configured, so no exception can be requested: set approvers (KEEPABLE_APPROVERS) or approver_group (KEEPABLE_APPROVER_GROUP).";

/// A button an offer would carry: its action on the offer's id, its label, whether primary.
struct Offered(fn(String) -> Action, &'static str, bool);

/// The deal an answer is about, and whether it was named (`deal=`) rather than the channel's.
pub(crate) struct AnswerDeal {
    deal: Option<Deal>,
    named: bool,
}

impl AnswerDeal {
    /// Without a deal, says how to get buttons that act on one.
    fn explain(&self, reply: &mut Reply, what: &str) {
        if self.deal.is_none() {
            reply.context.push(format!(
                "To {what}, ask in a deal's channel (/deal new <name> package=<package>, or /deal use <deal>), or add deal=<deal>."
            ));
        }
    }
}

/// A shortfall in words a seller can pass on.
fn explain_shortfall(shortfall: &Shortfall, role_name: &dyn Fn(&str) -> String) -> String {
    match shortfall {
        Shortfall::TooFewPeople { role, needed, available } => format!(
            "{needed} × {} needed, but the firm has {available} active {}",
            role_name(role),
            if *available == 1 { "person in that role" } else { "people in that role" }
        ),
        Shortfall::HoursAboveAnyonesWeek { role, needed, most } => format!(
            "{} at {} h/week is more than anyone in that role works (at most {} h/week)",
            role_name(role),
            needed.as_f64(),
            most.as_f64()
        ),
        Shortfall::NotFreeInTime { role, needed, horizon } => format!(
            "{needed} × {} are never free together within the next {horizon} weeks",
            role_name(role)
        ),
    }
}

/// When half and four in five of the comparables would finish from `start`, when both are known.
fn dated_finish(
    set: &Comparables<'_>,
    start: Option<NaiveDate>,
    start_given: bool,
) -> Option<DatedFinish> {
    let start = start?;
    Some(DatedFinish {
        start,
        start_given,
        p50_finish: finish_by(start, set.p50_days?),
        p80_finish: finish_by(start, set.p80_days?),
    })
}

/// What the buttons on an earliest-start answer commit, when there is a start to commit.
fn start_offer(answer: &EarliestStartAnswer) -> Option<OfferTerms> {
    let roles = answer
        .roles
        .iter()
        .map(|r| OfferedRole {
            role: r.role.clone(),
            role_name: Some(r.role_name.clone()),
            count: r.count,
            hours_per_week: r.hours_per_week,
        })
        .collect();
    Some(OfferTerms::Start(StartOffer {
        package: answer.package.clone(),
        start: answer.earliest_start?,
        weeks: answer.weeks,
        roles,
        ignoring_tentative: answer.earliest_start_ignoring_tentative,
        computed_at: answer.today,
    }))
}

/// What the button on a comparables answer with a deadline commits (or asks approval for).
fn deadline_offer(answer: &ComparablesAnswer, deadline: NaiveDate) -> Option<OfferTerms> {
    let verdict = answer.deadline.as_ref()?;
    Some(OfferTerms::Deadline(DeadlineOffer {
        package: answer.package.clone(),
        deadline,
        start: verdict.start,
        requested_days: verdict.requested_days,
        share_within: verdict.share_within,
        approval_required: verdict.approval_required,
        n: answer.n,
        p10_days: answer.p10_days,
        p50_days: answer.p50_days,
        p90_days: answer.p90_days,
        effort: answer.effort,
        computed_at: answer.today,
    }))
}

/// What "Add to deal scope" on an inclusion answer commits, when a deliverable matched.
fn scope_offer(answer: &InclusionAnswer) -> Option<OfferTerms> {
    Some(OfferTerms::Scope(ScopeOffer {
        deliverable: answer.deliverable.clone()?,
        name: answer.name.clone()?,
        verdict: answer.verdict,
        package: answer.package.clone(),
        price: answer.price?,
        effort_hours: answer.effort_hours?,
        separately_priced: answer.verdict.separately_priced(),
        depends_on: answer
            .depends_on
            .iter()
            .map(|d| OfferedDependency {
                deliverable: d.deliverable.clone(),
                verdict: d.verdict,
                price: d.price,
                effort_hours: d.effort_hours,
            })
            .collect(),
    }))
}

/// Roles grouped by their own first start, when not every role can start on the same day.
fn phases(
    requirements: &[Requirement],
    starts: &[Option<NaiveDate>],
    role_name: &impl Fn(&str) -> String,
) -> Vec<Phase> {
    let mut phased: Vec<(NaiveDate, Vec<String>)> = Vec::new();
    for (r, start) in requirements.iter().zip(starts) {
        let Some(start) = start else { continue };
        let label = if r.count > 1 {
            format!("{} × {}", r.count, role_name(&r.role))
        } else {
            role_name(&r.role)
        };
        match phased.iter_mut().find(|(d, _)| d == start) {
            Some((_, labels)) => labels.push(label),
            None => phased.push((*start, vec![label])),
        }
    }
    phased.sort();
    if phased.len() < 2 {
        return Vec::new();
    }
    phased.into_iter().map(|(date, labels)| Phase { date, roles: labels.join(" and ") }).collect()
}

#[cfg(test)]
mod comparables_memo_tests {
    use super::*;
    use std::sync::Arc;

    fn catalogue() -> Arc<dyn std::any::Any + Send + Sync> {
        Arc::new(0u8)
    }

    #[test]
    fn an_answer_is_the_same_only_from_the_same_live_data() {
        let history = Arc::new(Vec::new());
        let catalogue = catalogue();
        let from = ComparablesFrom::of(&history, &catalogue, None);
        assert!(from.same(&ComparablesFrom::of(&history, &catalogue, None)));
        // Other history (an import), another catalogue, or capacity asked of one and not the
        // other: not the same data.
        let reloaded = Arc::new(Vec::new());
        assert!(!from.same(&ComparablesFrom::of(&reloaded, &catalogue, None)));
        assert!(!from.same(&ComparablesFrom::of(&history, &self::catalogue(), None)));
        let capacity = Arc::new(crate::store::Capacity::new(Vec::new(), Vec::new(), 1));
        assert!(!from.same(&ComparablesFrom::of(&history, &catalogue, Some(&capacity))));
        let with = ComparablesFrom::of(&history, &catalogue, Some(&capacity));
        let newer = Arc::new(crate::store::Capacity::new(Vec::new(), Vec::new(), 2));
        assert!(!with.same(&ComparablesFrom::of(&history, &catalogue, Some(&newer))));
        assert!(with.same(&ComparablesFrom::of(&history, &catalogue, Some(&capacity))));
    }
}
