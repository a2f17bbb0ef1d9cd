//! Query results as JSON rows for `--format json` (`strata sql`, `strata show`).

use datafusion::arrow::record_batch::RecordBatch;

/// Query rows as JSON objects, one per row, keyed by column name. Floats are written with the
/// shortest text that reads back as the same double (serde_json's ryu); decimals as strings of
/// their exact value (a JSON number read as a double would round 16 or more digits); dates and
/// timestamps as strings as printed; nested values as their printed text.
pub(super) fn batches_to_json(batches: &[RecordBatch]) -> serde_json::Value {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
    use serde_json::Value;
    let mut rows = Vec::new();
    for b in batches {
        let schema = b.schema();
        for row in 0..b.num_rows() {
            let mut object = serde_json::Map::new();
            for (field, column) in schema.fields().iter().zip(b.columns()) {
                let value = if column.is_null(row) {
                    Value::Null
                } else {
                    match field.data_type() {
                        DataType::Boolean => Value::Bool(column.as_boolean().value(row)),
                        DataType::Float64 => {
                            json_float(column.as_primitive::<Float64Type>().value(row))
                        }
                        DataType::Float32 => {
                            json_float(
                                // The float's own shortest text (0.1, not 0.10000000149011612).
                                column
                                    .as_primitive::<Float32Type>()
                                    .value(row)
                                    .to_string()
                                    .parse()
                                    .unwrap_or(f64::NAN),
                            )
                        }
                        t if t.is_integer() => {
                            let text = datafusion::arrow::util::display::array_value_to_string(
                                column, row,
                            )
                            .unwrap_or_default();
                            text.parse::<i64>()
                                .map(Value::from)
                                .or_else(|_| text.parse::<u64>().map(Value::from))
                                .unwrap_or(Value::String(text))
                        }
                        _ => Value::String(
                            datafusion::arrow::util::display::array_value_to_string(column, row)
                                .unwrap_or_default(),
                        ),
                    }
                };
                object.insert(field.name().clone(), value);
            }
            rows.push(Value::Object(object));
        }
    }
    Value::Array(rows)
}

/// A double as a JSON number; NaN and infinities, which JSON has no number for, as strings.
fn json_float(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v)
        .map(serde_json::Value::Number)
        .unwrap_or_else(|| serde_json::Value::String(v.to_string()))
}
