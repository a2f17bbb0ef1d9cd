//! The mini pipeline used by several tests: ODS customers and orders -> DWD -> DWS -> ADS.

use std::sync::Arc;

use super::Project;
use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

fn ts(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_micros()
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn stamps(v: &[&str]) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from(v.iter().map(|t| ts(t)).collect::<Vec<_>>())
            .with_timezone("UTC"),
    )
}

pub fn write_customers(p: &Project, ds: &str, ids: &[&str], cities: &[&str], updated: &[&str]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("city", DataType::Utf8, true),
        Field::new("updated_at", ts_type(), false),
    ]));
    let b = super::batch(schema, vec![strings(ids), strings(cities), stamps(updated)]);
    p.write_parquet(&format!("data/ods/ods_customer/ds={ds}/part-0.parquet"), &b);
}

pub fn write_orders(p: &Project, ds: &str, rows: &[(&str, &str, f64, &str, &str)]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("order_time", ts_type(), false),
    ]));
    type Row<'a> = (&'a str, &'a str, f64, &'a str, &'a str);
    let col = |f: for<'a> fn(&Row<'a>) -> &'a str| strings(&rows.iter().map(f).collect::<Vec<_>>());
    let b = super::batch(
        schema,
        vec![
            col(|r| r.0),
            col(|r| r.1),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            col(|r| r.3),
            stamps(&rows.iter().map(|r| r.4).collect::<Vec<_>>()),
        ],
    );
    p.write_parquet(&format!("data/ods/ods_order/ds={ds}/part-0.parquet"), &b);
}

pub const PIPELINE: &str = r#"
name: mini
warehouse: ./warehouse
timezone: Asia/Shanghai
sources:
  - name: ods_customer
    location: data/ods/ods_customer
    partitions: {ds: date}
    optional: true
  - name: ods_order
    location: data/ods/ods_order
    partitions: {ds: date}
vars:
  min_amount: 0.0
stages:
  - name: dwd_customer
    layer: dwd
    sql: sql/dwd/dwd_customer.sql
  - name: dwd_order
    layer: dwd
    sql: sql/dwd/dwd_order.sql
  - name: dws_customer_sales
    layer: dws
    sql: sql/dws/dws_customer_sales.sql
    materialization: partitioned
  - name: ads_city_sales
    layer: ads
    sql: sql/ads/ads_city_sales.sql
"#;

pub fn mini_project() -> Project {
    let p = Project::new();
    p.write("pipelines/mini.yaml", PIPELINE);
    p.write(
        "sql/dwd/dwd_customer.sql",
        "SELECT customer_id, city\nFROM (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY updated_at DESC, ds DESC) AS rn\n  FROM ods_customer\n  WHERE ds <= $ds\n)\nWHERE rn = 1\n",
    );
    p.write(
        "sql/dwd/dwd_order.sql",
        "SELECT order_id, customer_id, amount, status, business_date(order_time) AS order_date\nFROM (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ds DESC) AS rn\n  FROM ods_order\n  WHERE ds <= $ds\n)\nWHERE rn = 1\n",
    );
    p.write(
        "sql/dws/dws_customer_sales.sql",
        "SELECT $ds AS ds, c.customer_id,\n  COUNT(o.order_id) AS paid_orders,\n  COALESCE(SUM(o.amount), 0.0) AS paid_amount\nFROM dwd_customer c\nLEFT JOIN dwd_order o\n  ON o.customer_id = c.customer_id AND o.status = 'paid'\n  AND o.order_date <= $ds AND o.amount > $min_amount\nGROUP BY c.customer_id\n",
    );
    p.write(
        "sql/ads/ads_city_sales.sql",
        "SELECT c.city, COUNT(*) AS customers, SUM(s.paid_amount) AS paid_amount\nFROM dws_customer_sales s\nJOIN dwd_customer c ON c.customer_id = s.customer_id\nWHERE s.ds = $ds\nGROUP BY c.city\n",
    );
    write_customers(
        &p,
        "2026-11-20",
        &["C1", "C2"],
        &["Beijing", "Shanghai"],
        &["2026-11-20T01:00:00Z", "2026-11-20T01:00:00Z"],
    );
    write_customers(
        &p,
        "2026-11-21",
        &["C1"],
        &["Shenzhen"],
        &["2026-11-21T01:00:00Z"],
    );
    write_orders(
        &p,
        "2026-11-20",
        &[
            ("O1", "C1", 100.0, "paid", "2026-11-20T02:00:00Z"),
            ("O2", "C2", 50.0, "paid", "2026-11-20T03:00:00Z"),
        ],
    );
    // O2 lands again, refunded: the later landing wins. O4 is paid at 16:30 UTC on the 20th,
    // which is 00:30 on the 21st in Shanghai.
    write_orders(
        &p,
        "2026-11-21",
        &[
            ("O2", "C2", 50.0, "refunded", "2026-11-20T03:00:00Z"),
            ("O4", "C1", 70.0, "paid", "2026-11-20T16:30:00Z"),
        ],
    );
    // Landed after the run date: invisible to a run for 2026-11-21.
    write_orders(
        &p,
        "2026-11-22",
        &[("O5", "C2", 999.0, "paid", "2026-11-22T03:00:00Z")],
    );
    p
}
