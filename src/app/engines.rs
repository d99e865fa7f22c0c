//! The answer engines as commands: load what the rule needs, apply the pure rule, word the reply.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::command::{RoleSpec, StartTarget};
use super::error::{AppError, UserError};
use super::reply::{Action, Reply};
use super::{resolve_package, Actor, App};
use crate::domain::calendar::{first_candidate, Calendar};
use crate::domain::capacity::{earliest_start, Pattern, Requirement, Window};
use crate::domain::comparables::{comparables, deadline_verdict, nearest};
use crate::domain::firm::{Package, Role};
use crate::domain::library::Verdict;

/// An earliest-start answer with what produced it, for replies, holds and approvals.
pub(crate) struct StartAnswer {
    pub package: Option<Package>,
    pub pattern: Pattern,
    pub window: Window,
    pub result: crate::domain::capacity::EarliestStart,
}

impl App {
    async fn package(&self, given: &str) -> Result<Package, AppError> {
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

    fn ad_hoc_pattern(&self, roles: &[Role], specs: &[RoleSpec], weeks: i64) -> Result<Pattern, UserError> {
        let mut requirements = Vec::new();
        for spec in specs {
            let role = roles.iter().find(|r| r.id.eq_ignore_ascii_case(&spec.role) || r.name.eq_ignore_ascii_case(&spec.role)).ok_or_else(
                || UserError::UnknownRole {
                    given: spec.role.clone(),
                    known: roles.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", "),
                },
            )?;
            requirements.push(Requirement { role: role.id.clone(), count: spec.count, hours_per_week: spec.hours_per_week });
        }
        Ok(Pattern { requirements, weeks })
    }

    /// SPEC 4.2 for a package or an ad-hoc pattern.
    pub(crate) async fn compute_start(&self, target: &StartTarget, not_before: Option<NaiveDate>) -> Result<StartAnswer, AppError> {
        let (package, pattern) = match target {
            StartTarget::Package(given) => {
                let package = self.package(given).await?;
                let pattern = self.package_pattern(&package).await?;
                (Some(package), pattern)
            }
            StartTarget::Pattern { roles, weeks } => {
                let known = self.store.roles().await?;
                (None, self.ad_hoc_pattern(&known, roles, *weeks)?)
            }
        };
        let window = Window { first: first_candidate(self.clock.today(), not_before), horizon: self.settings.horizon_weeks };
        let capacity = self.store.capacity().await?;
        let result = earliest_start(&pattern, &capacity.people, &Calendar::new(capacity.holidays.iter().copied()), window);
        Ok(StartAnswer { package, pattern, window, result })
    }

