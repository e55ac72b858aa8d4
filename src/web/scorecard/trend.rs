//! The trend chart: scores of the weeks or months of a year as inline SVG
//! (server-rendered, no script), over the grade bands, one line per
//! department, each point titled with its period, score and grade.

use maud::{Markup, html};

use crate::catalog::Checks;
use crate::tally::{Step, Trend};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 240.0;
/// Room for the score axis on the left and the period labels below.
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

fn y(score: f64) -> f64 {
    TOP + (100.0 - score.clamp(0.0, 100.0)) / 100.0 * (HEIGHT - TOP - BOTTOM)
}

fn x(i: usize, n: usize) -> f64 {
    let span = WIDTH - LEFT - RIGHT;
    if n < 2 {
        return LEFT + span / 2.0;
    }
    LEFT + span * i as f64 / (n - 1) as f64
}

/// The chart of `departments` (ids, drawn in this order) over `trend`.
pub(super) fn trend_chart(checks: &Checks, trend: &Trend, departments: &[&str]) -> Markup {
    let n = trend.points.len();
    let bands = checks.grades.bands();
    let unit = match trend.by {
        Step::Week => "每周 weekly",
        Step::Month => "每月 monthly",
    };
    // The period labels: the first, a middle one and the last.
    let labelled = [0, n / 2, n.saturating_sub(1)];
    html! {
        figure.trend {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
                role="img" aria-label={ "质量评分趋势 Score trend, " (unit) } {
                @for (i, b) in bands.iter().enumerate() {
                    @let upper = if i == 0 { 100.0 } else { bands[i - 1].min_score };
                    rect class={ "band g" (i.min(4)) } x=(LEFT) y=(y(upper))
                        width=(WIDTH - LEFT - RIGHT) height=(y(b.min_score) - y(upper)) {
                        title { (b.grade) " " (b.name) " ≥ " (b.min_score) }
                    }
                    text.axis x=(LEFT - 4.0) y=(y(b.min_score) + 4.0) text-anchor="end" { (b.min_score) }
                }
                // Sealed periods: a dashed line and 封, the hash in its title.
                @for (i, p) in trend.points.iter().enumerate() {
                    @if let Some(sha) = &p.sealed {
                        g.sealed {
                            title { "已封存 Sealed " (p.period) " · SHA-256 " (sha) }
                            line x1=(x(i, n)) x2=(x(i, n)) y1=(y(100.0)) y2=(y(0.0)) {}
                            text.axis x=(x(i, n)) y=(y(100.0) + 10.0) text-anchor="middle" { "封" }
                        }
                    }
                }
                @for &i in &labelled {
                    @if let Some(p) = trend.points.get(i) {
                        text.axis x=(x(i, n)) y=(HEIGHT - 8.0) text-anchor="middle" { (p.period) }
                    }
                }
                @for (k, dep) in departments.iter().enumerate() {
                    @for segment in segments(trend, dep) {
                        polyline class={ "line l" (k % 6) } points=(segment) {}
                    }
                    @for (i, p) in trend.points.iter().enumerate() {
                        @if let Some(s) = p.departments.get(*dep).and_then(|d| d.score) {
                            circle class={ "dot l" (k % 6) } cx=(x(i, n)) cy=(y(s)) r="3" {
                                title {
                                    (checks.department_name(dep)) " " (p.period) ": " (format!("{s:.2}"))
                                    @if let Some(g) = p.departments.get(*dep).and_then(|d| d.grade.as_deref()) { " " (g) }
                                }
                            }
                        }
                    }
                }
            }
            @if departments.len() > 1 {
                figcaption {
                    @for (k, dep) in departments.iter().enumerate() {
                        span class={ "key l" (k % 6) } { "■ " } (checks.department_name(dep)) " "
                    }
                }
            }
        }
    }
}

/// The `points` attributes of a department's line: consecutive periods
/// with a score (a period without one breaks the line).
fn segments(trend: &Trend, dep: &str) -> Vec<String> {
    let n = trend.points.len();
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for (i, p) in trend.points.iter().enumerate() {
        match p.departments.get(dep).and_then(|d| d.score) {
            Some(s) => current.push(format!("{:.1},{:.1}", x(i, n), y(s))),
            None if !current.is_empty() => out.push(std::mem::take(&mut current).join(" ")),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}
