//! `first_value(v ORDER BY ...)` and `last_value(v ORDER BY ...)` as aggregates (the form stage
//! SQL uses for "the latest row per customer" and for survivorship), with a grouped accumulator
//! whose work per batch is proportional to the batch, not to the number of groups.
//!
//! DataFusion 55's own grouped accumulator for these functions clears and then scans a buffer of
//! one entry per group seen so far on every input batch, and keeps each group's ORDER BY values
//! as a `Vec<ScalarValue>`. At a million customers that is a million-entry scan for each of the
//! thousands of batches of a stage: three such aggregates over 18.88 M orders took 20.8 s in
//! the partial aggregation against 6.2 s here (bench/NOTES.md, "first_value aggregates and
//! ROW_NUMBER windows of strata's own"). [`OrderedFirstLast`] registers under the same names,
//! hands everything but the grouped accumulator to DataFusion's functions (signature, return
//! field, state layout, the per-group accumulator of window frames and ungrouped aggregates,
//! the reversal rule), and brings [`FirstLastGroups`]:
//!
//! - Per batch the ORDER BY columns are encoded once in Arrow's row format, whose byte order is
//!   the ordering with each column's ASC/DESC and NULLS FIRST/LAST; the best row of each group
//!   touched by the batch is found with a list of the touched groups, and only a group whose
//!   best row beats its stored one (strictly: ties keep the row seen first, as DataFusion does)
//!   is rewritten.
//! - A group's state is its ORDER BY key and its value, both in row format, appended to one
//!   byte arena (`Slot` = offset and two lengths, 16 bytes per group); superseded bytes are
//!   reclaimed when they exceed half the live bytes plus 1 MiB.
//! - The partial state is DataFusion's own, `[value, order values..., is_set]`, so partial and
//!   final stages may come from either implementation (a Ballista node without this override
//!   runs DataFusion's).
//!
//! Only value and ORDER BY types whose row encoding decodes to the same type are handled
//! ([`row_exact`]); other calls fall back to DataFusion's accumulator. The SQL semantics are
//! DataFusion's: FILTER rows whose predicate is not TRUE are skipped, `IGNORE NULLS` skips NULL
//! values, a group with no row gives NULL. Window calls (`first_value(...) OVER (...)`) are
//! DataFusion's window function: its SQL planner looks these two names up as window functions.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, UInt32Array, new_null_array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::arrow::row::{Row, RowConverter, SortField};
use datafusion::common::{Result as DfResult, internal_err};
use datafusion::functions_aggregate::first_last::{first_value_udaf, last_value_udaf};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, Signature,
};
use datafusion::prelude::SessionContext;

/// Register strata's `first_value` and `last_value` in `ctx`, replacing DataFusion's aggregates
/// of the same names (window calls keep DataFusion's window functions).
pub fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::new_from_impl(OrderedFirstLast::new(true)));
    ctx.register_udaf(AggregateUDF::new_from_impl(OrderedFirstLast::new(false)));
}

/// `first_value` (`first = true`) or `last_value` as an aggregate: DataFusion's function with
/// [`FirstLastGroups`] as its grouped accumulator (module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OrderedFirstLast {
    /// DataFusion's function, possibly configured by `with_beneficial_ordering`.
    inner: Arc<AggregateUDF>,
    first: bool,
}

impl OrderedFirstLast {
    /// `first_value` when `first`, else `last_value`.
    pub fn new(first: bool) -> Self {
        let inner = if first {
            first_value_udaf()
        } else {
            last_value_udaf()
        };
        Self { inner, first }
    }

    fn delegate(&self) -> &Arc<dyn AggregateUDFImpl> {
        self.inner.inner()
    }

