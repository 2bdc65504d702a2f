// Evaluate, Playground and Export panes.
import { t } from '../i18n.svelte';
import { DATA_EXTENSIONS } from '../format';
import { backend, BackendError } from '../backend';
import type { BatchResult, EvalItem, EvalView, ExplanationDto, ExportInfo, MetricsDto, ModeName, PredictionDto, RedrawnCharts } from '../backend';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';

/** The texts of confusion cell (truth, predicted). */
export function cellItems(items: EvalItem[], truth: string, predicted: string): EvalItem[] {
  return items.filter((i) => i.truth === truth && i.predicted === predicted);
}

/** The top probability of a prediction. */
export function topProb(p: PredictionDto): number {
  return p.probs.find((x) => x.label === p.label)?.prob ?? 0;
}

/** Texts predicted wrong: everything off the confusion matrix's diagonal. */
export function errorsOf(m: MetricsDto): number {
  return m.confusion.reduce((sum, row, i) => sum + row.reduce((a, c, j) => a + (i === j ? 0 : c), 0), 0);
}

/** The most texts of one cell whose words are weighed at once. */
export const EXPLAIN_CELL_LIMIT = 40;

/** A retrain from the fix-errors loop: the same test texts scored before and after. */
export interface FixOutcome {
  fromRun: number;
  toRun: number;
  fixes: number;
  before: MetricsDto;
  after: MetricsDto;
}

export class EvalState {
  runId = $state<number | null>(null);
  view = $state<EvalView | null>(null);
  cell = $state<{ truth: string; predicted: string } | null>(null);
  selected = $state(0);
  loading = $state(false);
  /** The evaluation job while it runs. */
  jobId = $state<number | null>(null);
  /** The words behind the predictions of the open cell's texts, by text id. */
  explained = $state<Record<number, ExplanationDto>>({});
  /** Relabellings made here since the last retrain. */
  fixes = $state(0);
  /** The retrain job while it runs. */
  retraining = $state(false);
  retrainProgress = new JobProgress();
  outcome = $state<FixOutcome | null>(null);

  constructor(private app: AppModel) {}

