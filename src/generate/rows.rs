//! ODS row types, their exact Arrow schemas, and row-to-batch conversion.
//!
//! The schemas are the input contract of DOMAIN.md's ODS section: ids and text `Utf8`,
//! timestamps `Timestamp(Microsecond, "UTC")`, dates `Date32`, money `Decimal128(18, 2)`.
//! Every column is nullable (nothing in ODS is trusted). There is no `ds` column: the landing
//! date is only the hive directory name.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch,
    StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;

use super::ids::Id;

/// The ODS tables, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Table {
    CrmCustomer,
    ShopCustomer,
    ErpCustomer,
    Order,
    Interaction,
    Survey,
    Contract,
    ProductUsage,
    CompetitorSignal,
    Lead,
    CsPlan,
}

impl Table {
    pub const ALL: [Table; 11] = [
        Table::CrmCustomer,
        Table::ShopCustomer,
        Table::ErpCustomer,
        Table::Order,
        Table::Interaction,
        Table::Survey,
        Table::Contract,
        Table::ProductUsage,
        Table::CompetitorSignal,
        Table::Lead,
        Table::CsPlan,
    ];

    /// The table's directory name.
    pub fn name(self) -> &'static str {
        match self {
            Table::CrmCustomer => "ods_crm_customer",
            Table::ShopCustomer => "ods_shop_customer",
            Table::ErpCustomer => "ods_erp_customer",
            Table::Order => "ods_order",
            Table::Interaction => "ods_interaction",
            Table::Survey => "ods_survey",
            Table::Contract => "ods_contract",
            Table::ProductUsage => "ods_product_usage",
            Table::CompetitorSignal => "ods_competitor_signal",
            Table::Lead => "ods_lead",
            Table::CsPlan => "ods_cs_plan",
        }
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        let fields = match self {
            Table::CrmCustomer => vec![
                utf8("crm_id"),
                utf8("company_name"),
                utf8("contact_name"),
                utf8("phone"),
                utf8("email"),
                utf8("industry"),
                utf8("province"),
                utf8("city"),
                utf8("company_size"),
                utf8("customer_type"),
                utf8("owner_rep"),
                date("contact_birthday"),
                ts("created_at"),
                ts("updated_at"),
            ],
            Table::ShopCustomer => vec![
                utf8("shop_uid"),
                utf8("display_name"),
                utf8("mobile"),
                utf8("email"),
                utf8("city"),
                ts("registered_at"),
                ts("updated_at"),
            ],
            Table::ErpCustomer => vec![
                utf8("erp_code"),
                utf8("legal_name"),
                utf8("short_name"),
                utf8("tel"),
                utf8("industry"),
                utf8("province"),
                ts("updated_at"),
            ],
            Table::Order => vec![
                utf8("order_id"),
                utf8("source_system"),
                utf8("source_customer_id"),
                ts("order_time"),
                money("amount"),
                utf8("currency"),
                utf8("product_category"),
                utf8("status"),
                ts("updated_at"),
            ],
            Table::Interaction => vec![
                utf8("interaction_id"),
                utf8("crm_id"),
                utf8("channel"),
                utf8("direction"),
                utf8("purpose"),
                ts("occurred_at"),
                utf8("rep_id"),
                Field::new("opened", DataType::Boolean, true),
                utf8("content"),
            ],
            Table::Survey => vec![
                utf8("response_id"),
                utf8("crm_id"),
                utf8("survey_type"),
                utf8("score"),
                ts("submitted_at"),
                utf8("comment"),
            ],
            Table::Contract => vec![
                utf8("contract_id"),
                utf8("crm_id"),
                date("start_date"),
                date("end_date"),
                money("annual_value"),
                utf8("renewed_from"),
                ts("signed_at"),
            ],
            Table::ProductUsage => vec![
                utf8("crm_id"),
                date("usage_date"),
                Field::new("active_users", DataType::Int32, true),
                Field::new("events", DataType::Int64, true),
            ],
            Table::CompetitorSignal => vec![
                utf8("signal_id"),
                utf8("crm_id"),
                utf8("competitor"),
                utf8("signal_type"),
                ts("detected_at"),
            ],
            Table::Lead => vec![
                utf8("lead_id"),
                utf8("crm_id"),
                utf8("rep_id"),
                ts("first_contact_at"),
            ],
            Table::CsPlan => vec![
                utf8("assignment_id"),
                utf8("crm_id"),
                utf8("plan"),
                date("start_date"),
                ts("assigned_at"),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn ts(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

fn date(name: &str) -> Field {
    Field::new(name, DataType::Date32, true)
}

fn money(name: &str) -> Field {
    Field::new(name, DataType::Decimal128(18, 2), true)
}

pub(crate) struct CrmRow {
    pub crm_id: String,
    pub company_name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub industry: Option<&'static str>,
    pub province: &'static str,
    pub city: &'static str,
    pub company_size: Option<&'static str>,
    pub customer_type: Option<&'static str>,
    pub owner_rep: String,
    pub contact_birthday: Option<i32>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) struct ShopRow {
    pub shop_uid: String,
    pub display_name: String,
    pub mobile: String,
    pub email: Option<String>,
    pub city: Option<&'static str>,
    pub registered_at: i64,
    pub updated_at: i64,
}

pub(crate) struct ErpRow {
    pub erp_code: String,
    pub legal_name: String,
    pub short_name: Option<String>,
    pub tel: Option<String>,
    pub industry: Option<&'static str>,
    pub province: Option<&'static str>,
    pub updated_at: i64,
}

/// An order; ids are numbers, formatted when the batch is built.
#[derive(Clone)]
pub(crate) struct OrderRow {
    pub order_no: u64,
    /// `Id::Erp` or `Id::Shop`: the source system and the format of the customer id.
    pub source: Id,
    pub customer_no: u32,
    pub order_time: i64,
    /// Amount in cents (scale 2).
    pub amount: i128,
    pub currency: &'static str,
    pub product_category: &'static str,
    pub status: &'static str,
    pub updated_at: i64,
}

pub(crate) struct InteractionRow {
    pub interaction_no: u64,
    pub crm_no: Option<u32>,
    pub channel: &'static str,
    pub direction: &'static str,
    pub purpose: Option<&'static str>,
    pub occurred_at: i64,
    pub rep: u32,
    pub opened: Option<bool>,
    pub content: Option<&'static str>,
}

/// A survey score as typed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Score {
    /// A number; `pad` 0 plain, 1 leading space, 2 trailing space, 3 both.
    Value { value: u8, pad: u8 },
    /// Free text (blank, `N/A`, `4.0`, ...).
    Typed(&'static str),
}

impl Score {
    pub fn write(self, buf: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Score::Value { value, pad: 0 } => write!(buf, "{value}"),
            Score::Value { value, pad: 1 } => write!(buf, " {value}"),
            Score::Value { value, pad: 2 } => write!(buf, "{value} "),
            Score::Value { value, .. } => write!(buf, " {value} "),
            Score::Typed(text) => buf.write_str(text),
        };
    }
}

pub(crate) struct SurveyRow {
    pub response_no: u64,
    pub crm_no: Option<u32>,
    pub survey_type: &'static str,
    pub score: Score,
    pub submitted_at: i64,
    pub comment: Option<&'static str>,
}

pub(crate) struct ContractRow {
    pub contract_no: u32,
    pub crm_no: u32,
    pub start_date: i32,
    pub end_date: i32,
    /// Annual value in cents (scale 2).
    pub annual_value: i128,
    pub renewed_from: Option<u32>,
    pub signed_at: i64,
}

pub(crate) struct UsageRow {
    pub crm_no: u32,
    pub usage_date: i32,
    pub active_users: i32,
    pub events: i64,
}

pub(crate) struct SignalRow {
    pub signal_no: u64,
    pub crm_no: u32,
    pub competitor: &'static str,
    pub signal_type: &'static str,
    pub detected_at: i64,
}

pub(crate) struct LeadRow {
    pub lead_no: u64,
    pub crm_no: u32,
    pub rep: u32,
    pub first_contact_at: i64,
}

/// A customer-success plan assignment (`plan`: B if `b`, else A).
pub(crate) struct PlanRow {
    pub assignment_no: u32,
    pub crm_no: u32,
    pub b: bool,
    pub start_date: i32,
    pub assigned_at: i64,
}

/// Everything that lands on one day.
#[derive(Default)]
pub(crate) struct DayRows {
    pub crm: Vec<CrmRow>,
    pub shop: Vec<ShopRow>,
    pub erp: Vec<ErpRow>,
    pub orders: Vec<OrderRow>,
    pub interactions: Vec<InteractionRow>,
    pub surveys: Vec<SurveyRow>,
    pub contracts: Vec<ContractRow>,
    pub usage: Vec<UsageRow>,
    pub signals: Vec<SignalRow>,
    pub leads: Vec<LeadRow>,
    pub plans: Vec<PlanRow>,
}

fn s<'a>(it: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

fn so<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

fn t(it: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(it).with_timezone("UTC"))
}

fn d(it: impl Iterator<Item = Option<i32>>) -> ArrayRef {
    Arc::new(Date32Array::from_iter(it))
}

/// A string column of formatted ids (`None` for null), without a string per row.
fn ids(n: usize, it: impl Iterator<Item = Option<(Id, u64)>>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, n * 11);
    let mut buf = String::with_capacity(16);
    for id in it {
        match id {
            Some((kind, no)) => {
                buf.clear();
                kind.write(&mut buf, no);
                b.append_value(&buf);
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

fn scores(rows: &[SurveyRow]) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 3);
    let mut buf = String::with_capacity(8);
    for r in rows {
        buf.clear();
        r.score.write(&mut buf);
        b.append_value(&buf);
    }
    Arc::new(b.finish())
}

fn m(it: impl Iterator<Item = i128>) -> Result<ArrayRef, ArrowError> {
    Ok(Arc::new(
        Decimal128Array::from_iter_values(it).with_precision_and_scale(18, 2)?,
    ))
}

impl DayRows {
    /// Row count of one table.
    pub fn len(&self, table: Table) -> usize {
        match table {
            Table::CrmCustomer => self.crm.len(),
            Table::ShopCustomer => self.shop.len(),
            Table::ErpCustomer => self.erp.len(),
            Table::Order => self.orders.len(),
            Table::Interaction => self.interactions.len(),
            Table::Survey => self.surveys.len(),
            Table::Contract => self.contracts.len(),
            Table::ProductUsage => self.usage.len(),
            Table::CompetitorSignal => self.signals.len(),
            Table::Lead => self.leads.len(),
            Table::CsPlan => self.plans.len(),
        }
    }

    /// The rows of one table as an Arrow batch with the table's schema.
    pub fn batch(&self, table: Table) -> Result<RecordBatch, ArrowError> {
        let n = self.len(table);
        let columns: Vec<ArrayRef> = match table {
            Table::CrmCustomer => {
                let r = &self.crm;
                vec![
                    s(r.iter().map(|x| x.crm_id.as_str())),
                    s(r.iter().map(|x| x.company_name.as_str())),
                    s(r.iter().map(|x| x.contact_name.as_str())),
                    s(r.iter().map(|x| x.phone.as_str())),
                    s(r.iter().map(|x| x.email.as_str())),
                    so(r.iter().map(|x| x.industry)),
                    s(r.iter().map(|x| x.province)),
                    s(r.iter().map(|x| x.city)),
                    so(r.iter().map(|x| x.company_size)),
                    so(r.iter().map(|x| x.customer_type)),
                    s(r.iter().map(|x| x.owner_rep.as_str())),
                    d(r.iter().map(|x| x.contact_birthday)),
                    t(r.iter().map(|x| x.created_at)),
                    t(r.iter().map(|x| x.updated_at)),
                ]
            }
            Table::ShopCustomer => {
                let r = &self.shop;
                vec![
                    s(r.iter().map(|x| x.shop_uid.as_str())),
                    s(r.iter().map(|x| x.display_name.as_str())),
                    s(r.iter().map(|x| x.mobile.as_str())),
                    so(r.iter().map(|x| x.email.as_deref())),
                    so(r.iter().map(|x| x.city)),
                    t(r.iter().map(|x| x.registered_at)),
                    t(r.iter().map(|x| x.updated_at)),
                ]
            }
            Table::ErpCustomer => {
                let r = &self.erp;
                vec![
                    s(r.iter().map(|x| x.erp_code.as_str())),
                    s(r.iter().map(|x| x.legal_name.as_str())),
                    so(r.iter().map(|x| x.short_name.as_deref())),
                    so(r.iter().map(|x| x.tel.as_deref())),
                    so(r.iter().map(|x| x.industry)),
                    so(r.iter().map(|x| x.province)),
                    t(r.iter().map(|x| x.updated_at)),
                ]
            }
            Table::Order => {
                let r = &self.orders;
                vec![
                    ids(n, r.iter().map(|x| Some((Id::Order, x.order_no)))),
                    s(r.iter()
                        .map(|x| if x.source == Id::Erp { "erp" } else { "shop" })),
                    ids(
                        n,
                        r.iter().map(|x| Some((x.source, u64::from(x.customer_no)))),
                    ),
                    t(r.iter().map(|x| x.order_time)),
                    m(r.iter().map(|x| x.amount))?,
                    s(r.iter().map(|x| x.currency)),
                    s(r.iter().map(|x| x.product_category)),
                    s(r.iter().map(|x| x.status)),
                    t(r.iter().map(|x| x.updated_at)),
                ]
            }
            Table::Interaction => {
                let r = &self.interactions;
                vec![
                    ids(
                        n,
                        r.iter().map(|x| Some((Id::Interaction, x.interaction_no))),
                    ),
                    ids(
                        n,
                        r.iter().map(|x| x.crm_no.map(|c| (Id::Crm, u64::from(c)))),
                    ),
                    s(r.iter().map(|x| x.channel)),
                    s(r.iter().map(|x| x.direction)),
                    so(r.iter().map(|x| x.purpose)),
                    t(r.iter().map(|x| x.occurred_at)),
                    ids(n, r.iter().map(|x| Some((Id::Rep, u64::from(x.rep))))),
                    Arc::new(BooleanArray::from_iter(r.iter().map(|x| x.opened))),
                    so(r.iter().map(|x| x.content)),
                ]
            }
            Table::Survey => {
                let r = &self.surveys;
                vec![
                    ids(n, r.iter().map(|x| Some((Id::Response, x.response_no)))),
                    ids(
                        n,
                        r.iter().map(|x| x.crm_no.map(|c| (Id::Crm, u64::from(c)))),
                    ),
                    s(r.iter().map(|x| x.survey_type)),
                    scores(r),
                    t(r.iter().map(|x| x.submitted_at)),
                    so(r.iter().map(|x| x.comment)),
                ]
            }
            Table::Contract => {
                let r = &self.contracts;
                vec![
                    ids(
                        n,
                        r.iter()
                            .map(|x| Some((Id::Contract, u64::from(x.contract_no)))),
                    ),
                    ids(n, r.iter().map(|x| Some((Id::Crm, u64::from(x.crm_no))))),
                    d(r.iter().map(|x| Some(x.start_date))),
                    d(r.iter().map(|x| Some(x.end_date))),
                    m(r.iter().map(|x| x.annual_value))?,
                    ids(
                        n,
                        r.iter()
                            .map(|x| x.renewed_from.map(|c| (Id::Contract, u64::from(c)))),
                    ),
                    t(r.iter().map(|x| x.signed_at)),
                ]
            }
            Table::ProductUsage => {
                let r = &self.usage;
                vec![
                    ids(n, r.iter().map(|x| Some((Id::Crm, u64::from(x.crm_no))))),
                    d(r.iter().map(|x| Some(x.usage_date))),
                    Arc::new(Int32Array::from_iter_values(
                        r.iter().map(|x| x.active_users),
                    )),
                    Arc::new(Int64Array::from_iter_values(r.iter().map(|x| x.events))),
                ]
            }
            Table::CompetitorSignal => {
                let r = &self.signals;
                vec![
                    ids(n, r.iter().map(|x| Some((Id::Signal, x.signal_no)))),
                    ids(n, r.iter().map(|x| Some((Id::Crm, u64::from(x.crm_no))))),
                    s(r.iter().map(|x| x.competitor)),
                    s(r.iter().map(|x| x.signal_type)),
                    t(r.iter().map(|x| x.detected_at)),
                ]
            }
            Table::Lead => {
                let r = &self.leads;
                vec![
                    ids(n, r.iter().map(|x| Some((Id::Lead, x.lead_no)))),
                    ids(n, r.iter().map(|x| Some((Id::Crm, u64::from(x.crm_no))))),
                    ids(n, r.iter().map(|x| Some((Id::Rep, u64::from(x.rep))))),
                    t(r.iter().map(|x| x.first_contact_at)),
                ]
            }
            Table::CsPlan => {
                let r = &self.plans;
                vec![
                    ids(
                        n,
                        r.iter()
                            .map(|x| Some((Id::Plan, u64::from(x.assignment_no)))),
                    ),
                    ids(n, r.iter().map(|x| Some((Id::Crm, u64::from(x.crm_no))))),
                    s(r.iter().map(|x| if x.b { "B" } else { "A" })),
                    d(r.iter().map(|x| Some(x.start_date))),
                    t(r.iter().map(|x| x.assigned_at)),
                ]
            }
        };
        RecordBatch::try_new(table.schema(), columns)
    }
}