    pub(super) async fn earliest_start(
        &self,
        actor: &Actor,
        target: StartTarget,
        not_before: Option<NaiveDate>,
    ) -> Result<Reply, AppError> {
        let answer = self.compute_start(&target, not_before).await?;
        let roles = self.store.roles().await?;
        let role_name = |id: &str| roles.iter().find(|r| r.id == id).map(|r| r.name.clone()).unwrap_or_else(|| id.to_string());
        let result = &answer.result;
        let role_rows: Vec<Value> = answer
            .pattern
            .requirements
            .iter()
            .zip(&result.per_requirement)
            .map(|(r, start)| {
                json!({
                    "role": r.role, "role_name": role_name(&r.role), "count": r.count,
                    "hours_per_week": r.hours_per_week.as_f64(), "earliest_start": start,
                })
            })
            .collect();
        // The phased view: group roles by their own first start, when they differ.
        let mut phased: Vec<(NaiveDate, Vec<String>)> = Vec::new();
        for (r, start) in answer.pattern.requirements.iter().zip(&result.per_requirement) {
            if let Some(start) = start {
                let label = if r.count > 1 { format!("{} × {}", r.count, role_name(&r.role)) } else { role_name(&r.role) };
                match phased.iter_mut().find(|(d, _)| d == start) {
                    Some((_, labels)) => labels.push(label),
                    None => phased.push((*start, vec![label])),
                }
            }
        }
        phased.sort();
        let phased: Vec<Value> = if phased.len() > 1 {
            phased.iter().map(|(date, labels)| json!({"date": date, "roles": labels.join(" and ")})).collect()
        } else {
            Vec::new()
        };
        let subject = match &answer.package {
            Some(p) => p.name.clone(),
            None => "This team".to_string(),
        };
        let context = json!({
            "subject": subject, "earliest_start": result.earliest_start,
            "earliest_start_ignoring_tentative": result.earliest_start_ignoring_tentative,
            "weeks": answer.pattern.weeks, "roles": role_rows, "phased": phased,
            "horizon": answer.window.horizon, "not_before": not_before, "today": self.clock.today(),
        });
        let mut reply = self
            .reply("earliest_start", "earliest_start", context)?
            .set("package", answer.package.as_ref().map(|p| p.id.clone()))
            .set("weeks", answer.pattern.weeks)
            .set("earliest_start", result.earliest_start)
            .set("earliest_start_ignoring_tentative", result.earliest_start_ignoring_tentative)
            .set("roles", &role_rows);
        if let Some(start) = result.earliest_start {
            let offer = json!({
                "package": answer.package.as_ref().map(|p| p.id.clone()),
                "start": start, "weeks": answer.pattern.weeks,
                "roles": answer.pattern.requirements.iter().map(|r| json!({"role": r.role, "role_name": role_name(&r.role), "count": r.count, "hours_per_week": r.hours_per_week.as_f64()})).collect::<Vec<_>>(),
                "ignoring_tentative": result.earliest_start_ignoring_tentative,
                "computed_at": self.clock.today(),
            });
            let id = self.offer(actor, "start", &offer).await?;
            reply.actions.push(Action::new(format!("commit_start:{id}"), "Commit this start").primary());
            reply.actions.push(Action::new(format!("hold:{id}"), "Hold this capacity"));
            if answer.package.is_some() {
                reply.actions.push(Action::new(format!("request_early_start:{id}"), "Ask for an earlier start"));
            }
        }
        Ok(reply)
    }

    pub(super) async fn staffing(&self, given: &str) -> Result<Reply, AppError> {
        let package = self.package(given).await?;
        let pattern = self.package_pattern(&package).await?;
        let roles = self.store.roles().await?;
        let rows: Vec<Value> = pattern
            .requirements
            .iter()
            .map(|r| {
                let role = roles.iter().find(|x| x.id == r.role);
                json!({
                    "role": r.role, "count": r.count, "hours_per_week": r.hours_per_week.as_f64(),
                    "role_name": role.map(|x| x.name.clone()).unwrap_or_else(|| r.role.clone()),
                    "description": role.map(|x| x.description.clone()).unwrap_or_default(),
                })
            })
            .collect();
        let context = json!({"package_name": package.name, "weeks": pattern.weeks, "roles": rows});
        Ok(self.reply("staffing", "staffing", context)?.set("package", &package.id).set("weeks", pattern.weeks).set("roles", rows))
    }

    pub(super) async fn comparables(
        &self,
        actor: &Actor,
        given: &str,
        effort: Option<f64>,
        deadline: Option<NaiveDate>,
        start: Option<NaiveDate>,
    ) -> Result<Reply, AppError> {
        let package = self.package(given).await?;
        let history = self.store.history(&package.id).await?;
        let today = self.clock.today();
        let set = comparables(&history, today, effort);
        let n = set.rows.len();
        let near: Vec<Value> = nearest(&set, effort, 3)
            .into_iter()
            .map(|row| json!({"id": row.id, "client": row.client, "weeks": ((row.duration_days() as f64) / 7.0 * 10.0).round() / 10.0, "effort_hours": row.effort_hours, "end": row.end}))
            .collect();
        let mut context = json!({
            "package_name": package.name, "n": n, "effort": effort, "effort_filter_applied": set.effort_filter_applied,
            "p10_days": set.p10_days, "p50_days": set.p50_days, "p90_days": set.p90_days, "nearest": near, "today": today,
        });
        let mut verdict_json = None;
        if let Some(deadline) = deadline {
            let start = match start {
                Some(start) => Some(start),
                None => self.compute_start(&StartTarget::Package(package.id.clone()), None).await?.result.earliest_start,
            };
            let verdict = deadline_verdict(&set, start, deadline);
            let value = json!({
                "start": verdict.start, "requested_days": verdict.requested_days,
                "share_within": verdict.share_within, "approval_required": verdict.approval_required,
            });
            context["deadline"] = value.clone();
            context["deadline_date"] = json!(deadline);
            context["requested_weeks"] =
                json!(verdict.requested_days.map(|d| format!("{:.1}", d as f64 / 7.0).trim_end_matches(".0").to_string()));
            verdict_json = Some((value, verdict, deadline));
        }
        let mut reply = self
            .reply("comparables", "comparables", context)?
            .set("package", &package.id)
            .set("n", n)
            .set("effort_filter_applied", set.effort_filter_applied)
            .set("p10_days", set.p10_days)
            .set("p50_days", set.p50_days)
            .set("p90_days", set.p90_days)
            .set("nearest", &near);
        if let Some((value, verdict, deadline)) = verdict_json {
            reply = reply.set("deadline", &value);
            let offer = json!({
                "package": package.id, "deadline": deadline, "start": verdict.start,
                "requested_days": verdict.requested_days, "share_within": verdict.share_within,
                "approval_required": verdict.approval_required, "n": n,
                "p10_days": set.p10_days, "p50_days": set.p50_days, "p90_days": set.p90_days,
                "effort": effort, "computed_at": today,
            });
            let id = self.offer(actor, "deadline", &offer).await?;
            if verdict.approval_required {
                reply.actions.push(Action::new(format!("request_approval:{id}"), "Request approval").primary());
            } else {
                reply.actions.push(Action::new(format!("commit_deadline:{id}"), "Commit this deadline").primary());
            }
        }
        Ok(reply)
    }

