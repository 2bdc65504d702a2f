//! Charts of a training run, drawn with plotters as SVG (for the model card and the app),
//! learning curves and the active-learning simulation.

use crate::progress::EpochInfo;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::RGBAColor;
use serde::{Deserialize, Serialize};

const W: u32 = 640;
const H: u32 = 360;

/// The words drawn on the charts. The engine's reports and model cards use English
/// ([`ChartText::default`]); the app passes the words of the user's language, so that
/// every translation lives in the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ChartText {
    /// The loss chart's title.
    pub loss: String,
    /// Its x axis: optimiser steps.
    pub step: String,
    /// Its y axis: the loss function.
    pub cross_entropy: String,
    /// Legend: the loss of each step.
    pub training_loss_step: String,
    /// Legend: its moving average.
    pub training_loss_smoothed: String,
    /// Legend: the validation loss after each epoch.
    pub validation_loss: String,
    /// The validation chart's title.
    pub validation: String,
    /// Its x axis.
    pub epoch: String,
    /// Legend: accuracy.
    pub accuracy: String,
    /// Legend: macro-F1.
    pub macro_f1: String,
    /// The reliability diagram's title.
    pub reliability: String,
    /// Its x axis.
    pub confidence: String,
    /// Its y axis.
    pub share_right: String,
    /// The learning curve's title.
    pub curve: String,
    /// Its x axis.
    pub labels_per_class: String,
    /// Its y axis.
    pub test_accuracy: String,
    /// Legend names of the training methods, as `Mode`'s Display names them ("head",
    /// "fewshot", "lora", "full"); a method missing here keeps that name.
    pub methods: Vec<(String, String)>,
}

impl Default for ChartText {
    fn default() -> Self {
        let s = |x: &str| x.to_string();
        Self {
            loss: s("Loss"),
            step: s("step"),
            cross_entropy: s("cross-entropy"),
            training_loss_step: s("training loss (per step)"),
            training_loss_smoothed: s("training loss (smoothed)"),
            validation_loss: s("validation loss (per epoch)"),
            validation: s("Validation"),
            epoch: s("epoch"),
            accuracy: s("accuracy"),
            macro_f1: s("macro-F1"),
            reliability: s("Confidence against the share right"),
            confidence: s("confidence (top probability)"),
            share_right: s("share right"),
            curve: s("Learning curve"),
            labels_per_class: s("labels per class"),
            test_accuracy: s("test accuracy"),
            methods: Vec::new(),
        }
    }
}

impl ChartText {
    /// The legend name of the training method the engine calls `name` ("head", ...).
    pub(crate) fn method(&self, name: &str) -> String {
        self.methods
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(|| name.to_string(), |(_, v)| v.clone())
    }
}

/// The words and colours of a chart: light (white paper, the model card's) or dark (to
/// sit in the app's dark theme).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ChartStyle {
    /// The words.
    pub text: ChartText,
    /// Dark background, light ink.
    pub dark: bool,
}

/// The colours a style draws with.
struct Ink {
    paper: RGBAColor,
    ink: RGBAColor,
    /// Series colours, brightened on dark paper.
    series: [RGBAColor; 4],
}

impl ChartStyle {
    fn ink(&self) -> Ink {
        if self.dark {
            // The app's dark theme (ui/src/app.css): --bg #16191c, --fg #e6e9eb.
            Ink {
                paper: RGBColor(0x16, 0x19, 0x1c).to_rgba(),
                ink: RGBColor(0xe6, 0xe9, 0xeb).to_rgba(),
                series: [
                    RGBColor(0x6c, 0xa8, 0xff).to_rgba(),
                    RGBColor(0xff, 0x6b, 0x6b).to_rgba(),
                    RGBColor(0x5f, 0xd0, 0x7a).to_rgba(),
                    RGBColor(0xe0, 0x7b, 0xe0).to_rgba(),
                ],
            }
        } else {
            Ink {
                paper: WHITE.to_rgba(),
                ink: BLACK.to_rgba(),
                series: [
                    BLUE.to_rgba(),
                    RED.to_rgba(),
                    GREEN.to_rgba(),
                    MAGENTA.to_rgba(),
                ],
            }
        }
    }

    /// A font of `size` in the ink colour.
    pub(crate) fn font(&self, size: u32) -> TextStyle<'static> {
        ("sans-serif", size).into_font().color(&self.ink().ink)
    }

    /// The background colour.
    pub(crate) fn paper(&self) -> RGBAColor {
        self.ink().paper
    }

    /// The colour of the `i`-th series: the style's four, then plotters' palette.
    pub(crate) fn series(&self, i: usize) -> RGBAColor {
        self.ink()
            .series
            .get(i)
            .copied()
            .unwrap_or_else(|| Palette99::pick(i).to_rgba())
    }
}

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

