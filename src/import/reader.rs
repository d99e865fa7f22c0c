//! One CSV file being read: the header checked for required columns, rows handed out with their
//! real line numbers, and cells parsed with every problem recorded against its line and column.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::ImportProblem;
use crate::domain::hours::Hours;

/// One CSV file being read, with its problems going to a shared list.
pub(super) struct Reader<'a> {
    file: &'static str,
    text: &'a str,
    /// The last byte offset whose line is known, and that line (the csv crate miscounts CRLF).
    counted: (usize, u64),
    records: csv::StringRecordsIntoIter<&'a [u8]>,
    header: HashMap<String, usize>,
    problems: &'a mut Vec<ImportProblem>,
    ok: bool,
}

/// One data row: looks up columns by name and records problems against its line.
pub(super) struct Row<'r, 'a> {
    reader: &'r mut Reader<'a>,
    record: csv::StringRecord,
    /// The line of the file the row starts on.
    pub(super) line: u64,
    /// False once any cell of the row had a problem.
    pub(super) valid: bool,
}

const REQUIRED: &[(&str, &[&str])] = &[
    ("roles.csv", &["id", "name", "rank"]),
    ("people.csv", &["id", "name", "role", "weekly_hours"]),
    ("allocations.csv", &["person", "project", "start", "end", "hours_per_week"]),
    ("time_off.csv", &["person", "start", "end"]),
    ("holidays.csv", &["date"]),
    ("packages.csv", &["id", "name", "duration_weeks"]),
    ("package_roles.csv", &["package", "role", "count", "hours_per_week"]),
    ("deliverables.csv", &["id", "name", "category", "effort_hours", "price"]),
    ("package_items.csv", &["package", "deliverable", "inclusion"]),
    ("history.csv", &["id", "package", "start", "end", "effort_hours"]),
];

/// Every column each file may have (SPEC 3, the optional columns included).
const KNOWN: &[(&str, &[&str])] = &[
    ("roles.csv", &["id", "name", "rank", "description"]),
    (
        "people.csv",
        &[
            "id",
            "name",
            "role",
            "weekly_hours",
            "active",
            "slack_user_id",
            "discord_user_id",
            "email",
        ],
    ),
    ("allocations.csv", &["id", "person", "project", "start", "end", "hours_per_week", "status"]),
    ("time_off.csv", &["id", "person", "start", "end"]),
    ("holidays.csv", &["date", "name"]),
    ("packages.csv", &["id", "name", "duration_weeks", "description"]),
    ("package_roles.csv", &["package", "role", "count", "hours_per_week"]),
    (
        "deliverables.csv",
        &[
            "id",
            "name",
            "aliases",
            "category",
            "effort_hours",
            "price",
            "depends_on",
            "description",
        ],
    ),
    ("package_items.csv", &["package", "deliverable", "inclusion"]),
    (
        "history.csv",
        &[
            "id",
            "client",
            "package",
            "start",
            "end",
            "effort_hours",
            "planned_end",
            "sold_margin",
            "closed_margin",
            "change_orders",
            "seller",
            "deal",
            "sold_roles",
            "staffed_roles",
        ],
    ),
];

/// The columns of `header` that `file` does not know, each with the closest known one.
pub(super) fn unknown_columns(file: &str, header: &[String]) -> Vec<String> {
    let known = KNOWN.iter().find(|(f, _)| *f == file).map(|(_, c)| *c).unwrap_or(&[]);
    header
        .iter()
        .filter(|column| !column.is_empty() && !known.contains(&column.as_str()))
        .map(|column| match closest(column, known) {
            Some(guess) => format!("{file}: column '{column}' ignored; did you mean {guess}?"),
            None => format!("{file}: column '{column}' ignored"),
        })
        .collect()
}

/// The closest of `candidates` to `given`, when close enough to be what was meant.
pub(super) fn closest<'c>(given: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let squash = |s: &str| s.to_lowercase().replace(['_', '-', ' '], "");
    let given_squashed = squash(given);
    if let Some(same) = candidates.iter().find(|c| squash(c) == given_squashed) {
        return Some(same);
    }
    let given = given.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&given, c), *c))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A header that is one cell holding `;` or tabs: the file was saved with another separator.
