//! Draws the scaling series (`--series --plot FILE`) as one SVG chart: a panel per workload
//! and metric, size on a logarithmic x axis, the median of each runtime as a line. A flat
//! line is the goal: the cost per operation should not grow with the number of tasks.

use std::error::Error;

use plotters::prelude::*;

use crate::report::{count, figure, CaseResult};
use crate::Runtime;

/// Panel size in pixels; panels sit two to a row.
const PANEL: (u32, u32) = (520, 330);

/// One line colour per runtime, in `Runtime::ALL` order; tinyloop's is the strongest.
const COLOURS: [RGBColor; 4] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Writes the chart of `results` (the cases of a `--series` run) to `file`.
pub fn series(file: &str, results: &[CaseResult]) -> Result<(), Box<dyn Error>> {
    // The panels, in report order: one per (workload, metric) that has any figure.
    let mut panels: Vec<(&str, usize)> = Vec::new();
    for result in results {
        for m in 0..result.workload.metrics.len() {
            let key = (result.workload.name, m);
            if !panels.contains(&key) {
                panels.push(key);
            }
        }
    }
    if panels.is_empty() {
        return Err("the series has no results to draw".into());
    }
    let rows = panels.len().div_ceil(2);
    let root = SVGBackend::new(file, (2 * PANEL.0, rows as u32 * PANEL.1)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((rows, 2));
    for (area, &(name, m)) in areas.iter().zip(&panels) {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.workload.name == name).collect();
        let workload = cases[0].workload;
        let lines: Vec<(Runtime, Vec<(f64, f64)>)> = Runtime::ALL
            .into_iter()
            .map(|rt| {
                let points = cases
                    .iter()
                    .filter_map(|c| Some((c.size as f64, c.median(rt, m)?)))
                    .collect();
                (rt, points)
            })
            .filter(|(_, points): &(Runtime, Vec<_>)| !points.is_empty())
            .collect();
        let sizes = cases.iter().map(|c| c.size as f64);
        let x_min = sizes.clone().fold(f64::INFINITY, f64::min);
        let x_max = sizes.fold(0.0, f64::max);
        let y_max = lines
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        let unit = workload.metrics[m].unit;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{name}: {unit}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (x_min * 0.8..x_max * 1.25).log_scale(),
                0.0..(y_max * 1.15).max(1.0),
            )?;
        chart
            .configure_mesh()
            .x_desc(workload.counts)
            .y_desc(unit)
            .x_label_formatter(&|x| count(x.round() as usize))
            .y_label_formatter(&|y| figure(*y))
            .light_line_style(WHITE)
            .draw()?;
        for (rt, points) in lines {
            let colour = COLOURS[Runtime::ALL.iter().position(|&r| r == rt).unwrap_or(0)];
            let width = if rt == Runtime::Tinyloop { 3 } else { 2 };
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(width),
                ))?
                .label(rt.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(width))
                });
            chart.draw_series(
                points
                    .iter()
                    .map(|&point| Circle::new(point, 3, colour.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WORKLOADS;

    #[test]
    fn draws_one_panel_per_workload_and_metric() {
        let timers = WORKLOADS.iter().find(|w| w.name == "timers").unwrap();
        let mut results = Vec::new();
        for size in [1_000, 10_000, 100_000] {
            let mut result = CaseResult::new(timers, size);
            for rt in [Runtime::Tinyloop, Runtime::Tokio, Runtime::Smol] {
                result.record(rt, Ok(vec![500.0, 101.0]));
            }
            results.push(result);
        }
        let file =
            std::env::temp_dir().join(format!("tinyloop-bench-plot-{}.svg", std::process::id()));
        let name = file.to_str().unwrap().to_string();
        series(&name, &results).unwrap();
        let svg = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(svg.starts_with("<svg"), "an SVG document");
        assert!(svg.contains("timers: CPU ns/timer"));
        assert!(svg.contains("timers: wall ms (ideal 100)"));
        for rt in ["tinyloop", "tokio", "smol"] {
            assert!(svg.contains(rt), "the legend names {rt}");
        }
        assert!(
            !svg.contains("futures"),
            "a runtime without figures gets no line"
        );
    }

    #[test]
    fn an_empty_series_is_an_error() {
        assert!(series("/nonexistent/never-written.svg", &[]).is_err());
    }
}