/// A chart on f64 axes drawn to SVG: every chart here.
pub(crate) type SvgChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the axes, ticks and axis titles of `chart` in `style`'s ink.
pub(crate) fn draw_mesh(
    chart: &mut SvgChart<'_, '_>,
    style: &ChartStyle,
    x_desc: &str,
    y_desc: Option<&str>,
    x_format: Option<&dyn Fn(&f64) -> String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ink = style.ink().ink;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .axis_style(ink.mix(0.6))
        .bold_line_style(ink.mix(0.12))
        .light_line_style(ink.mix(0.0))
        .label_style(style.font(12))
        .axis_desc_style(style.font(14));
    if let Some(y) = y_desc {
        mesh.y_desc(y);
    }
    if let Some(f) = x_format {
        mesh.x_label_formatter(f);
    }
    mesh.draw()?;
    Ok(())
}

/// Draws the legend of `chart` at `position`, in `style`'s colours.
pub(crate) fn draw_legend<'a, 'b: 'a>(
    chart: &mut SvgChart<'a, 'b>,
    style: &ChartStyle,
    position: SeriesLabelPosition,
) -> Result<(), Box<dyn std::error::Error>> {
    let ink = style.ink();
    chart
        .configure_series_labels()
        .position(position)
        .label_font(style.font(12))
        .background_style(ink.paper.mix(0.85))
        .border_style(ink.ink.mix(0.3))
        .draw()?;
    Ok(())
}

/// Training loss per step (and its moving average), with validation loss per epoch.
pub fn loss_chart_svg(step_losses: &[f32], history: &[EpochInfo], style: &ChartStyle) -> String {
    render_svg((W, H), |root| draw_loss(root, step_losses, history, style))
}

fn draw_loss(
    root: &SvgArea<'_>,
    losses: &[f32],
    history: &[EpochInfo],
    style: &ChartStyle,
) -> Result<(), Box<dyn std::error::Error>> {
    let (text, ink) = (&style.text, style.ink());
    let [blue, red, ..] = ink.series;
    root.fill(&ink.paper)?;
    let n = losses.len().max(2);
    let steps_per_epoch = n as f64 / history.len().max(1) as f64;
    let max_loss = losses
        .iter()
        .chain(history.iter().map(|h| &h.val_loss))
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.1f32, f32::max) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(&text.loss, style.font(20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..n as f64, 0f64..max_loss * 1.05)?;
    draw_mesh(
        &mut chart,
        style,
        &text.step,
        Some(&text.cross_entropy),
        None,
    )?;
    chart
        .draw_series(LineSeries::new(
            losses
                .iter()
                .enumerate()
                .map(|(i, &l)| (i as f64 + 1.0, l as f64)),
            blue.mix(0.25),
        ))?
        .label(&text.training_loss_step)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.mix(0.25)));
    let window = (losses.len() / 20).max(1);
    chart
        .draw_series(LineSeries::new(
            moving_average(losses, window)
                .into_iter()
                .enumerate()
                .map(|(i, l)| (i as f64 + 1.0, l as f64)),
            blue.stroke_width(2),
        ))?
        .label(&text.training_loss_smoothed)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            history
                .iter()
                .map(|h| (h.epoch as f64 * steps_per_epoch, h.val_loss as f64)),
            red.stroke_width(2),
        ))?
        .label(&text.validation_loss)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    draw_legend(&mut chart, style, SeriesLabelPosition::UpperRight)
}

/// Validation accuracy and macro-F1 per epoch.
pub fn validation_chart_svg(history: &[EpochInfo], style: &ChartStyle) -> String {
    render_svg((W, H), |root| draw_validation(root, history, style))
}