    pub(super) async fn included(&self, actor: &Actor, item: &str, package: Option<&str>) -> Result<Reply, AppError> {
        let package = match package {
            Some(given) => Some(self.package(given).await?),
            None => None,
        };
        let package_id = package.as_ref().map(|p| p.id.as_str());
        let library = self.store.library().await?;
        let mut context = json!({"query": item, "package_name": package.as_ref().map(|p| p.name.clone())});
        let Some(deliverable) = library.find_exact(item) else {
            let suggestions: Vec<String> = library.suggestions(item, 3).iter().map(|d| d.name.clone()).collect();
            context["verdict"] = json!("not_in_library");
            context["suggestions"] = json!(suggestions);
            let id = self.offer(actor, "ticket", &json!({"description": item, "package": package_id})).await?;
            let mut reply = self
                .reply("inclusion", "inclusion", context)?
                .set("verdict", Verdict::NotInLibrary)
                .set("deliverable", Value::Null)
                .set("price", Value::Null)
                .set("effort_hours", Value::Null)
                .set("depends_on", Vec::<Value>::new())
                .set("suggestions", suggestions);
            reply.actions.push(Action::new(format!("open_ticket:{id}"), "Open a scoping ticket").primary());
            return Ok(reply);
        };
        let verdict = library.verdict(deliverable, package_id);
        let dependencies = library.dependencies(deliverable, package_id);
        context["verdict"] = json!(verdict);
        context["name"] = json!(deliverable.name);
        context["description"] = json!(deliverable.description);
        context["price"] = json!(deliverable.price);
        context["effort_hours"] = json!(deliverable.effort_hours);
        context["dependencies"] = json!(dependencies);
        let depends_on: Vec<Value> = dependencies
            .iter()
            .map(|d| json!({"deliverable": d.deliverable, "verdict": d.verdict, "price": d.price, "effort_hours": d.effort_hours}))
            .collect();
        let offer = json!({
            "deliverable": deliverable.id, "name": deliverable.name, "verdict": verdict, "package": package_id,
            "price": deliverable.price, "effort_hours": deliverable.effort_hours, "separately_priced": verdict.separately_priced(),
            "depends_on": depends_on,
        });
        let id = self.offer(actor, "scope", &offer).await?;
        let mut reply = self
            .reply("inclusion", "inclusion", context)?
            .set("verdict", verdict)
            .set("deliverable", &deliverable.id)
            .set("name", &deliverable.name)
            .set("package", package_id)
            .set("price", deliverable.price)
            .set("effort_hours", deliverable.effort_hours)
            .set("separately_priced", verdict.separately_priced())
            .set("depends_on", depends_on);
        reply.actions.push(Action::new(format!("add_scope:{id}"), "Add to deal scope").primary());
        Ok(reply)
    }
}
