// Evaluate, Playground and Export panes.
import { DATA_EXTENSIONS } from '../format';
import { backend, BackendError } from '../backend';
import type { BatchResult, EvalItem, EvalView, ExportInfo, PredictionDto } from '../backend';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';

/** The texts of confusion cell (truth, predicted). */
export function cellItems(items: EvalItem[], truth: string, predicted: string): EvalItem[] {
  return items.filter((i) => i.truth === truth && i.predicted === predicted);
}

export class EvalState {
  runId = $state<number | null>(null);
  view = $state<EvalView | null>(null);
  cell = $state<{ truth: string; predicted: string } | null>(null);
  selected = $state(0);
  loading = $state(false);
  /** The evaluation job while it runs. */
  jobId = $state<number | null>(null);

  constructor(private app: AppModel) {}

  /** Stops a running evaluation; the last result stays. */
  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }

  get items(): EvalItem[] {
    if (!this.view || !this.cell) return [];
    return cellItems(this.view.items, this.cell.truth, this.cell.predicted);
  }

  async load(runId?: number): Promise<void> {
    const id = runId ?? this.runId ?? this.app.latestRun?.id;
    if (id == null) return;
    this.runId = id;
    this.loading = true;
    const job = backend.evaluateRun(id);
    this.jobId = job.id;
    try {
      this.view = await job.result;
    } catch (e) {
      if (!(e instanceof BackendError && e.kind === 'cancelled')) this.app.fail(e);
    } finally {
      this.loading = false;
      this.jobId = null;
    }
  }

  pick(truth: string, predicted: string): void {
    this.cell = { truth, predicted };
    this.selected = 0;
  }

  /** Relabels the selected text of the open cell, then re-evaluates. */
  async relabel(label: string): Promise<void> {
    const item = this.items[this.selected];
    if (!item) return;
    try {
      const r = await backend.labelText(item.id, label);
      this.app.project = r.overview;
      await this.load();
    } catch (e) {
      this.app.fail(e);
    }
  }
}

export class PlaygroundState {
  text = $state('');
  runA = $state<number | null>(null);
  runB = $state<number | null>(null);
  a = $state<PredictionDto | null>(null);
  b = $state<PredictionDto | null>(null);
  batchResult = $state<BatchResult | null>(null);
  progress = new JobProgress();
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private app: AppModel, private delayMs = 150) {}

  /** Called on every keystroke: predicts after a short pause, dropping stale answers. */
  input(text: string): void {
    this.text = text;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.predictNow(), this.delayMs);
  }

  async predictNow(): Promise<void> {
    const seq = ++this.seq;
    const text = this.text;
    const runA = this.runA ?? this.app.latestRun?.id ?? null;
    if (!text.trim() || runA == null) {
      this.a = null;
      this.b = null;
      return;
    }
    try {
      const [a, b] = await Promise.all([
        backend.predictText(runA, text),
        this.runB != null ? backend.predictText(this.runB, text) : Promise.resolve(null),
      ]);
      if (seq !== this.seq) return;
      this.a = a;
      this.b = b;
    } catch (e) {
      this.app.fail(e);
    }
  }

  async setRuns(a: number | null, b: number | null): Promise<void> {
    this.runA = a;
    this.runB = b;
    await this.predictNow();
  }

  async batch(): Promise<void> {
    const run = this.runA ?? this.app.latestRun?.id;
    if (run == null) return;
    try {
      const path = await backend.pickFile('Texts', DATA_EXTENSIONS);
      if (!path) return;
      this.progress.reset();
      this.batchResult = await backend.predictFile(run, path, (p) => this.progress.apply(p)).result;
    } catch (e) {
      this.app.fail(e);
    }
  }
}

/** `<project folder>/<project name>-classifier`. */
export function defaultExportDir(projectPath: string, name: string): string {
  const cut = Math.max(projectPath.lastIndexOf('/'), projectPath.lastIndexOf('\\'));
  const dir = cut >= 0 ? projectPath.slice(0, cut) : '.';
  return `${dir}/${name}-classifier`;
}

export class ExportState {
  runId = $state<number | null>(null);
  dest = $state('');
  info = $state<ExportInfo | null>(null);
  busy = $state(false);
  /** The export job while it copies. */
  jobId = $state<number | null>(null);

  constructor(private app: AppModel) {}

  /** Stops a running export; the destination stays as it was. */
  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }

  prepare(): void {
    const p = this.app.project;
    if (!this.dest && p) this.dest = defaultExportDir(p.path, p.name);
    if (this.runId == null) this.runId = this.app.latestRun?.id ?? null;
  }

  async choose(): Promise<void> {
    try {
      const folder = await backend.pickFolder();
      if (folder) this.dest = `${folder}/${this.app.project?.name ?? 'model'}-classifier`;
    } catch (e) {
      this.app.fail(e);
    }
  }

  async run(): Promise<void> {
    const id = this.runId ?? this.app.latestRun?.id;
    if (id == null || !this.dest.trim()) return;
    this.busy = true;
    try {
      const job = backend.exportRun(id, this.dest.trim());
      this.jobId = job.id;
      this.info = await job.result;
    } catch (e) {
      if (!(e instanceof BackendError && e.kind === 'cancelled')) this.app.fail(e);
    } finally {
      this.busy = false;
      this.jobId = null;
    }
  }
}
