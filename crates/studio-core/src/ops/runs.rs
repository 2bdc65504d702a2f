//! A project's training runs as both faces list them, and the model folder of a run.

use crate::classify::eval::Metrics;
use crate::classify::train::Mode;
use crate::project::{Project, Run};
use crate::{Result, StudioError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where a run ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    /// Training or evaluating now (or the program stopped while it was).
    Running,
    /// Trained, exported and evaluated.
    Finished,
    /// Stopped by an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
    /// The program stopped while it ran (killed, or the window closed).
    Interrupted,
}

impl RunStatus {
    /// The word stored in the project.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// The status a stored word names (an unknown word reads as failed).
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "finished" => Self::Finished,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            _ => Self::Failed,
        }
    }
}

/// One run, as `studio project runs` and the app's run picker show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The run's id in the project.
    pub id: i64,
    /// The base model it started from.
    pub base_model: String,
    /// The training method, when recorded.
    pub method: Option<Mode>,
    /// Labelled texts it learned from, when recorded.
    pub label_count: Option<usize>,
    /// Where it ended up.
    pub status: RunStatus,
    /// Its exported model, when it has one on disk.
    pub model_dir: Option<PathBuf>,
    /// Metrics on the project's test split, when it had one: `None` means "not
    /// measured", never 0.
    pub test: Option<Metrics>,
    /// Validation metrics of the kept weights, when a validation split was held out.
    pub validation: Option<Metrics>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: i64,
}

impl RunSummary {
    /// Reads what a run recorded.
    pub fn of(run: &Run) -> Self {
        let m = run.record.metrics.as_ref();
        let metrics = |split: &str| -> Option<Metrics> {
            m.and_then(|m| m.get(split))
                .filter(|v| !v.is_null())
                .and_then(|v| serde_json::from_value::<Metrics>(v.clone()).ok())
                .filter(|m| m.n > 0)
        };
        Self {
            id: run.id,
            base_model: run.record.model.clone(),
            method: m
                .and_then(|m| m.get("mode"))
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
            label_count: m
                .and_then(|m| m.get("trainTexts"))
                .and_then(|v| v.as_u64())
                .map(|n| n as usize),
            status: RunStatus::parse(&run.record.status),
            model_dir: run
                .record
                .export_path
                .clone()
                .filter(|d| d.join("config.json").is_file()),
            test: metrics("test"),
            validation: metrics("validation"),
            started_at_ms: run.record.started_at_ms,
        }
    }
}

/// Every training run of the project at `project`, oldest first. The labelling loop's
/// own bookkeeping runs are left out.
pub fn list_runs(project: &Path) -> Result<Vec<RunSummary>> {
    let p = Project::open(project)?;
    settle_interrupted(&p)?;
    Ok(p.runs()?
        .iter()
        .filter(|r| r.record.model != crate::active::suggest::LOOP_RUN)
        .map(RunSummary::of)
        .collect())
}

/// Run `run` of `p` (the newest finished one when `None`) with its model folder.
pub fn run_with_model(p: &Project, run: Option<i64>) -> Result<(RunSummary, PathBuf)> {
    let runs: Vec<RunSummary> = p
        .runs()?
        .iter()
        .filter(|r| r.record.model != crate::active::suggest::LOOP_RUN)
        .map(RunSummary::of)
        .collect();
    let summary = match run {
        Some(id) => runs
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StudioError::UnknownRun { run: id })?,
        None => runs
            .into_iter()
            .rev()
            .find(|r| r.status == RunStatus::Finished && r.model_dir.is_some())
            .ok_or(StudioError::NoRuns)?,
    };
    let dir = summary
        .model_dir
        .clone()
        .ok_or_else(|| StudioError::RunHasNoModel {
            run: summary.id,
            status: match summary.status {
                RunStatus::Finished => "its model folder is gone".into(),
                s => format!("it is {}", s.as_str()),
            },
        })?;
    Ok((summary, dir))
}

/// Where a project's run `id` keeps its model: `<home>/runs/<project stem>-<hash>/run-<id>`
/// (the hash tells two projects of the same name apart).
pub fn run_dir(home: &Path, project: &Path, id: i64) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in project.to_string_lossy().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let stem = project
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    home.join("runs")
        .join(format!("{stem}-{:08x}", h as u32))
        .join(format!("run-{id}"))
}

/// Marks "interrupted" every run still "running" whose process is gone (it records its
/// process id when it starts): the program was killed or its window closed mid-run, and
/// the run list must not say "running" forever.
pub fn settle_interrupted(p: &Project) -> Result<usize> {
    let mut settled = 0;
    for run in p.runs()? {
        if RunStatus::parse(&run.record.status) != RunStatus::Running {
            continue;
        }
        let pid = run.record.settings.get("pid").and_then(|v| v.as_u64());
        let gone = match pid {
            Some(pid) => {
                pid as u32 != std::process::id() && !crate::runtime::process_alive(pid as u32)
            }
            // Recorded before runs carried a process id: no process can still own it
            // after a day.
            None => run.record.started_at_ms < crate::project::now_ms() - 86_400_000,
        };
        if gone {
            let mut record = run.record.clone();
            record.status = RunStatus::Interrupted.as_str().into();
            record.finished_at_ms = Some(crate::project::now_ms());
            p.update_run(run.id, &record)?;
            settled += 1;
        }
    }
    Ok(settled)
}
