// Train pane: preset, advanced settings, the estimate, then a live run with progress,
// charts and cancel.
import { backend, BackendError } from '../backend';
import type { Estimate, TrainResult } from '../backend';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';

export type PresetName = 'quick' | 'balanced' | 'best';
export const PRESETS: PresetName[] = ['quick', 'balanced', 'best'];

export class TrainState {
  preset = $state<PresetName>('quick');
  mode = $state<string>('');
  epochs = $state<number | null>(null);
  lr = $state<number | null>(null);
  seed = $state(42);
  estimate = $state<Estimate | null>(null);
  running = $state(false);
  jobId = $state<number | null>(null);
  progress = new JobProgress();
  result = $state<TrainResult | null>(null);
  outcome = $state<'cancelled' | 'failed' | null>(null);
  failure = $state<string | null>(null);

  constructor(private app: AppModel) {}

  /** Whether there is enough labelled data to start. */
  get ready(): boolean {
    const p = this.app.project;
    if (!p) return false;
    const used = p.labels.filter((l) => l.count > 0).length;
    return p.labelled >= 10 && used >= 2;
  }

  async refreshEstimate(): Promise<void> {
    try {
      this.estimate = await backend.estimateTraining(this.app.modelId, this.preset);
    } catch {
      this.estimate = null;
    }
  }

  async setPreset(p: PresetName): Promise<void> {
    this.preset = p;
    await this.refreshEstimate();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.result = null;
    this.outcome = null;
    this.failure = null;
    this.progress.reset();
    try {
      const job = backend.startTraining(
        {
          modelId: this.app.modelId,
          preset: this.preset,
          mode: this.mode || null,
          epochs: this.epochs,
          lr: this.lr,
          seed: this.seed,
        },
        (p) => this.progress.apply(p),
      );
      this.jobId = job.id;
      this.result = await job.result;
      if (this.result.lossSvg) this.progress.charts = { lossSvg: this.result.lossSvg, validationSvg: this.result.validationSvg };
      await this.app.refreshRuns();
      await this.app.refreshProject();
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

  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }
}