fn other_separator(header: &[String]) -> Option<&'static str> {
    match header {
        [only] if only.contains(';') => Some("semicolon"),
        [only] if only.contains('\t') => Some("tab"),
        _ => None,
    }
}

fn required_columns(file: &str) -> &'static [&'static str] {
    REQUIRED.iter().find(|(f, _)| *f == file).map(|(_, c)| *c).unwrap_or(&[])
}

impl<'a> Reader<'a> {
    pub(super) fn new(
        file: &'static str,
        text: &'a str,
        problems: &'a mut Vec<ImportProblem>,
    ) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let names: Vec<String> = match csv.headers() {
            Ok(h) => h.iter().map(|name| name.trim().to_string()).collect(),
            Err(e) => {
                problems.push(ImportProblem {
                    file: file.into(),
                    line: 1,
                    column: "header".into(),
                    message: e.to_string(),
                });
                Vec::new()
            }
        };
        if let Some(separator) = other_separator(&names) {
            problems.push(ImportProblem {
                file: file.into(),
                line: 1,
                column: "header".into(),
                message: format!(
                    "the file looks {separator}-separated; save it as comma-separated CSV (in Excel: Save As → CSV UTF-8)"
                ),
            });
            let header = HashMap::new();
            return Reader {
                file,
                text,
                counted: (0, 1),
                records: csv.into_records(),
                header,
                problems,
                ok: false,
            };
        }
        let header: HashMap<String, usize> =
            names.iter().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        let mut ok = true;
        for column in required_columns(file) {
            if !header.contains_key(*column) {
                ok = false;
                problems.push(ImportProblem {
                    file: file.into(),
                    line: 1,
                    column: column.to_string(),
                    message: "missing required column".into(),
                });
            }
        }
        Reader { file, text, counted: (0, 1), records: csv.into_records(), header, problems, ok }
    }

    /// The 1-based line of the file that byte `offset` is on.
    pub(super) fn line_at(&mut self, offset: u64) -> u64 {
        // With CRLF endings the csv crate may report a record as starting on the `\n` that ends
        // the previous one: the record's line is that of its first byte after the terminator.
        let mut offset = (offset as usize).min(self.text.len());
        while matches!(self.text.as_bytes().get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        let (from, line) = if offset >= self.counted.0 { self.counted } else { (0, 1) };
        let more =
            self.text.as_bytes()[from..offset].iter().filter(|b| **b == b'\n').count() as u64;
        self.counted = (offset, line + more);
        line + more
    }

    pub(super) fn next_row(&mut self) -> Option<Row<'_, 'a>> {
        if !self.ok {
            return None;
        }
        loop {
            let result = self.records.next()?;
            match result {
                Ok(record) => {
                    if record.iter().all(|cell| cell.trim().is_empty()) {
                        continue;
                    }
                    let line = record.position().map(|p| self.line_at(p.byte())).unwrap_or(0);
                    return Some(Row { reader: self, record, line, valid: true });
                }
                Err(e) => {
                    let line = e.position().map(|p| self.line_at(p.byte())).unwrap_or(0);
                    self.problems.push(ImportProblem {
                        file: self.file.into(),
                        line,
                        column: "row".into(),
                        message: format!("unreadable CSV: {e}"),
                    });
                }
            }
        }
    }
}

impl Row<'_, '_> {
    pub(super) fn problem(&mut self, column: &str, message: impl Into<String>) {
        self.valid = false;
        self.reader.problems.push(ImportProblem {
            file: self.reader.file.into(),
            line: self.line,
            column: column.into(),
            message: message.into(),
        });
    }

    pub(super) fn cell(&self, column: &str) -> &str {
        self.reader
            .header
            .get(column)
            .and_then(|i| self.record.get(*i))
            .map(str::trim)
            .unwrap_or("")
    }