    /// Whether [`FirstLastGroups`] handles this call: an ORDER BY, and row-exact types.
    fn handles(args: &AccumulatorArgs) -> DfResult<bool> {
        if args.order_bys.is_empty() || !row_exact(args.return_field.data_type()) {
            return Ok(false);
        }
        for e in args.order_bys {
            if !row_exact(&e.expr.data_type(args.schema)?) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl AggregateUDFImpl for OrderedFirstLast {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.delegate().return_type(arg_types)
    }
    fn return_field(&self, arg_fields: &[FieldRef]) -> DfResult<FieldRef> {
        self.delegate().return_field(arg_fields)
    }
    fn accumulator(&self, acc_args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        self.delegate().accumulator(acc_args)
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        self.delegate().state_fields(args)
    }
    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        Self::handles(&args).unwrap_or(false) || self.delegate().groups_accumulator_supported(args)
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        if Self::handles(&args)? {
            Ok(Box::new(FirstLastGroups::try_new(&args, self.first)?))
        } else {
            self.delegate().create_groups_accumulator(args)
        }
    }
    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> DfResult<Option<Arc<dyn AggregateUDFImpl>>> {
        let Some(inner) =
            Arc::clone(self.delegate()).with_beneficial_ordering(beneficial_ordering)?
        else {
            return Ok(None);
        };
        Ok(Some(Arc::new(Self {
            inner: Arc::new(AggregateUDF::new_from_shared_impl(inner)),
            first: self.first,
        })))
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.delegate().order_sensitivity()
    }
    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Reversed(Arc::new(AggregateUDF::new_from_impl(Self::new(
            !self.first,
        ))))
    }
    fn supports_null_handling_clause(&self) -> bool {
        self.delegate().supports_null_handling_clause()
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.delegate().documentation()
    }
}

/// Types whose Arrow row encoding decodes to the same type and bits (a dictionary, for one,
/// decodes to its value type, and nested types are left to DataFusion).
pub fn row_exact(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Decimal32(_, _)
            | Decimal64(_, _)
            | Decimal128(_, _)
            | Decimal256(_, _)
            | Date32
            | Date64
            | Time32(_)
            | Time64(_)
            | Timestamp(_, _)
            | Duration(_)
            | Utf8
            | LargeUtf8
            | Utf8View
            | Binary
            | LargeBinary
            | BinaryView
    )
}

/// "No row": a slot's key length when its group has none, a group's batch-best marker.
const UNSET: u32 = u32::MAX;

/// Where a group's state lies in the arena: `key_len` bytes of ORDER BY key from `start`, then
/// `value_len` bytes of value; `key_len == UNSET` when the group has no row yet.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: u64,
    key_len: u32,
    value_len: u32,
}

const EMPTY: Slot = Slot {
    start: 0,
    key_len: UNSET,
    value_len: 0,
};

impl Slot {
    fn is_set(&self) -> bool {
        self.key_len != UNSET
    }
    fn key<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let s = self.start as usize;
        &arena[s..s + self.key_len as usize]
    }
    fn value<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let s = self.start as usize + self.key_len as usize;
        &arena[s..s + self.value_len as usize]
    }
    fn bytes(&self) -> usize {
        if self.is_set() {
            self.key_len as usize + self.value_len as usize
        } else {
            0
        }
    }
}

/// The grouped accumulator of [`OrderedFirstLast`] (module documentation).
pub struct FirstLastGroups {
    first: bool,
    ignore_nulls: bool,
    /// Encodes the ORDER BY columns with their sort options.
    keys: RowConverter,
    /// Encodes the value column.
    values: RowConverter,
    value_type: DataType,
    order_types: Vec<DataType>,
    slots: Vec<Slot>,
    arena: Vec<u8>,
    /// Arena bytes no slot points at.
    garbage: usize,
    /// Per group, the best row of the current batch (`UNSET` between batches).
    best: Vec<u32>,
    /// The groups whose `best` the current batch set.
    touched: Vec<u32>,
}

