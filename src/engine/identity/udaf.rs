//! `resolve_identity(record, key, relation [, anchor_order])`: the aggregate that stage SQL calls
//! to run [`resolve_input`](super::resolve_input) over all rows of a query.
//!
//! It returns one list of structs `{kind, record, label, key, other, records, reason}` (the
//! [`Fact`](super::Fact)s); stage SQL `unnest`s it. `anchor_order` (any type, compared as text;
//! NULL or absent ranks last) picks the record whose id a customer carries. The rows are held
//! interned ([`Input`]); a partial state is that input as six lists (the distinct records, their
//! anchor orders, the distinct keys, and per row the record's and key's positions in those lists
//! and the relation's code), so any partitioning gives the same input and, because the
//! resolution sorts, the same result. NULL records or keys are skipped; an unknown relation is
//! an error.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Int64Array, ListArray, StringArray, StructArray, UInt8Array, UInt32Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Signature, TypeSignature, Volatility,
};

use super::input::{Input, text};
use super::junk::JunkRules;
use super::{FactRef, Policy, Relation, resolve_input};
use crate::model::IdentityConfig;

/// The aggregate; `config` distinguishes differently configured instances.
#[derive(Debug)]
pub struct ResolveIdentity {
    config: IdentityConfig,
    signature: Signature,
}

impl ResolveIdentity {
    /// The identity rules this aggregate applies.
    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }
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
            input: Input::default(),
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        let column = |name: &str, dt: DataType| Arc::new(Field::new(name, list_of(dt), true));
        Ok(vec![
            column("records", DataType::Utf8),
            column("orders", DataType::Utf8),
            column("keys", DataType::Utf8),
            column("pair_records", DataType::UInt32),
            column("pair_keys", DataType::UInt32),
            column("relations", DataType::UInt8),
        ])
    }
}

#[derive(Debug)]
struct IdentityAccumulator {
    policy: Policy,
    input: Input,
}

fn strings(array: &ArrayRef) -> DfResult<StringArray> {
    let utf8 = cast(array, &DataType::Utf8)?;
    Ok(utf8
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 yields a StringArray")
        .clone())
}

/// Element `row` of a list column of the state, as an array of `T`.
fn element<T: Array + Clone + 'static>(state: &ArrayRef, row: usize, name: &str) -> DfResult<T> {
    let Some(list) = state.as_any().downcast_ref::<ListArray>() else {
        return exec_err!("resolve_identity: state column {name} is not a list");
    };
    let values = list.value(row);
    match values.as_any().downcast_ref::<T>() {
        Some(v) => Ok(v.clone()),
        None => exec_err!("resolve_identity: state column {name} has the wrong element type"),
    }
}

fn list_scalar(array: ArrayRef) -> ScalarValue {
    SingleRowListArrayBuilder::new(array).build_list_scalar()
}

impl Accumulator for IdentityAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let (r, k, rel, order) = match values {
            [r, k, rel] => (strings(r)?, strings(k)?, strings(rel)?, None),
            [r, k, rel, order] => (
                strings(r)?,
                strings(k)?,
                strings(rel)?,
                Some(strings(order)?),
            ),
            _ => return exec_err!("resolve_identity takes three or four arguments"),
        };
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
            let o = order.as_ref().filter(|o| !o.is_null(i)).map(|o| o.value(i));
            self.input.push(r.value(i), k.value(i), relation, o);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let [records, orders, keys, pair_records, pair_keys, relations] = states else {
            return exec_err!("resolve_identity: unexpected state");
        };
        for row in 0..records.len() {
            if records.is_null(row) {
                continue;
            }
            let recs: StringArray = element(records, row, "records")?;
            let ords: StringArray = element(orders, row, "orders")?;
            let ks: StringArray = element(keys, row, "keys")?;
            let prs: UInt32Array = element(pair_records, row, "pair_records")?;
            let pks: UInt32Array = element(pair_keys, row, "pair_keys")?;
            let rels: UInt8Array = element(relations, row, "relations")?;
            let record_ids: Vec<u32> = (0..recs.len())
                .map(|i| {
                    let o = (!ords.is_null(i)).then(|| ords.value(i));
                    self.input.record(recs.value(i), o)
                })
                .collect();
            let key_ids: Vec<u32> = (0..ks.len()).map(|i| self.input.key(ks.value(i))).collect();
            for i in 0..prs.len() {
                let (r, k) = (prs.value(i) as usize, pks.value(i) as usize);
                let (Some(&r), Some(&k), Some(relation)) = (
                    record_ids.get(r),
                    key_ids.get(k),
                    Relation::from_code(rels.value(i)),
                ) else {
                    return exec_err!("resolve_identity: a partial state refers past its lists");
                };
                self.input.pair(r, k, relation);
            }
        }
        Ok(())
    }

    /// The rows collected, handed on to the final aggregation. DataFusion asks a partial
    /// aggregate without GROUP BY for its state once, at the end of its input, so the input is
    /// moved out and freed once the lists are built.
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let input = std::mem::take(&mut self.input);
        let records = 0..input.records.len() as u32;
        let record_names: StringArray = records
            .clone()
            .map(|r| Some(text(&input.records, r)))
            .collect();
        let orders: StringArray = records.map(|r| input.order(r)).collect();
        let keys: StringArray = (0..input.keys.len() as u32)
            .map(|k| Some(text(&input.keys, k)))
            .collect();
        let pair_records: UInt32Array = input.pairs.iter().map(|p| p.record).collect();
        let pair_keys: UInt32Array = input.pairs.iter().map(|p| p.key).collect();
        let relations: UInt8Array = input.pairs.iter().map(|p| p.relation.code()).collect();
        drop(input);
        Ok(vec![
            list_scalar(Arc::new(record_names)),
            list_scalar(Arc::new(orders)),
            list_scalar(Arc::new(keys)),
            list_scalar(Arc::new(pair_records)),
            list_scalar(Arc::new(pair_keys)),
            list_scalar(Arc::new(relations)),
        ])
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let resolution = resolve_input(std::mem::take(&mut self.input), &self.policy);
        let rows = 0..resolution.len();
        let text = |f: &dyn Fn(FactRef) -> Option<&str>| -> ArrayRef {
            Arc::new(
                rows.clone()
                    .map(|i| f(resolution.row(i)))
                    .collect::<StringArray>(),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            text(&|f| Some(f.kind)),
            text(&|f| f.record),
            text(&|f| f.label),
            text(&|f| f.key),
            text(&|f| f.other),
            Arc::new(
                rows.clone()
                    .map(|i| resolution.row(i).records)
                    .collect::<Int64Array>(),
            ),
            text(&|f| f.reason),
        ];
        drop(resolution);
        let structs = StructArray::try_new(fact_fields(), columns, None)?;
        Ok(list_scalar(Arc::new(structs)))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.input.size()
    }
}
