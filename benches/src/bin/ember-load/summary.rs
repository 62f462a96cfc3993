//! The readable summary printed after the JSON lines.

use serde_json::Value;

fn ms(r: &Value, k: &str) -> String {
    let v = &r[k];
    if v.is_null() {
        "-".to_owned()
    } else {
        format!(
            "p50 {:.2} / p99 {:.2} / max {:.2} ms",
            v["p50"].as_f64().unwrap_or(0.0),
            v["p99"].as_f64().unwrap_or(0.0),
            v["max"].as_f64().unwrap_or(0.0)
        )
    }
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.digits$}"))
}

/// Prints one target's report.
pub(crate) fn print(r: &Value) {
    println!(
        "== {} ({} node(s), {} clients, {} rooms, {} senders x {}/s)",
        r["target"].as_str().unwrap_or("?"),
        r["nodes"],
        r["clients"],
        r["rooms"],
        r["senders"],
        r["rate"]
    );
    println!(
        "  connect   {} (all in {:.1} s)",
        ms(r, "connect_ms"),
        r["connect_total_s"].as_f64().unwrap_or(0.0)
    );
    println!("  ack       {}", ms(r, "ack_ms"));
    println!("  delivery  {}", ms(r, "delivery_ms"));
    if !r["delivery_other_node_ms"].is_null() {
        println!("    same node   {}", ms(r, "delivery_same_node_ms"));
        println!("    other node  {}", ms(r, "delivery_other_node_ms"));
        println!(
            "    other node after the sender's ack  {}",
            ms(r, "other_node_after_ack_ms")
        );
    }
    if !r["recovery_ms"].is_null() {
        println!(
            "  recovery  every subscriber caught up {} ms after the --during command",
            num(&r["recovery_ms"], 1)
        );
    }
    println!(
        "  delivered {} of {} ({} missing, {} doubled, {} out of order), {:.0} frames/s, {} errors",
        r["delivered"],
        r["expected"],
        r["missing"],
        r["duplicates"],
        r["out_of_order"],
        r["delivered_per_s"].as_f64().unwrap_or(0.0),
        r["errors"]
    );
    println!(
        "  server    RSS {} KiB connected ({} bytes/connection), CPU {}% ({} µs per frame)",
        r["rss_kib"]["connected"],
        num(&r["rss_bytes_per_connection"], 0),
        num(&r["server_cpu_pct"], 1),
        num(&r["server_cpu_us_per_frame"], 2)
    );
    if !r["watched_cpu_s"].is_null() {
        println!(
            "  watched   CPU {} s ({} µs per frame)",
            num(&r["watched_cpu_s"], 2),
            num(&r["watched_cpu_us_per_frame"], 2)
        );
    }
}
