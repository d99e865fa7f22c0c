//! The backtest as the app serves it (SPEC 4.7): the whole firm's for `keepable backtest`, and
//! the asked package's line in `/comparables`, kept in memory while the history and the day are
//! unchanged, so a question does not replay the package's history again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::answers::BacktestLine;
use super::error::{AppError, UserError};
use super::App;
use crate::domain::backtest::{
    backtest, backtest_package, default_from, window_start, Backtest, Tally, ENOUGH_TESTED,
};
use crate::domain::firm::HistoryRow;

/// Each package's last backtest, with the history it replayed and the day it was computed for.
#[derive(Default)]
pub(crate) struct BacktestCache {
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    /// The store's copy of the package's history: a new import gives a new one.
    rows: Arc<Vec<HistoryRow>>,
    today: NaiveDate,
    tally: Tally,
}

impl App {
    /// SPEC 4.7 over the whole firm: the projects started on or after `from` (by default two
    /// years before today) and finished by today.
    pub async fn backtest(&self, from: Option<NaiveDate>) -> Result<Backtest, AppError> {
        let today = self.today();
        let from = window_start(from, today).map_err(UserError::from)?;
        let history = self.store.history_by_package().await?;
        Ok(backtest(history.values().flat_map(|rows| rows.iter()), from, today))
    }

    /// What `package`'s percentiles have been worth over the last two years.
    pub(crate) async fn backtest_line(&self, package: &str) -> Result<BacktestLine, AppError> {
        let rows = self.store.history(package).await?;
        let today = self.today();
        let from = default_from(today);
        let tally = match self.cached_backtest(package, &rows, today) {
            Some(tally) => tally,
            None => {
                let tally = backtest_package(rows.iter(), from, today);
                let mut entries = self.backtests.entries.lock().unwrap_or_else(|e| e.into_inner());
                entries.insert(package.to_string(), Cached { rows, today, tally });
                tally
            }
        };
        Ok(BacktestLine {
            from,
            summary: tally.summary(),
            enough_tested: tally.tested >= ENOUGH_TESTED,
            p80_hits: tally.p80_hits,
        })
    }

    fn cached_backtest(
        &self,
        package: &str,
        rows: &Arc<Vec<HistoryRow>>,
        today: NaiveDate,
    ) -> Option<Tally> {
        let entries = self.backtests.entries.lock().unwrap_or_else(|e| e.into_inner());
        let cached = entries.get(package)?;
        (Arc::ptr_eq(&cached.rows, rows) && cached.today == today).then_some(cached.tally)
    }
}