    pub(super) fn text(&mut self, column: &str) -> String {
        let value = self.cell(column).to_string();
        if value.is_empty() && required_columns(self.reader.file).contains(&column) {
            self.problem(column, "required value is empty");
        }
        value
    }

    pub(super) fn optional(&self, column: &str) -> Option<String> {
        Some(self.cell(column).to_string()).filter(|v| !v.is_empty())
    }

    pub(super) fn list(&self, column: &str) -> Vec<String> {
        self.cell(column)
            .split(';')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect()
    }

    pub(super) fn date(&mut self, column: &str) -> Option<NaiveDate> {
        let value = self.text(column);
        if value.is_empty() {
            return None;
        }
        let parsed = value.parse::<NaiveDate>().ok().filter(|_| value.len() == 10);
        if parsed.is_none() {
            self.problem(column, format!("bad date '{value}' (expected YYYY-MM-DD)"));
        }
        parsed
    }

    pub(super) fn optional_date(&mut self, column: &str) -> Option<NaiveDate> {
        self.optional(column)?;
        self.date(column)
    }

    pub(super) fn positive_hours(&mut self, column: &str) -> Option<Hours> {
        let value = self.text(column);
        if value.is_empty() {
            return None;
        }
        match Hours::parse(&value) {
            Some(h) if h > Hours::ZERO => Some(h),
            Some(_) => {
                self.problem(column, format!("hours must be positive, got '{value}'"));
                None
            }
            None => {
                self.problem(column, format!("bad number '{value}'"));
                None
            }
        }
    }

    pub(super) fn number(
        &mut self,
        column: &str,
        minimum: f64,
        strictly_above: bool,
    ) -> Option<f64> {
        let value = self.text(column);
        if value.is_empty() {
            return None;
        }
        match value.parse::<f64>() {
            Ok(n) if n.is_finite() && (n > minimum || (!strictly_above && n == minimum)) => Some(n),
            Ok(_) => {
                let bound = if strictly_above { "greater than" } else { "at least" };
                self.problem(column, format!("must be {bound} {minimum}, got '{value}'"));
                None
            }
            Err(_) => {
                self.problem(column, format!("bad number '{value}'"));
                None
            }
        }
    }

    pub(super) fn optional_number(&mut self, column: &str) -> Option<f64> {
        let value = self.optional(column)?;
        match value.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.problem(column, format!("bad number '{value}'"));
                None
            }
        }
    }

    pub(super) fn integer(&mut self, column: &str, minimum: i64) -> Option<i64> {
        let value = self.text(column);
        if value.is_empty() {
            return None;
        }
        match value.parse::<i64>() {
            Ok(n) if n >= minimum => Some(n),
            Ok(_) => {
                self.problem(column, format!("must be at least {minimum}, got '{value}'"));
                None
            }
            Err(_) => {
                self.problem(column, format!("bad integer '{value}'"));
                None
            }
        }
    }

    pub(super) fn optional_integer(&mut self, column: &str) -> Option<i64> {
        let value = self.optional(column)?;
        let parsed = value.parse::<i64>().ok();
        if parsed.is_none() {
            self.problem(column, format!("bad integer '{value}'"));
        }
        parsed
    }

    pub(super) fn boolean(&mut self, column: &str, default: bool) -> bool {
        match self.cell(column) {
            "" => default,
            "true" => true,
            "false" => false,
            other => {
                let message = format!("bad boolean '{other}' (expected true or false)");
                self.problem(column, message);
                default
            }
        }
    }

    pub(super) fn range(&mut self) -> Option<(NaiveDate, NaiveDate)> {
        let (start, end) = (self.date("start"), self.date("end"));
        let (start, end) = (start?, end?);
        if end < start {
            self.problem("end", format!("end {end} is before start {start}"));
            return None;
        }
        Some((start, end))
    }

    pub(super) fn choice<T>(
        &mut self,
        column: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Option<T> {
        let value = self.cell(column).to_string();
        let parsed = parse(&value);
        if parsed.is_none() {
            self.problem(column, format!("unknown {column} '{value}' (expected {allowed})"));
        }
        parsed
    }
}
