//! The comparison of a unit test's expected rows with a stage's output (see
//! [`super::unit_test`]): values converted to the output column's type and compared as the engine
//! prints them, floats to the decimals written, rows paired by a maximum matching, and the diff
//! lines `-` (expected, not produced) and `+` (produced, not expected).

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::unit_test::{no_column, typed};
use crate::model::unit_tests::{Row, UnitTest};

/// One compared value: null, a float (with the expected value's decimals), or engine text.
#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Null,
    Float(f64),
    Text(String),
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

/// The expected rows against `batches`: the difference lines, empty when equal.
pub(super) fn compare(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    test: &UnitTest,
) -> std::result::Result<Vec<String>, String> {
    let mut columns: Vec<String> = Vec::new();
    for row in &test.expect {
        for cell in &row.cells {
            if schema.field_with_name(&cell.column).is_err() {
                return Err(no_column(&cell.at, "the output", &cell.column, schema));
            }
            if !columns.contains(&cell.column) {
                columns.push(cell.column.clone());
            }
        }
    }
    if columns.is_empty() {
        // `expect: []` (no rows): rows produced are shown with every column.
        columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    }
    // Actual rows, as the compared columns' values.
    let options = FormatOptions::default().with_null("");
    let mut actual: Vec<Vec<Cmp>> = Vec::new();
    for b in batches {
        let arrays: Vec<&ArrayRef> = columns
            .iter()
            .map(|c| b.column(schema.index_of(c).unwrap_or(0)))
            .collect();
        let formatters = arrays
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for i in 0..b.num_rows() {
            actual.push(
                arrays
                    .iter()
                    .zip(&formatters)
                    .map(|(a, f)| {
                        if a.is_null(i) {
                            Cmp::Null
                        } else if is_float(a.data_type()) {
                            Cmp::Float(f.value(i).to_string().parse().unwrap_or(f64::NAN))
                        } else {
                            Cmp::Text(f.value(i).to_string())
                        }
                    })
                    .collect(),
            );
        }
    }
    // Expected rows: each named value converted to the column's type and printed the same way.
    let mut expected: Vec<Vec<(usize, Cmp, usize)>> = Vec::new();
    for row in &test.expect {
        let mut cells = Vec::new();
        for cell in &row.cells {
            let col = columns.iter().position(|c| c == &cell.column).unwrap_or(0);
            let field = schema
                .field_with_name(&cell.column)
                .map_err(|e| e.to_string())?;
            let value = match &cell.value {
                None => (Cmp::Null, 0),
                Some(text) if is_float(field.data_type()) => {
                    let v: f64 = text.trim().parse().map_err(|_| {
                        format!(
                            "{}: `{text}` is not a number (column `{}`)",
                            cell.at, cell.column
                        )
                    })?;
                    (Cmp::Float(v), decimals(text))
                }
                Some(text) => {
                    let arr = typed(
                        &[(Some(text), Some(&cell.at))],
                        field.data_type(),
                        &cell.column,
                        Some(chrono_tz::UTC),
                    )?;
                    let f = ArrayFormatter::try_new(arr.as_ref(), &options)
                        .map_err(|e| e.to_string())?;
                    (Cmp::Text(f.value(0).to_string()), 0)
                }
            };
            cells.push((col, value.0, value.1));
        }
        expected.push(cells);
    }
    let matches = |e: &[(usize, Cmp, usize)], a: &[Cmp]| {
        e.iter().all(|(col, want, digits)| match (want, &a[*col]) {
            (Cmp::Float(w), Cmp::Float(g)) => (g - w).abs() <= 0.5 * 10f64.powi(-(*digits as i32)),
            (w, g) => w == g,
        })
    };
    // Which output row each expected row takes: in order, or a maximum matching (an expected
    // row naming few columns must not take the row another one needs).
    let fits: Vec<Vec<usize>> = expected
        .iter()
        .map(|e| {
            (0..actual.len())
                .filter(|&i| matches(e, &actual[i]))
                .collect()
        })
        .collect();
    let pairs: Vec<Option<usize>> = if test.ordered {
        (0..expected.len())
            .map(|k| fits[k].contains(&k).then_some(k))
            .collect()
    } else {
        max_matching(&fits, actual.len())
    };
    let mut diff = Vec::new();
    let mut used = vec![false; actual.len()];
    for (k, found) in pairs.iter().enumerate() {
        match found {
            Some(i) => used[*i] = true,
            None => diff.push(format!(
                "- {}  ({})",
                show_expected(&test.expect[k]),
                test.expect[k].at
            )),
        }
    }
    if test.ordered && !diff.is_empty() {
        let any_order = max_matching(&fits, actual.len());
        if expected.len() == actual.len() && any_order.iter().all(Option::is_some) {
            let order: Vec<String> = any_order
                .iter()
                .map(|i| (i.unwrap_or(0) + 1).to_string())
                .collect();
            return Ok(vec![format!(
                "every expected row is produced, but in another order (`ordered: true`): the \
                 expected rows are output rows {} in that order",
                order.join(", ")
            )]);
        }
    }
    for (i, row) in actual.iter().enumerate().filter(|(i, _)| !used[*i]) {
        let shown: Vec<String> = columns
            .iter()
            .zip(row)
            .map(|(c, v)| format!("{c}: {}", show(v)))
            .collect();
        diff.push(format!(
            "+ {{{}}}  (output row {})",
            shown.join(", "),
            i + 1
        ));
    }
    Ok(diff)
}

/// A maximum matching of expected rows to output rows (Kuhn's augmenting paths): `fits[k]` are
/// the output rows expected row `k` matches; the result gives each expected row its output row.
fn max_matching(fits: &[Vec<usize>], outputs: usize) -> Vec<Option<usize>> {
    fn augment(
        k: usize,
        fits: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &i in &fits[k] {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            if owner[i].is_none_or(|other| augment(other, fits, seen, owner)) {
                owner[i] = Some(k);
                return true;
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; outputs];
    for k in 0..fits.len() {
        let mut seen = vec![false; outputs];
        augment(k, fits, &mut seen, &mut owner);
    }
    let mut out = vec![None; fits.len()];
    for (i, o) in owner.iter().enumerate() {
        if let Some(k) = o {
            out[*k] = Some(i);
        }
    }
    out
}

/// Digits after the decimal point of a written number.
/// A whole number (`1`) or an exponent form means the value itself (to 12 decimals): only
/// written decimals (`0.73`) loosen the comparison.
fn decimals(text: &str) -> usize {
    let t = text.trim();
    if t.contains(['e', 'E']) {
        return 12;
    }
    t.split_once('.').map(|(_, d)| d.len()).unwrap_or(12)
}

fn show(v: &Cmp) -> String {
    match v {
        Cmp::Null => "null".into(),
        Cmp::Float(f) => f.to_string(),
        Cmp::Text(t) if t.is_empty() => "\"\"".into(),
        Cmp::Text(t) => t.clone(),
    }
}

fn show_expected(row: &Row) -> String {
    let cells: Vec<String> = row
        .cells
        .iter()
        .map(|c| match c.value.as_deref() {
            None => format!("{}: null", c.column),
            Some("") => format!("{}: \"\"", c.column),
            Some(v) => format!("{}: {v}", c.column),
        })
        .collect();
    format!("{{{}}}", cells.join(", "))
}
