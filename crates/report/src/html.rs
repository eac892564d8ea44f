//! The report as one self-contained HTML page: CSS inline, charts as inline
//! SVG, no scripts, no external resources.

use std::fmt::Write as _;

use hourglass_plan::Verdict;

use crate::{Answer, TestRow, WeeklyReport, duration, opt, percent};

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

const STYLE: &str = r#"
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --card: #fff;
  --blue: #2f6fde; --teal: #0f9d8a; --amber: #d98c00; --red: #d64545; --green: #2f9e44; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
header h1 { font-size: 20px; margin: 0 0 12px; font-weight: 600; }
header .week { color: var(--muted); font-weight: 400; }
.headline { padding: 14px 18px; border-radius: 8px; font-size: 17px; font-weight: 600;
  border-left: 6px solid var(--muted); background: var(--card); margin-bottom: 16px; }
.headline.yes { border-color: var(--green); } .headline.at_risk { border-color: var(--amber); }
.headline.no { border-color: var(--red); }
.kpis { display: grid; grid-template-columns: repeat(6, 1fr); gap: 10px; margin-bottom: 16px; }
.kpi { background: var(--card); border-radius: 8px; padding: 10px 12px; }
.kpi .value { font-size: 20px; font-weight: 600; }
.kpi .label { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.card { background: var(--card); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.card h2 { font-size: 15px; margin: 0 0 2px; font-weight: 600; }
.card p.sub { margin: 0 0 8px; color: var(--muted); font-size: 12px; }
svg.chart { display: block; width: 100%; height: auto; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--muted); }
svg .axis { stroke: var(--line); }
svg text.halo { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
td:first-child { white-space: nowrap; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 500; border-bottom: 1px solid var(--line); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; word-break: break-all; }
.verdict { padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.verdict.absorbs { background: var(--green); } .verdict.at_risk { background: var(--amber); }
.verdict.saturates { background: var(--red); }
.notes { color: var(--muted); font-size: 12px; }
.legend { font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
"#;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" upper bound for an axis of four steps: 4 × 1, 2, 2.5 or 5 × 10ⁿ.
fn nice_max(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 4.0;
    }
    let quarter = value / 4.0;
    let magnitude = 10f64.powf(quarter.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if quarter <= step * magnitude {
            return 4.0 * step * magnitude;
        }
    }
    40.0 * magnitude
}

/// The unit a duration axis up to `max_s` is labelled in: seconds per unit
/// and its symbol.
fn duration_unit(max_s: f64) -> (f64, &'static str) {
    if max_s > 36.0 * 3600.0 {
        (86_400.0, "d")
    } else if max_s > 90.0 * 60.0 {
        (3600.0, "h")
    } else if max_s > 90.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    }
}

fn svg_open(out: &mut String, name: &str, label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" data-chart="{name}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(label)
    );
}

fn empty(out: &mut String, message: &str) {
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text></svg>"#,
        WIDTH / 2.0,
        HEIGHT / 2.0,
        escape(message)
    );
}

/// Y axis with gridlines at quarters of `max`, labelled by `show`.
fn y_axis(out: &mut String, max: f64, show: &dyn Fn(f64) -> String) {
    let plot = HEIGHT - TOP - BOTTOM;
    for i in 0..=4 {
        let value = max * f64::from(i) / 4.0;
        let y = TOP + plot - plot * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&show(value))
        );
    }
}

/// Week labels under the x axis, thinned to at most 8.
fn x_labels(out: &mut String, labels: &[String], x_of: &dyn Fn(usize) -> f64) {
    let step = labels.len().div_ceil(8).max(1);
    for (i, label) in labels.iter().enumerate() {
        if i % step == 0 || i + 1 == labels.len() {
            let short = label.split_once('-').map_or(label.as_str(), |(_, w)| w);
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x_of(i),
                HEIGHT - BOTTOM + 16.0,
                escape(short)
            );
        }
    }
}

