//! The charts' language and theme: the UI sends its words and theme whenever either
//! changes, and gets back the charts it shows, drawn again in them.

use crate::state::AppState;
use serde::Serialize;
use studio_core::charts::{loss_chart_svg, validation_chart_svg, ChartStyle};
use studio_core::studies::curve::curve_svg;
use tauri::State;

/// The Train pane's charts, drawn again; null where there is none yet.
#[derive(Debug, Clone, Default, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RedrawnCharts {
    /// The last run's loss chart.
    pub loss_svg: Option<String>,
    /// The last run's validation chart.
    pub validation_svg: Option<String>,
    /// The last learning curve.
    pub curve_svg: Option<String>,
    /// The reliability diagram of every run evaluated so far.
    pub reliability: Vec<RunChart>,
}

/// A chart of one run.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RunChart {
    /// The run.
    pub run_id: u32,
    /// The chart (SVG).
    pub svg: String,
}

/// Draws every chart from now on with `style` (the UI's words for the chart text, and its
/// theme) and returns the charts drawn before (the Train pane's, the Evaluate pane's
/// reliability diagram), drawn again in it.
#[tauri::command]
#[specta::specta]
pub fn set_chart_style(state: State<'_, AppState>, style: ChartStyle) -> RedrawnCharts {
    redraw(state.inner(), style)
}

/// [`set_chart_style`] without Tauri, for the shell's tests.
pub fn redraw(state: &AppState, style: ChartStyle) -> RedrawnCharts {
    let data = state.set_chart_style(style.clone());
    let mut out = RedrawnCharts::default();
    if let Some((losses, history)) = &data.training {
        out.loss_svg = Some(loss_chart_svg(losses, history, &style));
        out.validation_svg = Some(validation_chart_svg(history, &style));
    }
    out.curve_svg = data.curve.as_ref().map(|rows| curve_svg(rows, &style));
    out.reliability = data
        .reliability
        .iter()
        .map(|(run_id, c)| RunChart {
            run_id: *run_id,
            svg: c.chart_svg(&style),
        })
        .collect();
    out
}