  /** Stops a running evaluation; the last result stays. */
  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }

  get items(): EvalItem[] {
    if (!this.view || !this.cell) return [];
    return cellItems(this.view.items, this.cell.truth, this.cell.predicted);
  }

  /** Takes the reliability diagram the engine drew again in another language or theme. */
  restyle(r: RedrawnCharts): void {
    const c = this.view?.metrics.calibration;
    const svg = r.reliability.find((x) => x.runId === this.view?.runId)?.svg;
    if (!this.view || !c || svg == null) return;
    this.view = { ...this.view, metrics: { ...this.view.metrics, calibration: { ...c, reliabilitySvg: svg } } };
  }

  async load(runId?: number): Promise<void> {
    const id = runId ?? this.runId ?? this.app.latestRun?.id;
    if (id == null) return;
    if (id !== this.runId) this.explained = {};
    this.runId = id;
    this.loading = true;
    const job = backend.evaluateRun(id);
    this.jobId = job.id;
    try {
      this.view = await job.result;
      if (this.cell) void this.explainCell();
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
    void this.explainCell();
  }

  /** Weighs the words behind the predictions of the open cell's texts (the first
   * EXPLAIN_CELL_LIMIT not yet weighed). */
  async explainCell(): Promise<void> {
    const run = this.runId;
    const todo = this.items.filter((i) => !(i.id in this.explained)).slice(0, EXPLAIN_CELL_LIMIT);
    if (run == null || todo.length === 0) return;
    try {
      const e = await backend.explainTexts(run, todo.map((i) => i.text));
      if (run !== this.runId) return;
      const next = { ...this.explained };
      todo.forEach((item, k) => (next[item.id] = e[k]));
      this.explained = next;
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** Relabels the selected text of the open cell (or the text `id`), then re-evaluates. */
  async relabel(label: string, id?: number): Promise<void> {
    const item = id != null ? this.view?.items.find((i) => i.id === id) : this.items[this.selected];
    if (!item) return;
    try {
      const r = await backend.labelText(item.id, label);
      this.app.project = r.overview;
      this.fixes += 1;
      await this.load();
      this.selected = Math.min(this.selected, Math.max(0, this.items.length - 1));
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** Undoes the last labelling action (here or in the Label pane), then re-evaluates. */
  async undo(): Promise<void> {
    try {
      const r = await backend.undo(false);
      this.app.project = r.overview;
      this.fixes = Math.max(0, this.fixes - 1);
      await this.load();
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** "Retrain with these fixes": trains a run that continues from this run's model, then
   * scores both on the same (current) test texts. */
  async retrain(mode: ModeName | null = null): Promise<void> {
    const from = this.runId;
    if (from == null || this.retraining) return;
    this.retraining = true;
    this.outcome = null;
    this.retrainProgress.reset();
    try {
      const job = backend.startTraining(
        { modelId: this.app.modelId, preset: 'quick', mode, epochs: null, lr: null, seed: 42, fromRun: from },
        (p) => this.retrainProgress.apply(p),
      );
      this.jobId = job.id;
      const result = await job.result;
      await this.app.refreshRuns();
      await this.app.refreshProject();
      const before = await backend.evaluateRun(from).result;
      await this.load(result.runId);
      if (this.view) {
        this.outcome = { fromRun: from, toRun: result.runId, fixes: this.fixes, before: before.metrics, after: this.view.metrics };
      }
      this.fixes = 0;
    } catch (e) {
      if (!(e instanceof BackendError && e.kind === 'cancelled')) this.app.fail(e);
    } finally {
      this.retraining = false;
      this.jobId = null;
    }
  }
}

export class PlaygroundState {
  text = $state('');
  runA = $state<number | null>(null);
  runB = $state<number | null>(null);
  a = $state<PredictionDto | null>(null);
  b = $state<PredictionDto | null>(null);
  /** The words behind model A's prediction, with the text they were weighed for (shown
   * only while it is still the text in the box). */
  words = $state<{ text: string; explanation: ExplanationDto } | null>(null);
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

  /** The run that predicts and explains: the one picked, else the latest. */
  private get modelA(): number | null {
    return this.runA ?? this.app.latestRun?.id ?? null;
  }

  async predictNow(): Promise<void> {
    const seq = ++this.seq;
    const text = this.text;
    const runA = this.modelA;
    if (!text.trim() || runA == null) {
      this.a = null;
      this.b = null;
      this.words = null;
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
      void this.explainNow();
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** Weighs the words behind model A's prediction once the prediction is shown: one
   * explanation at a time (it costs a forward pass per word), always of the newest text;
   * an answer for an older text is dropped. */
  async explainNow(): Promise<void> {
    if (this.explaining) {
      this.explainAgain = true;
      return;
    }
    this.explaining = true;
    try {
      do {
        this.explainAgain = false;
        const text = this.text;
        const run = this.modelA;
        if (!text.trim() || run == null) break;
        const e = await backend.explainTexts(run, [text]);
        if (text === this.text && e[0]) this.words = { text, explanation: e[0] };
      } while (this.explainAgain);
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.explaining = false;
    }
  }

  private explaining = false;
  private explainAgain = false;

  async setRuns(a: number | null, b: number | null): Promise<void> {
    this.runA = a;
    this.runB = b;
    await this.predictNow();
  }

  async batch(): Promise<void> {
    const run = this.runA ?? this.app.latestRun?.id;
    if (run == null) return;
    try {
      const path = await backend.pickFile(t('play.textsFilter'), DATA_EXTENSIONS);
      if (!path) return;
      const output = await backend.pickSaveFile(defaultPredictionsPath(path), t('play.saveFilter'), ['csv', 'xlsx', 'jsonl']);
      if (!output) return;
      this.batchResult = null;
      this.progress.reset();
      this.batchResult = await backend.predictFile(run, path, output, (p) => this.progress.apply(p)).result;
    } catch (e) {
      this.app.fail(e);
    }
  }
}

/** `<folder>/<name>.predictions.csv` beside the texts: the Save As dialog's suggestion. */
export function defaultPredictionsPath(input: string): string {
  const dot = input.lastIndexOf('.');
  const cut = Math.max(input.lastIndexOf('/'), input.lastIndexOf('\\'));
  const stem = dot > cut ? input.slice(0, dot) : input;
  return `${stem}.predictions.csv`;
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
  /** Also write model.onnx (fp32) / model_int8.onnx. */
  onnx = $state(false);
  onnxInt8 = $state(false);
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
      const job = backend.exportRun(id, this.dest.trim(), this.onnx, this.onnxInt8);
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