fn volume_chart(out: &mut String, report: &WeeklyReport) {
    svg_open(out, "volume", "Merged changes per week against CI capacity");
    let weeks = &report.weeks;
    if weeks.iter().all(|w| w.changes == 0) {
        return empty(out, "no merged changes yet");
    }
    let capacity = report.capacity_changes_per_week;
    let top = weeks
        .iter()
        .map(|w| f64::from(w.changes))
        .fold(capacity.unwrap_or(0.0).min(1e9), f64::max);
    let max = nice_max(top * 1.05);
    y_axis(out, max, &|v| format!("{v:.0}"));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / weeks.len() as f64;
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    for (i, w) in weeks.iter().enumerate() {
        let h = plot_h * f64::from(w.changes) / max;
        let _ = write!(
            out,
            r##"<rect class="mark" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" fill="#2f6fde"><title>{}: {} changes</title></rect>"##,
            x_of(i) - slot * 0.35,
            TOP + plot_h - h,
            slot * 0.7,
            h.max(0.5),
            w.week,
            w.changes
        );
    }
    if let Some(capacity) = capacity {
        let y = TOP + plot_h - plot_h * (capacity / max).min(1.0);
        let _ = write!(
            out,
            r##"<line class="mark" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d64545" stroke-width="2" stroke-dasharray="6 4"/><text class="halo" x="{:.1}" y="{:.1}" style="fill:#d64545;font-weight:600">capacity ≈ {capacity:.0} changes/week</text>"##,
            WIDTH - RIGHT,
            LEFT + 6.0,
            (y - 6.0).max(TOP + 10.0)
        );
    }
    let labels: Vec<String> = weeks.iter().map(|w| w.week.clone()).collect();
    x_labels(out, &labels, &x_of);
    out.push_str("</svg>");
}

fn scenario_chart(out: &mut String, report: &WeeklyReport) {
    svg_open(
        out,
        "scenarios",
        "Utilisation and mean queue wait per scenario",
    );
    // Every volume alone, then +50% with each lever.
    let scenarios: Vec<_> = report
        .scenarios
        .iter()
        .filter(|s| s.levers.is_empty())
        .chain(
            report
                .scenarios
                .iter()
                .filter(|s| !s.levers.is_empty() && (s.volume_factor - 1.5).abs() < 1e-9),
        )
        .take(10)
        .collect();
    if scenarios.is_empty() {
        return empty(out, "no scenarios: no runs or no changes yet");
    }
    let label_w = 150.0;
    let plot_w = WIDTH - label_w - 90.0;
    let row = (HEIGHT - TOP - 24.0) / scenarios.len() as f64;
    let max = 1.2_f64;
    let x0 = label_w;
    // Target utilisation.
    let target_x = x0 + plot_w * (report.model.target_utilisation / max);
    let full_x = x0 + plot_w * (1.0 / max);
    let _ = write!(
        out,
        r##"<line x1="{target_x:.1}" x2="{target_x:.1}" y1="{TOP}" y2="{:.1}" stroke="#d98c00" stroke-dasharray="4 3"/><text x="{target_x:.1}" y="{:.1}" text-anchor="middle">target {}</text><line x1="{full_x:.1}" x2="{full_x:.1}" y1="{TOP}" y2="{:.1}" stroke="#d64545" stroke-dasharray="2 3"/><text x="{full_x:.1}" y="{:.1}" text-anchor="middle">100%</text>"##,
        HEIGHT - 20.0,
        HEIGHT - 6.0,
        percent(report.model.target_utilisation),
        HEIGHT - 20.0,
        HEIGHT - 6.0,
    );
    for (i, s) in scenarios.iter().enumerate() {
        let y = TOP + row * i as f64;
        let color = match s.verdict {
            Verdict::Absorbs => "#2f9e44",
            Verdict::AtRisk => "#d98c00",
            Verdict::Saturates => "#d64545",
        };
        let utilisation = if s.utilisation.is_finite() {
            s.utilisation
        } else {
            max
        };
        let w = plot_w * (utilisation.min(max) / max);
        let shown = if s.utilisation.is_finite() {
            percent(s.utilisation)
        } else {
            "∞".to_owned()
        };
        let name: String = s.name.chars().take(24).collect();
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" style="fill:#1f2933">{}</text><rect class="mark" x="{x0}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" fill="{color}"><title>{}: {} utilisation</title></rect><text class="halo" x="{:.1}" y="{:.1}">{} · {}</text>"#,
            x0 - 8.0,
            y + row * 0.5 + 4.0,
            escape(&name),
            y + row * 0.15,
            w.max(1.0),
            row * 0.7,
            escape(&s.name),
            shown,
            (x0 + w + 6.0).min(WIDTH - 86.0),
            y + row * 0.5 + 4.0,
            shown,
            s.wait_s
                .map_or_else(|| "∞ wait".to_owned(), |w| format!("{} wait", duration(w)))
        );
    }
    out.push_str("</svg>");
}