impl FirstLastGroups {
    /// The accumulator for `args` (at least one ORDER BY expression; [`row_exact`] types).
    pub fn try_new(args: &AccumulatorArgs, first: bool) -> DfResult<Self> {
        let mut fields = Vec::with_capacity(args.order_bys.len());
        let mut order_types = Vec::with_capacity(args.order_bys.len());
        for e in args.order_bys {
            let t = e.expr.data_type(args.schema)?;
            fields.push(SortField::new_with_options(t.clone(), e.options));
            order_types.push(t);
        }
        let value_type = args.return_field.data_type().clone();
        Ok(Self {
            first,
            ignore_nulls: args.ignore_nulls,
            keys: RowConverter::new(fields)?,
            values: RowConverter::new(vec![SortField::new(value_type.clone())])?,
            value_type,
            order_types,
            slots: Vec::new(),
            arena: Vec::new(),
            garbage: 0,
            best: Vec::new(),
            touched: Vec::new(),
        })
    }

    /// Whether key `new` replaces key `old`: smaller for first_value, larger for last_value.
    fn beats(&self, new: &[u8], old: &[u8]) -> bool {
        if self.first { new < old } else { new > old }
    }

    /// Fold rows `keep` accepts into their groups: `value` and its ORDER BY columns `orders`.
    fn fold(
        &mut self,
        value: &ArrayRef,
        orders: &[ArrayRef],
        group_indices: &[usize],
        keep: impl Fn(usize) -> bool,
        total_num_groups: usize,
    ) -> DfResult<()> {
        if self.slots.len() < total_num_groups {
            self.slots.resize(total_num_groups, EMPTY);
            self.best.resize(total_num_groups, UNSET);
        }
        if orders.len() != self.order_types.len() || value.len() != group_indices.len() {
            return internal_err!(
                "{}: {} ORDER BY columns and {} rows for {} and {} expected",
                if self.first {
                    "first_value"
                } else {
                    "last_value"
                },
                orders.len(),
                value.len(),
                self.order_types.len(),
                group_indices.len()
            );
        }
        let keys = self.keys.convert_columns(orders)?;
        for (row, &g) in group_indices.iter().enumerate() {
            if !keep(row) || (self.ignore_nulls && value.is_null(row)) {
                continue;
            }
            let b = self.best[g];
            if b == UNSET {
                self.best[g] = row as u32;
                self.touched.push(g as u32);
            } else if self.beats(keys.row(row).as_ref(), keys.row(b as usize).as_ref()) {
                self.best[g] = row as u32;
            }
        }
        let mut groups = Vec::new();
        let mut rows = Vec::new();
        for &g in &self.touched {
            let row = std::mem::replace(&mut self.best[g as usize], UNSET);
            let slot = self.slots[g as usize];
            if !slot.is_set() || self.beats(keys.row(row as usize).as_ref(), slot.key(&self.arena))
            {
                groups.push(g as usize);
                rows.push(row);
            }
        }
        self.touched.clear();
        if groups.is_empty() {
            return Ok(());
        }
        let rows = UInt32Array::from(rows);
        let winners = take(value.as_ref(), &rows, None)?;
        let encoded = self.values.convert_columns(&[winners])?;
        for (i, (g, &row)) in groups.into_iter().zip(rows.values()).enumerate() {
            let key = keys.row(row as usize);
            let value = encoded.row(i);
            self.garbage += self.slots[g].bytes();
            let start = self.arena.len() as u64;
            self.arena.extend_from_slice(key.as_ref());
            self.arena.extend_from_slice(value.as_ref());
            self.slots[g] = Slot {
                start,
                key_len: key.as_ref().len() as u32,
                value_len: value.as_ref().len() as u32,
            };
        }
        if self.garbage > (self.arena.len() - self.garbage) / 2 + (1 << 20) {
            self.compact();
        }
        Ok(())
    }