fn draw_validation(
    root: &SvgArea<'_>,
    history: &[EpochInfo],
    style: &ChartStyle,
) -> Result<(), Box<dyn std::error::Error>> {
    let (text, ink) = (&style.text, style.ink());
    root.fill(&ink.paper)?;
    let epochs = history.len().max(1) as f64;
    let lo = history
        .iter()
        .flat_map(|h| [h.val_accuracy, h.val_macro_f1])
        .fold(1.0f64, f64::min);
    let lo = (lo - 0.05).clamp(0.0, 0.95);
    let mut chart = ChartBuilder::on(root)
        .caption(&text.validation, style.font(20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0.5f64..epochs + 0.5, lo..1.0f64)?;
    draw_mesh(&mut chart, style, &text.epoch, None, None)?;
    for (name, color, get) in [
        (
            &text.accuracy,
            ink.series[2],
            (|h: &EpochInfo| h.val_accuracy) as fn(&EpochInfo) -> f64,
        ),
        (&text.macro_f1, ink.series[3], |h: &EpochInfo| {
            h.val_macro_f1
        }),
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
    draw_legend(&mut chart, style, SeriesLabelPosition::LowerRight)
}

/// A reliability diagram: for each non-empty bin of the top probability (`low`, `high`,
/// the share right, the predictions in it), a bar of the share right against the
/// diagonal a calibrated model would follow, titled with `style`'s reliability title.
pub fn reliability_chart_svg(bins: &[(f64, f64, f64, usize)], style: &ChartStyle) -> String {
    render_svg((H, H), |root| draw_reliability(root, bins, style))
}

fn draw_reliability(
    root: &SvgArea<'_>,
    bins: &[(f64, f64, f64, usize)],
    style: &ChartStyle,
) -> Result<(), Box<dyn std::error::Error>> {
    let (text, ink) = (&style.text, style.ink());
    root.fill(&ink.paper)?;
    let mut chart = ChartBuilder::on(root)
        .caption(&text.reliability, style.font(16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    draw_mesh(
        &mut chart,
        style,
        &text.confidence,
        Some(&text.share_right),
        None,
    )?;
    let blue = ink.series[0];
    chart.draw_series(
        bins.iter().filter(|b| b.3 > 0).map(|&(lo, hi, acc, _)| {
            Rectangle::new([(lo, 0.0), (hi, acc)], blue.mix(0.5).filled())
        }),
    )?;
    chart.draw_series(LineSeries::new(
        [(0.0, 0.0), (1.0, 1.0)],
        ink.ink.mix(0.5).stroke_width(1),
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
        let english = ChartStyle::default();
        let svg = loss_chart_svg(&[0.7, 0.6, 0.5], &hist, &english);
        assert!(svg.starts_with("<svg") && svg.contains("Loss"));
        let svg = validation_chart_svg(&hist, &english);
        assert!(svg.contains("Validation") && svg.contains("macro-F1"));
    }

    /// The app's words and theme reach the drawing: no English left on a chart drawn
    /// with other words, and dark paper under light ink.
    #[test]
    fn charts_take_the_words_and_theme_they_are_given() {
        let hist = vec![EpochInfo {
            epoch: 1,
            epochs: 1,
            train_loss: 0.6,
            val_loss: 0.5,
            val_accuracy: 0.7,
            val_macro_f1: 0.69,
            best: true,
        }];
        let mut text = ChartText::default();
        let english = text.clone();
        for (i, field) in [
            &mut text.loss,
            &mut text.step,
            &mut text.cross_entropy,
            &mut text.training_loss_step,
            &mut text.training_loss_smoothed,
            &mut text.validation_loss,
            &mut text.validation,
            &mut text.epoch,
            &mut text.accuracy,
            &mut text.macro_f1,
            &mut text.reliability,
            &mut text.confidence,
            &mut text.share_right,
        ]
        .into_iter()
        .enumerate()
        {
            *field = format!("词{i}");
        }
        let style = ChartStyle { text, dark: true };
        let svgs = [
            loss_chart_svg(&[0.7, 0.6, 0.5], &hist, &style),
            validation_chart_svg(&hist, &style),
            reliability_chart_svg(&[(0.5, 0.6, 0.55, 3), (0.9, 1.0, 0.9, 7)], &style),
        ];
        let all = svgs.concat();
        for word in [
            &english.loss,
            &english.step,
            &english.cross_entropy,
            &english.validation_loss,
            &english.validation,
            &english.epoch,
            &english.macro_f1,
            &english.confidence,
            &english.share_right,
        ] {
            assert!(
                !all.contains(word.as_str()),
                "English \"{word}\" on a translated chart"
            );
        }
        for i in 0..13 {
            assert!(all.contains(&format!("词{i}")), "word {i} missing");
        }
        for svg in &svgs {
            assert!(svg.contains("#16191C"), "no dark paper: {}", &svg[..200]);
            assert!(!svg.contains("#FFFFFF"), "white left on a dark chart");
        }
    }

    #[test]
    fn moving_average_smooths() {
        assert_eq!(moving_average(&[1.0, 3.0, 5.0], 2), vec![1.0, 2.0, 4.0]);
    }
}