fn heat_map(out: &mut String, report: &WeeklyReport) {
    svg_open(out, "heatmap", "Merged changes by hour of the week (UTC)");
    let counts = &report.hour_of_week;
    let max = counts.iter().copied().max().unwrap_or(0);
    if max == 0 || counts.len() != 168 {
        return empty(out, "no merged changes yet");
    }
    let left = 40.0;
    let cell_w = (WIDTH - left - RIGHT) / 24.0;
    let cell_h = (HEIGHT - TOP - 30.0) / 7.0;
    for (day, name) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .enumerate()
    {
        let y = TOP + cell_h * day as f64;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{name}</text>"#,
            left - 6.0,
            y + cell_h * 0.5 + 4.0
        );
        for hour in 0..24 {
            let count = counts[day * 24 + hour];
            let x = left + cell_w * hour as f64;
            if count == 0 {
                let _ = write!(
                    out,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#f0f2f5"/>"##,
                    cell_w - 1.5,
                    cell_h - 1.5
                );
            } else {
                let strength = 0.15 + 0.85 * f64::from(count) / f64::from(max);
                let _ = write!(
                    out,
                    r##"<rect class="mark" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#0f9d8a" fill-opacity="{strength:.2}"><title>{name} {hour:02}:00 — {count} changes</title></rect>"##,
                    cell_w - 1.5,
                    cell_h - 1.5
                );
            }
        }
    }
    for hour in (0..24).step_by(3) {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{hour:02}h</text>"#,
            left + cell_w * (f64::from(hour) + 0.5),
            HEIGHT - 10.0
        );
    }
    out.push_str("</svg>");
}

fn line_chart(
    out: &mut String,
    name: &str,
    label: &str,
    series: &[(String, Option<f64>)],
    color: &str,
    nothing: &str,
) {
    svg_open(out, name, label);
    let points: Vec<(usize, f64)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.map(|v| (i, v)))
        .collect();
    if points.is_empty() {
        return empty(out, nothing);
    }
    let top = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let (unit, symbol) = duration_unit(top);
    let max = nice_max(top * 1.05 / unit) * unit;
    y_axis(out, max, &|v| {
        if v == 0.0 {
            "0".to_owned()
        } else {
            format!("{} {symbol}", v / unit)
        }
    });
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / series.len().max(1) as f64;
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y_of = |v: f64| TOP + plot_h - plot_h * v / max;
    let path: Vec<String> = points
        .iter()
        .map(|&(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(v)))
        .collect();
    let _ = write!(
        out,
        r#"<polyline class="mark" points="{}" fill="none" stroke="{color}" stroke-width="2.5" stroke-linejoin="round"/>"#,
        path.join(" ")
    );
    for &(i, v) in &points {
        let _ = write!(
            out,
            r#"<circle class="mark" cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>{}: {}</title></circle>"#,
            x_of(i),
            y_of(v),
            escape(&series[i].0),
            duration(v)
        );
    }
    let labels: Vec<String> = series.iter().map(|s| s.0.clone()).collect();
    x_labels(out, &labels, &x_of);
    out.push_str("</svg>");
}