    /// Copy the live bytes into a new arena, in group order.
    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        for slot in self.slots.iter_mut().filter(|s| s.is_set()) {
            let start = slot.start as usize;
            let len = slot.bytes();
            slot.start = arena.len() as u64;
            arena.extend_from_slice(&self.arena[start..start + len]);
        }
        self.arena = arena;
        self.garbage = 0;
    }

    /// Remove the groups `emit_to` names and decode their values and, with `with_keys`, their
    /// ORDER BY values and is-set flags (DataFusion's partial state layout).
    fn take_groups(
        &mut self,
        emit_to: EmitTo,
        with_keys: bool,
    ) -> DfResult<(ArrayRef, Vec<ArrayRef>)> {
        // Emitting everything hands back the memory too (a spilling aggregation shrinks its
        // reservation to `size()` afterwards and fails if that grew).
        let taken: Vec<Slot> = match emit_to {
            EmitTo::All => {
                self.best = Vec::new();
                self.touched = Vec::new();
                std::mem::take(&mut self.slots)
            }
            EmitTo::First(n) => {
                let n = n.min(self.slots.len());
                self.best.truncate(self.slots.len() - n);
                self.slots.drain(..n).collect()
            }
        };
        let arena = std::mem::take(&mut self.arena);

        let values = decode(
            &self.values,
            std::slice::from_ref(&self.value_type),
            &taken,
            |s| s.value(&arena),
        )?
        .remove(0);
        let mut state = Vec::new();
        if with_keys {
            state = decode(&self.keys, &self.order_types, &taken, |s| s.key(&arena))?;
            let is_set: BooleanArray = taken.iter().map(|s| Some(s.is_set())).collect();
            state.push(Arc::new(is_set));
        }

        if self.slots.is_empty() {
            self.garbage = 0;
        } else {
            self.arena = arena;
            self.garbage += taken.iter().map(Slot::bytes).sum::<usize>();
            self.compact();
        }
        Ok((values, state))
    }
}

/// The columns (of `types`, encoded by `conv`) of the slots `taken`: the row `bytes` gives for a
/// set slot, NULLs for an unset one.
fn decode<'a>(
    conv: &RowConverter,
    types: &[DataType],
    taken: &[Slot],
    bytes: impl Fn(&Slot) -> &'a [u8],
) -> DfResult<Vec<ArrayRef>> {
    let nulls: Vec<ArrayRef> = types.iter().map(|t| new_null_array(t, 1)).collect();
    let null_row = conv.convert_columns(&nulls)?;
    let parser = conv.parser();
    let rows: Vec<Row<'_>> = taken
        .iter()
        .map(|s| {
            if s.is_set() {
                parser.parse(bytes(s))
            } else {
                null_row.row(0)
            }
        })
        .collect();
    Ok(conv.convert_rows(rows)?)
}

impl GroupsAccumulator for FirstLastGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        let Some((value, orders)) = values.split_first() else {
            return internal_err!("first_value/last_value called without a value");
        };
        let keep = |row: usize| opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
        self.fold(value, orders, group_indices, keep, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        Ok(self.take_groups(emit_to, false)?.0)
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let (values, rest) = self.take_groups(emit_to, true)?;
        let mut state = vec![values];
        state.extend(rest);
        Ok(state)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        let Some((is_set, rest)) = values.split_last() else {
            return internal_err!("first_value/last_value state without columns");
        };
        let Some((value, orders)) = rest.split_first() else {
            return internal_err!("first_value/last_value state without a value");
        };
        let Some(is_set) = is_set.as_any().downcast_ref::<BooleanArray>() else {
            return internal_err!("first_value/last_value state: is_set is not Boolean");
        };
        let keep = |row: usize| is_set.is_valid(row) && is_set.value(row);
        self.fold(value, orders, group_indices, keep, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let Some(value) = values.first() else {
            return internal_err!("first_value/last_value called without a value");
        };
        let is_set: BooleanArray = (0..value.len())
            .map(|row| {
                let kept = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
                Some(kept && !(self.ignore_nulls && value.is_null(row)))
            })
            .collect();
        let mut state = values.to_vec();
        state.push(Arc::new(is_set));
        Ok(state)
    }

    fn size(&self) -> usize {
        self.arena.capacity()
            + self.slots.capacity() * size_of::<Slot>()
            + (self.best.capacity() + self.touched.capacity()) * size_of::<u32>()
            + self.keys.size()
            + self.values.size()
    }
}

#[cfg(test)]
#[path = "first_last_tests.rs"]
pub(crate) mod tests;
