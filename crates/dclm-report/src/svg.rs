//! Inline SVG charts drawn by hand (no plotting crate, no scripts): horizontal bars, histograms, line charts.

use crate::model::{Histogram, LossCurve};
use std::fmt::Write;

/// Escape text for HTML/SVG text nodes and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in HTML text; show them as U+FFFD.
            c if (c.is_control() && c != '\n' && c != '\t' && c != '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Integer with thin thousands separators (`1 234 567`).
pub(crate) fn fmt_int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Short number for axis ticks (`0.25`, `1.5k`, `3M`).
pub(crate) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e9 {
        format!("{}G", trim(format!("{:.1}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

/// "Nice" tick positions covering [lo, hi] (about `n` ticks).
pub(crate) fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut t = start;
    while t <= hi + step * 1e-9 && ticks.len() < 50 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    ticks
}

/// A horizontal bar chart: one bar per (label, value, note) row, `note` printed after the bar.
pub(crate) fn hbar_chart(title: &str, rows: &[(String, f64, String)], color: &str) -> String {
    // Room for the longest label (≈ 6.6 px per character at 11 px), within limits.
    let longest = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0) as f64;
    let label_w = (longest * 6.6 + 14.0).clamp(80.0, 320.0);
    let bar_w = 420.0;
    let note_w = 190.0;
    let row_h = 26.0;
    let top = 28.0;
    let width = label_w + bar_w + note_w;
    let height = top + row_h * rows.len().max(1) as f64 + 8.0;
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="{t}" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}"><title>{t}</title><text x="0" y="16" class="ct">{t}</text>"#,
        t = esc(title)
    );
    for (i, (label, v, note)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let w = if max > 0.0 && v.is_finite() && *v > 0.0 {
            (v / max * bar_w).max(1.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            r#"<text x="{lx:.1}" y="{ty:.1}" class="lbl" text-anchor="end">{l}</text><rect x="{label_w:.1}" y="{y:.1}" width="{w:.1}" height="{bh:.1}" fill="{color}"><title>{l}: {n}</title></rect><text x="{nx:.1}" y="{ty:.1}" class="num">{n}</text>"#,
            lx = label_w - 8.0,
            ty = y + row_h * 0.62,
            bh = row_h - 8.0,
            nx = label_w + w + 6.0,
            l = esc(label),
            n = esc(note)
        );
    }
    s.push_str("</svg>");
    s
}

/// Plot frame shared by histograms and line charts.
struct Frame {
    left: f64,
    top: f64,
    w: f64,
    h: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn x(&self, v: f64) -> f64 {
        self.left + (v - self.x0) / (self.x1 - self.x0) * self.w
    }
    fn y(&self, v: f64) -> f64 {
        self.top + self.h - (v - self.y0) / (self.y1 - self.y0) * self.h
    }
    fn width(&self) -> f64 {
        self.left + self.w + 20.0
    }
    fn height(&self) -> f64 {
        self.top + self.h + 46.0
    }

    /// Open the svg, draw axes, ticks, labels; the caller appends the marks and `</svg>`.
    fn open(&self, title: &str, x_label: &str, y_label: &str) -> String {
        let mut s = String::new();
        let (w, h) = (self.width(), self.height());
        let _ = write!(
            s,
            r#"<svg class="chart" role="img" aria-label="{t}" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}"><title>{t}</title><text x="0" y="16" class="ct">{t}</text>"#,
            t = esc(title)
        );
        for t in nice_ticks(self.y0, self.y1, 5) {
            let y = self.y(t);
            let _ = write!(
                s,
                r#"<line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" class="grid"/><text x="{tx:.1}" y="{ty:.1}" class="tick" text-anchor="end">{v}</text>"#,
                l = self.left,
                r = self.left + self.w,
                tx = self.left - 5.0,
                ty = y + 4.0,
                v = esc(&fmt_tick(t))
            );
        }
        for t in nice_ticks(self.x0, self.x1, 6) {
            let x = self.x(t);
            let _ = write!(
                s,
                r#"<line x1="{x:.1}" y1="{b:.1}" x2="{x:.1}" y2="{b5:.1}" class="axis"/><text x="{x:.1}" y="{ty:.1}" class="tick" text-anchor="middle">{v}</text>"#,
                b = self.top + self.h,
                b5 = self.top + self.h + 5.0,
                ty = self.top + self.h + 18.0,
                v = esc(&fmt_tick(t))
            );
        }
        let _ = write!(
            s,
            r#"<line x1="{l:.1}" y1="{t:.1}" x2="{l:.1}" y2="{b:.1}" class="axis"/><line x1="{l:.1}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" class="axis"/><text x="{cx:.1}" y="{xl:.1}" class="al" text-anchor="middle">{xlab}</text><text x="12" y="{cy:.1}" class="al" text-anchor="middle" transform="rotate(-90 12 {cy:.1})">{ylab}</text>"#,
            l = self.left,
            t = self.top,
            b = self.top + self.h,
            r = self.left + self.w,
            cx = self.left + self.w / 2.0,
            xl = self.top + self.h + 38.0,
            cy = self.top + self.h / 2.0,
            xlab = esc(x_label),
            ylab = esc(y_label)
        );
        s
    }
}

/// Vertical-bar histogram with an optional threshold line.
pub(crate) fn histogram_chart(hist: &Histogram) -> String {
    let max = hist.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let frame = Frame {
        left: 56.0,
        top: 28.0,
        w: 520.0,
        h: 200.0,
        x0: hist.lo,
        x1: hist.hi,
        y0: 0.0,
        y1: max,
    };
    let mut s = frame.open(&hist.title, &hist.x_label, "documents");
    let bw = hist.bin_width();
    for (i, &c) in hist.counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let a = hist.lo + bw * i as f64;
        let x = frame.x(a);
        let x2 = frame.x(a + bw);
        let y = frame.y(c as f64);
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" class="bar"><title>[{a}, {b}): {c}</title></rect>"#,
            w = (x2 - x - 1.0).max(1.0),
            h = frame.top + frame.h - y,
            a = esc(&fmt_tick(a)),
            b = esc(&fmt_tick(a + bw))
        );
    }
    if let Some(t) = hist.threshold.filter(|t| t.is_finite()) {
        let x = frame.x(t.clamp(hist.lo, hist.hi));
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" y1="{t0:.1}" x2="{x:.1}" y2="{b:.1}" class="thr"/><text x="{tx:.1}" y="{ty:.1}" class="thrl">threshold {v}</text>"#,
            t0 = frame.top,
            b = frame.top + frame.h,
            tx = x + 4.0,
            ty = frame.top + 12.0,
            v = esc(&fmt_tick(t))
        );
    }
    s.push_str("</svg>");
    s
}