fn test_table(out: &mut String, title: &str, detail: &str, score: &str, rows: &[TestRow]) {
    let _ = write!(out, r#"<section class="card"><h2>{}</h2>"#, escape(title));
    if rows.is_empty() {
        let _ = write!(out, r#"<p class="sub">None in the window.</p></section>"#);
        return;
    }
    let _ = write!(
        out,
        r#"<table><thead><tr><th>Test</th><th>Owners</th><th class="num">{}</th><th>{}</th></tr></thead><tbody>"#,
        escape(score),
        escape(detail)
    );
    for row in rows {
        let owners = if row.owners.is_empty() {
            "(unowned)".to_owned()
        } else {
            row.owners.join(" ")
        };
        let _ = write!(
            out,
            r#"<tr><td><code>{}</code></td><td>{}</td><td class="num">{:.2}</td><td>{}</td></tr>"#,
            escape(&row.test),
            escape(&owners),
            row.score,
            escape(&row.detail)
        );
    }
    out.push_str("</tbody></table></section>");
}

/// Renders the report as one self-contained HTML page.
pub fn html(report: &WeeklyReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let week = report.week.as_deref().unwrap_or("no data yet");
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>QA capacity report · {}</title><style>{STYLE}</style></head><body><main>"#,
        escape(week)
    );
    let class = match report.answer {
        Answer::Yes => "yes",
        Answer::AtRisk => "at_risk",
        Answer::No => "no",
        Answer::Unknown => "unknown",
    };
    let _ = write!(
        out,
        r#"<header><h1>QA capacity report <span class="week">· {}</span></h1><p class="headline {class}" id="headline">{}</p></header>"#,
        escape(week),
        escape(&report.headline)
    );
    let last = report
        .weeks
        .iter()
        .rev()
        .find(|w| w.changes > 0 || w.runs > 0);
    let t = &report.totals;
    let kpis = [
        (
            percent(report.model.utilisation),
            "CI utilisation (busy hours)",
        ),
        (
            report.model.headroom.map_or_else(
                || "–".to_owned(),
                |h| {
                    format!(
                        "{}{:.0}%",
                        if h >= 0.0 { "+" } else { "−" },
                        h.abs() * 100.0
                    )
                },
            ),
            "more volume CI absorbs",
        ),
        (
            opt(last.and_then(|w| w.lead_time_p50_s), duration),
            "lead time p50, last week",
        ),
        (
            opt(last.and_then(|w| w.change_failure_rate), percent),
            "change failure rate",
        ),
        (format!("{}", report.broken.len()), "broken tests"),
        (format!("{}", report.flaky.len()), "flaky tests"),
    ];
    out.push_str(r#"<section class="kpis">"#);
    for (value, label) in kpis {
        let _ = write!(
            out,
            r#"<div class="kpi"><div class="value">{}</div><div class="label">{}</div></div>"#,
            escape(&value),
            escape(label)
        );
    }
    out.push_str("</section>");
    let _ = write!(
        out,
        r#"<p class="notes">From {} CI runs, {} tests, {} merged changes and {} CI jobs.</p>"#,
        t.runs, t.tests, t.changes, t.ci_jobs
    );

    out.push_str(r#"<div class="grid">"#);
    out.push_str(r#"<section class="card"><h2>Change volume against capacity</h2><p class="sub">Merged changes per ISO week; the dashed line is what CI absorbs at today's test time per change.</p>"#);
    volume_chart(&mut out, report);
    out.push_str("</section>");
    out.push_str(r#"<section class="card"><h2>Utilisation and wait per scenario</h2><p class="sub">Queue model of CI at more change volume, alone and with levers.</p>"#);
    scenario_chart(&mut out, report);
    out.push_str(r#"<div class="legend"><span><i class="swatch" style="background:#2f9e44"></i>absorbs</span><span><i class="swatch" style="background:#d98c00"></i>at risk</span><span><i class="swatch" style="background:#d64545"></i>saturates</span></div></section>"#);
    out.push_str(r#"<section class="card"><h2>When changes land</h2><p class="sub">Merged changes by hour of the week (UTC): the busy hours set the arrival rate.</p>"#);
    heat_map(&mut out, report);
    out.push_str("</section>");
    let lead: Vec<(String, Option<f64>)> = report
        .weeks
        .iter()
        .map(|w| (w.week.clone(), w.lead_time_p50_s))
        .collect();
    out.push_str(r#"<section class="card"><h2>Lead time for changes</h2><p class="sub">Median time from a branch's first commit to its merge, per week.</p>"#);
    line_chart(
        &mut out,
        "lead-time",
        "Median lead time for changes per week",
        &lead,
        "#2f6fde",
        "no merged branches yet",
    );
    out.push_str("</section></div>");

    if !report.weeks.is_empty() {
        out.push_str(r#"<section class="card"><h2>Weekly outcomes</h2><table><thead><tr><th>Week</th><th class="num">Changes</th><th class="num">Runs</th><th class="num">Test time / change</th><th class="num">Wall time / run</th><th class="num">Flaky time</th><th class="num">Lead time p50</th><th class="num">Releases</th><th class="num">Change failure rate</th><th class="num">Time to green p50</th><th class="num">Queue wait p50</th><th class="num">Runner occupancy</th></tr></thead><tbody>"#);
        for cells in crate::week_rows(report) {
            let (week, figures) = cells.split_first().expect("twelve cells");
            let _ = write!(out, "<tr><td>{week}</td>");
            for figure in figures {
                let _ = write!(out, r#"<td class="num">{figure}</td>"#);
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></section>");
    }
    if !report.scenarios.is_empty() {
        out.push_str(r#"<section class="card"><h2>Scenarios</h2><table><thead><tr><th>Scenario</th><th class="num">Utilisation</th><th class="num">Mean wait</th><th>Verdict</th></tr></thead><tbody>"#);
        for s in &report.scenarios {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td><span class="verdict {}">{}</span>{}</td></tr>"#,
                escape(&s.name),
                percent(s.utilisation),
                opt(s.wait_s, duration),
                s.verdict.as_str(),
                s.verdict.as_str().replace('_', " "),
                s.why.as_deref().map_or_else(String::new, |why| format!(
                    r#"<br><small class="why">{}</small>"#,
                    escape(why)
                ))
            );
        }
        out.push_str("</tbody></table></section>");
    }
    test_table(&mut out, "Broken tests", "Since", "Score", &report.broken);
    test_table(&mut out, "Flaky tests", "Evidence", "Score", &report.flaky);
    test_table(&mut out, "Slowest tests", "Timing", "Share", &report.slow);
    if !report.notes.is_empty() {
        out.push_str(r#"<section class="card notes"><h2>Notes</h2><ul>"#);
        for note in &report.notes {
            let _ = write!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul></section>");
    }
    out.push_str("</main></body></html>\n");
    out
}
