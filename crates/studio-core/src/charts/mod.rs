//! Charts of a training run, drawn with plotters as SVG (for the model card and the app),
//! learning curves and the active-learning simulation.

use crate::progress::EpochInfo;
use plotters::prelude::*;

const W: u32 = 640;
const H: u32 = 360;

/// The drawing area every chart draws on.
pub(crate) type SvgArea<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Renders `draw` to an SVG string of `size`. A drawing error leaves a partial chart
/// rather than failing the export or report that asked for it.
pub(crate) fn render_svg(
    size: (u32, u32),
    draw: impl FnOnce(&SvgArea<'_>) -> Result<(), Box<dyn std::error::Error>>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let _ = draw(&root);
        let _ = root.present();
    }
    svg
}

/// Training loss per step (and its moving average), with validation loss per epoch.
pub fn loss_chart_svg(step_losses: &[f32], history: &[EpochInfo]) -> String {
    render_svg((W, H), |root| draw_loss(root, step_losses, history))
}

fn draw_loss(
    root: &SvgArea<'_>,
    losses: &[f32],
    history: &[EpochInfo],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let n = losses.len().max(2);
    let steps_per_epoch = n as f64 / history.len().max(1) as f64;
    let max_loss = losses
        .iter()
        .chain(history.iter().map(|h| &h.val_loss))
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.1f32, f32::max) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption("Loss", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..n as f64, 0f64..max_loss * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            losses
                .iter()
                .enumerate()
                .map(|(i, &l)| (i as f64 + 1.0, l as f64)),
            BLUE.mix(0.25),
        ))?
        .label("training loss (per step)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.25)));
    let window = (losses.len() / 20).max(1);
    chart
        .draw_series(LineSeries::new(
            moving_average(losses, window)
                .into_iter()
                .enumerate()
                .map(|(i, l)| (i as f64 + 1.0, l as f64)),
            BLUE.stroke_width(2),
        ))?
        .label("training loss (smoothed)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            history
                .iter()
                .map(|h| (h.epoch as f64 * steps_per_epoch, h.val_loss as f64)),
            RED.stroke_width(2),
        ))?
        .label("validation loss (per epoch)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// Validation accuracy and macro-F1 per epoch.
pub fn validation_chart_svg(history: &[EpochInfo]) -> String {
    render_svg((W, H), |root| draw_validation(root, history))
}

fn draw_validation(
    root: &SvgArea<'_>,
    history: &[EpochInfo],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let epochs = history.len().max(1) as f64;
    let lo = history
        .iter()
        .flat_map(|h| [h.val_accuracy, h.val_macro_f1])
        .fold(1.0f64, f64::min);
    let lo = (lo - 0.05).clamp(0.0, 0.95);
    let mut chart = ChartBuilder::on(root)
        .caption("Validation", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0.5f64..epochs + 0.5, lo..1.0f64)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (name, color, get) in [
        (
            "accuracy",
            GREEN,
            (|h: &EpochInfo| h.val_accuracy) as fn(&EpochInfo) -> f64,
        ),
        ("macro-F1", MAGENTA, |h: &EpochInfo| h.val_macro_f1),
    ] {
        chart
            .draw_series(LineSeries::new(
                history.iter().map(|h| (h.epoch as f64, get(h))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(
            history
                .iter()
                .map(|h| Circle::new((h.epoch as f64, get(h)), 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// A reliability diagram: for each non-empty bin of the top probability (`low`, `high`,
/// the share right, the predictions in it), a bar of the share right against the
/// diagonal a calibrated model would follow. `title` names the model and data.
pub fn reliability_chart_svg(title: &str, bins: &[(f64, f64, f64, usize)]) -> String {
    render_svg((H, H), |root| draw_reliability(root, title, bins))
}

fn draw_reliability(
    root: &SvgArea<'_>,
    title: &str,
    bins: &[(f64, f64, f64, usize)],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("confidence (top probability)")
        .y_desc("share right")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(
        bins.iter().filter(|b| b.3 > 0).map(|&(lo, hi, acc, _)| {
            Rectangle::new([(lo, 0.0), (hi, acc)], BLUE.mix(0.5).filled())
        }),
    )?;
    chart.draw_series(LineSeries::new(
        [(0.0, 0.0), (1.0, 1.0)],
        BLACK.mix(0.5).stroke_width(1),
    ))?;
    Ok(())
}

/// Trailing moving average with the given window.
pub fn moving_average(xs: &[f32], window: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(xs.len());
    let mut sum = 0f32;
    for i in 0..xs.len() {
        sum += xs[i];
        if i >= window {
            sum -= xs[i - window];
        }
        out.push(sum / (i + 1).min(window) as f32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_titles() {
        let hist = vec![EpochInfo {
            epoch: 1,
            epochs: 2,
            train_loss: 0.6,
            val_loss: 0.5,
            val_accuracy: 0.7,
            val_macro_f1: 0.69,
            best: true,
        }];
        let svg = loss_chart_svg(&[0.7, 0.6, 0.5], &hist);
        assert!(svg.starts_with("<svg") && svg.contains("Loss"));
        let svg = validation_chart_svg(&hist);
        assert!(svg.contains("Validation") && svg.contains("macro-F1"));
    }

    #[test]
    fn moving_average_smooths() {
        assert_eq!(moving_average(&[1.0, 3.0, 5.0], 2), vec![1.0, 2.0, 4.0]);
    }
}
