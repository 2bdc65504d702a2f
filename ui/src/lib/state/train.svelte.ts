// Train pane: preset, advanced settings, the estimate, then a live run with progress,
// charts and cancel.
import { backend, BackendError } from '../backend';
import type { Estimate, LearningCurve, ModeName, PresetName, RedrawnCharts, TrainRequest, TrainResult } from '../backend';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';
import { t } from '../i18n.svelte';

export type { PresetName };
export const PRESETS: PresetName[] = ['quick', 'balanced', 'best'];

export class TrainState {
  preset = $state<PresetName>('quick');
  mode = $state<ModeName | ''>('');
  epochs = $state<number | null>(null);
  lr = $state<number | null>(null);
  seed = $state(42);
  /** The run whose model the next run continues from ("Train again from this model"). */
  fromRun = $state<number | null>(null);
  estimate = $state<Estimate | null>(null);
  running = $state(false);
  jobId = $state<number | null>(null);
  progress = new JobProgress();
  result = $state<TrainResult | null>(null);
  outcome = $state<'cancelled' | 'failed' | null>(null);
  failure = $state<string | null>(null);
  /** How accuracy grows with labels on this project, drawn after each run. */
  curve = $state<LearningCurve | null>(null);
  /** Why there is no curve (too few test texts), when there is none. */
  curveNote = $state<string | null>(null);

  constructor(private app: AppModel) {}

  /** Whether there is enough labelled data to start. */
  get ready(): boolean {
    const p = this.app.project;
    if (!p) return false;
    const used = p.labels.filter((l) => l.count > 0).length;
    return p.labelled >= 10 && used >= 2;
  }

  /** What the user chose, as the backend takes it. */
  request(): TrainRequest {
    return {
      modelId: this.app.modelId,
      preset: this.preset,
      mode: this.mode || null,
      epochs: this.epochs,
      lr: this.lr,
      seed: this.seed,
      fromRun: this.fromRun,
    };
  }

  /** Asks the engine which method the choice runs and how long it takes (it times the model on this machine). */
  async refreshEstimate(): Promise<void> {
    // A newer choice makes an older estimate, still measuring, pointless.
    if (this.estimateJob != null) void backend.cancelJob(this.estimateJob).catch(() => {});
    const job = backend.estimateTraining(this.request());
    this.estimateJob = job.id;
    try {
      const e = await job.result;
      if (this.estimateJob === job.id) this.estimate = e;
    } catch {
      if (this.estimateJob === job.id) this.estimate = null;
    } finally {
      if (this.estimateJob === job.id) this.estimateJob = null;
    }
  }

  /** Starts from the engine's default preset (the CLI's too), once, before the user picks. */
  async loadDefaults(): Promise<void> {
    if (this.defaultsLoaded) return;
    this.defaultsLoaded = true;
    try {
      this.preset = await backend.defaultPreset();
    } catch {
      // Keep the built-in choice; the estimate below still works.
    }
  }

  private defaultsLoaded = false;
  /** The estimate job while it measures. */
  private estimateJob: number | null = null;

  async setPreset(p: PresetName): Promise<void> {
    this.preset = p;
    await this.refreshEstimate();
  }

  /** Trains again, continuing from run `runId`'s model rather than the base model. */
  async trainAgainFrom(runId: number): Promise<void> {
    this.fromRun = runId;
    try {
      await this.start();
    } finally {
      this.fromRun = null;
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.result = null;
    this.outcome = null;
    this.failure = null;
    this.progress.reset();
    try {
      const job = backend.startTraining(this.request(), (p) => this.progress.apply(p));
      this.jobId = job.id;
      this.result = await job.result;
      if (this.result.lossSvg) this.progress.charts = { lossSvg: this.result.lossSvg, validationSvg: this.result.validationSvg };
      await this.app.refreshRuns();
      await this.app.refreshProject();
      await this.refreshCurve();
    } catch (e) {
      if (e instanceof BackendError && e.kind === 'cancelled') this.outcome = 'cancelled';
      else {
        this.outcome = 'failed';
        this.failure = e instanceof Error ? e.message : String(e);
      }
    } finally {
      this.running = false;
      this.jobId = null;
    }
  }

  /** Asks the engine for the learning curve on this project's labels (seconds). */
  async refreshCurve(): Promise<void> {
    this.curve = null;
    this.curveNote = null;
    const job = backend.learningCurve(this.app.modelId);
    this.jobId = job.id;
    try {
      this.curve = await job.result;
    } catch (e) {
      if (e instanceof BackendError && e.kind === 'cancelled') return;
      // Too few test texts is the usual reason, said in the user's words; anything else
      // as the engine put it.
      this.curveNote = e instanceof BackendError && e.code === 'tooFewExamples' ? t('train.curveTooFew') : e instanceof Error ? e.message : String(e);
    } finally {
      this.jobId = null;
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }

  /** Takes the charts the engine drew again in another language or theme. */
  restyle(r: RedrawnCharts): void {
    if (r.lossSvg != null && r.validationSvg != null && this.progress.charts) {
      this.progress.charts = { lossSvg: r.lossSvg, validationSvg: r.validationSvg };
    }
    if (r.curveSvg != null && this.curve) this.curve = { ...this.curve, svg: r.curveSvg };
  }
}
