use std::path::{Path, PathBuf};
use std::process::Command;

use hourglass_report::html;

use crate::sample_report;

const CHARTS: [&str; 4] = ["volume", "scenarios", "heatmap", "lead-time"];
const WIDTH: u32 = 640;
const HEIGHT: u32 = 340;

/// The Chromium binary, or `None` (after saying so) when it is absent.
/// Under `CI=true` an absent Chromium fails the test.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            && output.status.success()
        {
            let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if !path.is_empty() {
                return Some(PathBuf::from(path));
            }
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium is not installed, and CI=true: install it (apt-get install -y chromium)"
    );
    eprintln!("NOT RUN: chromium is not installed; the HTML report was not rendered");
    None
}

/// Screenshots `page` at WIDTH×HEIGHT; returns RGBA pixels.
fn screenshot(chromium: &Path, dir: &Path, name: &str, page: &str) -> Vec<u8> {
    let html = dir.join(format!("{name}.html"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&html, page).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    let channels = info.color_type.samples();
    pixels
        .chunks(channels)
        .take((info.width * info.height) as usize)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// One chart of the report alone on a page, with the report's styles;
/// `hide_marks` hides its data marks.
fn chart_page(report_html: &str, chart: &str, hide_marks: bool) -> String {
    let style_start = report_html.find("<style>").unwrap();
    let style_end = report_html.find("</style>").unwrap() + "</style>".len();
    let start = report_html
        .find(&format!(r#"<svg class="chart" data-chart="{chart}""#))
        .unwrap_or_else(|| panic!("no chart {chart}"));
    let end = start + report_html[start..].find("</svg>").unwrap() + "</svg>".len();
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8">{}{}</head><body style="margin:0;background:#fff"><div style="width:{}px">{}</div></body></html>"#,
        &report_html[style_start..style_end],
        if hide_marks {
            "<style>.mark { display: none }</style>"
        } else {
            ""
        },
        WIDTH - 20,
        &report_html[start..end]
    )
}

fn differing(a: &[u8], b: &[u8]) -> usize {
    a.chunks(3)
        .zip(b.chunks(3))
        .filter(|(x, y)| x.iter().zip(y.iter()).any(|(p, q)| p.abs_diff(*q) > 24))
        .count()
}

fn coloured(pixels: &[u8]) -> usize {
    pixels
        .chunks(3)
        .filter(|p| {
            let (max, min) = (p.iter().max().unwrap(), p.iter().min().unwrap());
            max - min > 40
        })
        .count()
}

#[test]
fn every_chart_draws_its_data_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let report = sample_report();
    let page = html(&report);
    let dir = tempfile::tempdir().unwrap();
    for chart in CHARTS {
        let drawn = screenshot(
            &chromium,
            dir.path(),
            chart,
            &chart_page(&page, chart, false),
        );
        let bare = screenshot(
            &chromium,
            dir.path(),
            &format!("{chart}-bare"),
            &chart_page(&page, chart, true),
        );
        let marks = differing(&drawn, &bare);
        // A chart's marks cover at least 1% of its picture.
        assert!(
            marks > (WIDTH * HEIGHT / 100) as usize,
            "{chart}: its data marks changed only {marks} pixels"
        );
        assert!(
            coloured(&drawn) > coloured(&bare),
            "{chart}: no coloured marks"
        );
    }
}

#[test]
fn the_whole_page_renders_with_its_charts_side_by_side() {
    let Some(chromium) = chromium() else {
        return;
    };
    let page = html(&sample_report());
    let dir = tempfile::tempdir().unwrap();
    let pixels = screenshot(&chromium, dir.path(), "page", &page);
    // The page is not blank: the headline, cards and charts put ink on it.
    let ink = pixels
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 160))
        .count();
    assert!(
        ink > 500,
        "the page drew almost nothing ({ink} dark pixels)"
    );
}

#[test]
fn the_check_fails_a_chart_that_draws_nothing() {
    let Some(chromium) = chromium() else {
        return;
    };
    let page = html(&sample_report());
    let dir = tempfile::tempdir().unwrap();
    // The same chart with its marks hidden on both sides: what an empty
    // chart looks like to the check above.
    let bare = chart_page(&page, "volume", true);
    let a = screenshot(&chromium, dir.path(), "empty-a", &bare);
    let b = screenshot(&chromium, dir.path(), "empty-b", &bare);
    assert!(differing(&a, &b) <= (WIDTH * HEIGHT / 100) as usize);
    let drawn = screenshot(
        &chromium,
        dir.path(),
        "drawn",
        &chart_page(&page, "volume", false),
    );
    assert!(differing(&a, &drawn) > (WIDTH * HEIGHT / 100) as usize);
    assert!(coloured(&a) < coloured(&drawn));
}