/// Loss curve: train loss (and validation loss points if any) against step.
pub(crate) fn loss_chart(curve: &LossCurve) -> String {
    let pts: Vec<_> = curve.points.iter().filter(|p| p.train_loss.is_finite()).collect();
    let vals: Vec<f64> = pts
        .iter()
        .map(|p| p.train_loss)
        .chain(curve.points.iter().filter_map(|p| p.val_loss).filter(|v| v.is_finite()))
        .collect();
    let (mut y0, mut y1) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !(y0.is_finite() && y1.is_finite()) {
        (y0, y1) = (0.0, 1.0);
    }
    if y1 - y0 < 1e-9 {
        y1 = y0 + 1.0;
    }
    let pad = (y1 - y0) * 0.05;
    let (x0, x1) = match (curve.points.first(), curve.points.last()) {
        (Some(a), Some(b)) if b.step > a.step => (a.step as f64, b.step as f64),
        (Some(a), _) => (a.step as f64, a.step as f64 + 1.0),
        _ => (0.0, 1.0),
    };
    let frame = Frame {
        left: 56.0,
        top: 28.0,
        w: 560.0,
        h: 240.0,
        x0,
        x1,
        y0: (y0 - pad).max(0.0),
        y1: y1 + pad,
    };
    let mut s = frame.open("Training loss", "optimizer step", "loss (nats/token)");
    let mut path = String::new();
    for (i, p) in pts.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { " L" },
            frame.x(p.step as f64),
            frame.y(p.train_loss)
        );
    }
    if !path.is_empty() {
        let _ = write!(s, r#"<path d="{path}" class="line"/>"#);
    }
    for p in curve.points.iter() {
        if let Some(v) = p.val_loss.filter(|v| v.is_finite()) {
            let _ = write!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" class="val"><title>step {st}: val loss {v:.4}</title></circle>"#,
                x = frame.x(p.step as f64),
                y = frame.y(v),
                st = p.step
            );
        }
    }
    let lx = frame.left + frame.w - 150.0;
    let _ = write!(
        s,
        r#"<line x1="{lx:.1}" y1="40" x2="{lx2:.1}" y2="40" class="line"/><text x="{tx:.1}" y="44" class="tick">train</text><circle cx="{cx:.1}" cy="40" r="3.5" class="val"/><text x="{tx2:.1}" y="44" class="tick">validation</text>"#,
        lx2 = lx + 20.0,
        tx = lx + 24.0,
        cx = lx + 70.0,
        tx2 = lx + 78.0
    );
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_range() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = nice_ticks(0.0, 1234.0, 5);
        assert_eq!(t.first(), Some(&0.0));
        assert!(*t.last().unwrap() <= 1234.0 && *t.last().unwrap() >= 1000.0);
        assert_eq!(nice_ticks(3.0, 3.0, 5), vec![3.0]);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5).len(), 1);
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(1234567), "1\u{2009}234\u{2009}567");
        assert_eq!(fmt_int(12), "12");
        assert_eq!(fmt_tick(0.25), "0.25");
        assert_eq!(fmt_tick(15000.0), "15k");
        assert_eq!(fmt_tick(2_500_000.0), "2.5M");
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(esc("a\u{0}b"), "a\u{FFFD}b");
    }
}
