//! `resolve_identity(record, key, relation [, anchor_order])`: the aggregate that stage SQL calls
//! to run [`resolve`](super::resolve) over all rows of a query.
//!
//! It returns one list of structs `{kind, record, label, key, other, records, reason}` (the
//! [`Fact`](super::Fact)s); stage SQL `unnest`s it. `anchor_order` (any type, compared as text;
//! NULL or absent ranks last) picks the record whose id a customer carries. Partial states are
//! the four input columns as lists, so any partitioning gives the same input and, because
//! `resolve` sorts, the same result. NULL records or keys are skipped; an unknown relation is an
//! error.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, ListArray, StringArray, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Signature, TypeSignature, Volatility,
};

use super::junk::JunkRules;
use super::{Fact, Policy, Relation, Row, resolve};
use crate::model::IdentityConfig;

/// The aggregate; `config` distinguishes differently configured instances.
#[derive(Debug)]
pub struct ResolveIdentity {
    config: IdentityConfig,
    signature: Signature,
}

impl PartialEq for ResolveIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}
impl Eq for ResolveIdentity {}
impl std::hash::Hash for ResolveIdentity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.config.hash(state);
    }
}

impl ResolveIdentity {
    pub fn new(config: IdentityConfig) -> Self {
        Self {
            config,
            signature: Signature::one_of(
                vec![TypeSignature::Any(3), TypeSignature::Any(4)],
                Volatility::Immutable,
            ),
        }
    }
}

fn fact_fields() -> Fields {
    Fields::from(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("record", DataType::Utf8, true),
        Field::new("label", DataType::Utf8, true),
        Field::new("key", DataType::Utf8, true),
        Field::new("other", DataType::Utf8, true),
        Field::new("records", DataType::Int64, true),
        Field::new("reason", DataType::Utf8, true),
    ])
}

fn list_of(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", dt, true)))
}

impl AggregateUDFImpl for ResolveIdentity {
    fn name(&self) -> &str {
        "resolve_identity"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(list_of(DataType::Struct(fact_fields())))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(IdentityAccumulator {
            policy: Policy {
                junk: JunkRules::new(&self.config),
                max_records_per_key: self.config.max_records_per_key,
            },
            rows: Vec::new(),
            bytes: 0,
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(["records", "keys", "relations", "orders"]
            .into_iter()
            .map(|n| Arc::new(Field::new(n, list_of(DataType::Utf8), true)))
            .collect())
    }
}

#[derive(Debug)]
struct IdentityAccumulator {
    policy: Policy,
    rows: Vec<Row>,
    /// Heap bytes of `rows`, kept as rows are added (`size` is asked after every batch; summing
    /// millions of rows each time made the aggregation quadratic).
    bytes: usize,
}

fn strings(array: &ArrayRef) -> DfResult<StringArray> {
    let utf8 = cast(array, &DataType::Utf8)?;
    Ok(utf8
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 yields a StringArray")
        .clone())
}

impl IdentityAccumulator {
    fn push(
        &mut self,
        r: &StringArray,
        k: &StringArray,
        rel: &StringArray,
        order: Option<&StringArray>,
    ) -> DfResult<()> {
        for i in 0..r.len() {
            if r.is_null(i) || k.is_null(i) {
                continue;
            }
            let text = if rel.is_null(i) { "" } else { rel.value(i) };
            let Some(relation) = Relation::parse(text) else {
                return exec_err!(
                    "resolve_identity: relation must be key, must_link or cannot_link, not '{text}'"
                );
            };
            let mut row = Row::new(r.value(i), k.value(i), relation);
            if let Some(o) = order.filter(|o| !o.is_null(i)) {
                row = row.ordered(o.value(i));
            }
            self.bytes += row.record.capacity()
                + row.key.capacity()
                + row.order.as_ref().map_or(0, String::capacity);
            self.rows.push(row);
        }
        Ok(())
    }
}

impl Accumulator for IdentityAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let (r, k, rel, order) = match values {
            [r, k, rel] => (r, k, rel, None),
            [r, k, rel, order] => (r, k, rel, Some(strings(order)?)),
            _ => return exec_err!("resolve_identity takes three or four arguments"),
        };
        self.push(&strings(r)?, &strings(k)?, &strings(rel)?, order.as_ref())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let [r, k, rel, order] = states else {
            return exec_err!("resolve_identity: unexpected state");
        };
        let lists: Vec<&ListArray> = [r, k, rel, order]
            .into_iter()
            .map(|a| {
                a.as_any()
                    .downcast_ref::<ListArray>()
                    .expect("state columns are lists")
            })
            .collect();
        for row in 0..lists[0].len() {
            if lists[0].is_null(row) {
                continue;
            }
            let cols: Vec<StringArray> = lists
                .iter()
                .map(|l| strings(&l.value(row)))
                .collect::<DfResult<_>>()?;
            self.push(&cols[0], &cols[1], &cols[2], Some(&cols[3]))?;
        }
        Ok(())
    }

    /// The rows collected, handed on to the final aggregation. DataFusion asks a partial
    /// aggregate without GROUP BY for its state once, at the end of its input, so the rows are
    /// moved out and freed as the columns are built rather than held alongside them.
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        let column = |f: &dyn Fn(&Row) -> Option<&str>| -> ScalarValue {
            let array: StringArray = rows.iter().map(f).collect();
            SingleRowListArrayBuilder::new(Arc::new(array)).build_list_scalar()
        };
        Ok(vec![
            column(&|t| Some(t.record.as_str())),
            column(&|t| Some(t.key.as_str())),
            column(&|t| Some(t.relation.text())),
            column(&|t| t.order.as_deref()),
        ])
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        self.bytes = 0;
        let facts = resolve(std::mem::take(&mut self.rows), &self.policy);
        let text = |f: &dyn Fn(&Fact) -> Option<&str>| -> ArrayRef {
            Arc::new(facts.iter().map(f).collect::<StringArray>())
        };
        let columns: Vec<ArrayRef> = vec![
            text(&|f| Some(f.kind)),
            text(&|f| f.record.as_deref()),
            text(&|f| f.label.as_deref()),
            text(&|f| f.key.as_deref()),
            text(&|f| f.other.as_deref()),
            Arc::new(facts.iter().map(|f| f.records).collect::<Int64Array>()),
            text(&|f| f.reason),
        ];
        let structs = StructArray::try_new(fact_fields(), columns, None)?;
        Ok(SingleRowListArrayBuilder::new(Arc::new(structs)).build_list_scalar())
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.rows.capacity() * size_of::<Row>() + self.bytes
    }
}
