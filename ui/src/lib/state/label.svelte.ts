// Label pane: a focus mode (one text at a time, keys) and a virtualised table over the
// whole project, with filters, undo and the model's predictions.
import { backend, BackendError } from '../backend';
import type { LabelResult, TextFilter, TextRowDto } from '../backend';
import type { AppModel } from './app.svelte';
import { keyAction, type KeyAction, type KeyLike } from './keys';
import { JobProgress } from './progress.svelte';
import { DATA_EXTENSIONS } from '../format';
import { t } from '../i18n.svelte';

export const PAGE = 100;
/** Suggested texts asked for at a time; the engine refits its classifier every 10 labels,
 * so a fresh batch after each 10 shows its newest guesses. */
export const SUGGEST_BATCH = 10;

export class LabelState {
  view = $state<'focus' | 'table'>('focus');
  filter = $state<TextFilter>({ status: 'unlabelled', label: null, search: null, disagrees: false });
  /** 'suggest': the engine picks (uncertain, spread over clusters) and pre-labels. */
  strategy = $state<'order' | 'suggest'>('order');
  /** Labelled texts when the classifier last refitted, from the engine. */
  refittedOn = $state<number | null>(null);
  /** The suggestion job while it runs (its first refit encodes every text). */
  suggestJob = $state<number | null>(null);
  progress = new JobProgress();
  queue = $state<TextRowDto[]>([]);
  index = $state(0);
  /** Table: rows by page number, and how many match. */
  pages = $state<Record<number, TextRowDto[]>>({});
  total = $state(0);
  selected = $state<number | null>(null);
  loading = $state(false);
  private queueOffset = 0;
  /** The project whose recommended base model was looked up for suggestions. */
  private modelCheckedFor: string | null = null;
  /** Suggest mode: texts skipped, not offered again while others remain. */
  private skipped = new Set<number>();

  /** What the last import of more texts did, for the pane to say. */
  /** The import job while it runs. */
  importJob = $state<number | null>(null);

  constructor(private app: AppModel) {}

  /** Imports more texts from a file into this project (columns guessed as on Start):
   *  `dropped`, a file dragged onto the window, else one the user picks. */
  async importMore(dropped?: string): Promise<void> {
    try {
      const path = dropped ?? (await backend.pickFile(t('filter.data'), DATA_EXTENSIONS));
      if (!path) return;
      const pv = await backend.previewFile(path, { encoding: null, sheet: null });
      this.progress.reset();
      const job = backend.importIntoProject(path, pv.guess, { encoding: null, sheet: null }, (p) => this.progress.apply(p));
      this.importJob = job.id;
      const s = await job.result;
      this.app.project = s.project;
      this.app.importSummary = s;
      await this.reload();
    } catch (e) {
      if (!(e instanceof BackendError && e.kind === 'cancelled')) this.app.fail(e);
    } finally {
      this.importJob = null;
    }
  }

  get current(): TextRowDto | null {
    return this.queue[this.index] ?? null;
  }

  get labels() {
    return this.app.project?.labels ?? [];
  }

  /** Loads the focus queue (and resets the table) for the current filter. */
  async reload(): Promise<void> {
    this.loading = true;
    try {
      this.queueOffset = 0;
      this.index = 0;
      if (this.strategy === 'suggest') {
        this.queue = await this.suggested();
        this.total = this.queue.length;
      } else {
        const page = await backend.listTexts(this.filter, 0, 50);
        this.queue = page.rows;
        this.total = page.total;
      }
      this.pages = {};
    } catch (e) {
      if (e instanceof BackendError && e.kind === 'cancelled' && this.strategy === 'suggest') {
        this.loading = false;
        await this.setStrategy('order');
        return;
      }
      this.app.fail(e);
    } finally {
      this.loading = false;
    }
  }

  /** More texts for the focus queue once its end is reached. */
  private async more(): Promise<void> {
    if (this.strategy === 'suggest') {
      // A fresh batch: after each 10 labels the engine has refitted its guesses.
      this.queue = await this.suggested();
      this.index = 0;
      this.total = this.queue.length;
    } else if (this.filter.status === 'unlabelled') {
      // Labelled texts left the filter: the first page is the next batch.
      const rows = (await backend.listTexts(this.filter, 0, 50)).rows;
      const seen = new Set(this.queue.map((r) => r.id));
      this.queue = [...this.queue, ...rows.filter((r) => !seen.has(r.id) && r.label == null)];
    } else {
      this.queueOffset += 50;
      const page = await backend.listTexts(this.filter, this.queueOffset, 50);
      this.queue = [...this.queue, ...page.rows];
    }
  }

  async setFilter(f: Partial<TextFilter>): Promise<void> {
    this.filter = { ...this.filter, ...f };
    await this.reload();
  }

  private async suggested(): Promise<TextRowDto[]> {
    const path = this.app.project?.path ?? null;
    if (!this.app.modelChosen && this.modelCheckedFor !== path) {
      // The base model that reads these texts (the multilingual one for Chinese), as the
      // Model pane would recommend, unless the user has picked one.
      this.app.adoptRecommendation(await backend.listModels());
      this.modelCheckedFor = path;
    }
    this.progress.reset();
    const job = backend.suggestNext(this.app.modelId, SUGGEST_BATCH, (p) => this.progress.apply(p));
    this.suggestJob = job.id;
    let s;
    try {
      s = await job.result;
    } finally {
      this.suggestJob = null;
    }
    if (s.refittedOn != null) this.refittedOn = s.refittedOn;
    const open = s.rows.filter((r) => r.label == null);
    const fresh = open.filter((r) => !this.skipped.has(r.id));
    return fresh.length > 0 ? fresh : open;
  }

  async setStrategy(s: 'order' | 'suggest'): Promise<void> {
    this.strategy = s;
    await this.reload();
  }

  /** Stops a running suggestion job and goes back to labelling in order. */
  async cancelSuggest(): Promise<void> {
    if (this.suggestJob != null) await backend.cancelJob(this.suggestJob);
  }

  private applyResult(r: LabelResult): void {
    this.app.project = r.overview;
    const byId = new Map(r.changed.map((c) => [c.id, c.label]));
    const upd = (row: TextRowDto) => (byId.has(row.id) ? { ...row, label: byId.get(row.id) ?? null } : row);
    this.queue = this.queue.map(upd);
    const pages: Record<number, TextRowDto[]> = {};
    for (const [k, rows] of Object.entries(this.pages)) pages[Number(k)] = rows.map(upd);
    this.pages = pages;
  }

  /** Labels text `id` (null clears). */
  /** Labels a text; true once the label is on disk. A failure is shown, and false. */
  async labelText(id: number, label: string | null): Promise<boolean> {
    try {
      this.applyResult(await backend.labelText(id, label));
      return true;
    } catch (e) {
      this.app.fail(e);
      return false;
    }
  }

  /** Labels the text on screen and moves on, only once the label is saved: after a
   * failed save the text stays, so the user sees what was not saved and can retry. */
  async labelCurrent(label: string): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    if (await this.labelText(cur.id, label)) await this.next();
  }

  async next(): Promise<void> {
    const cur = this.current;
    if (this.strategy === 'suggest' && cur && cur.label == null) this.skipped.add(cur.id);
    if (this.index < this.queue.length) this.index += 1;
    if (this.index >= this.queue.length) {
      try {
        await this.more();
      } catch (e) {
        this.app.fail(e);
      }
    }
  }

  prev(): void {
    if (this.index > 0) this.index -= 1;
  }

  async undo(redo = false): Promise<void> {
    try {
      const r = await backend.undo(redo);
      this.applyResult(r);
      const first = r.changed[0];
      const at = first ? this.queue.findIndex((q) => q.id === first.id) : -1;
      if (at >= 0) this.index = at;
    } catch (e) {
      this.app.fail(e);
    }
  }

  async accept(): Promise<void> {
    const cur = this.view === 'focus' ? this.current : this.selectedRow;
    if (cur?.predicted) {
      if (this.view === 'focus') await this.labelCurrent(cur.predicted);
      else await this.labelText(cur.id, cur.predicted);
    }
  }

  // ----- table -----

  rowAt(i: number): TextRowDto | undefined {
    return this.pages[Math.floor(i / PAGE)]?.[i % PAGE];
  }

  get selectedRow(): TextRowDto | null {
    if (this.selected == null) return null;
    return this.rowAt(this.selected) ?? null;
  }

  private inflight = new Set<number>();

  /** Fetches the pages covering rows first..=last that are not loaded yet. */
  async ensureRows(first: number, last: number): Promise<void> {
    const want: number[] = [];
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) {
      if (!this.pages[p] && !this.inflight.has(p)) want.push(p);
    }
    await Promise.all(
      want.map(async (p) => {
        this.inflight.add(p);
        try {
          const page = await backend.listTexts(this.filter, p * PAGE, PAGE);
          this.pages = { ...this.pages, [p]: page.rows };
          this.total = page.total;
        } catch (e) {
          this.app.fail(e);
        } finally {
          this.inflight.delete(p);
        }
      }),
    );
  }

  // ----- keys -----

  async run(a: KeyAction): Promise<void> {
    const table = this.view === 'table';
    switch (a.type) {
      case 'label':
        if (table) {
          const row = this.selectedRow;
          if (row) {
            await this.labelText(row.id, a.label);
            if (this.selected != null && this.selected < this.total - 1) this.selected += 1;
          }
        } else await this.labelCurrent(a.label);
        break;
      case 'skip':
      case 'next':
        if (table) this.selected = Math.min(this.total - 1, (this.selected ?? -1) + 1);
        else await this.next();
        break;
      case 'prev':
        if (table) this.selected = Math.max(0, (this.selected ?? 1) - 1);
        else this.prev();
        break;
      case 'undo':
        await this.undo(false);
        break;
      case 'redo':
        await this.undo(true);
        break;
      case 'accept':
        await this.accept();
        break;
    }
  }

  /** Handles a key; true when it was one of ours (the caller prevents the default). */
  handleKey(e: KeyLike): boolean {
    const a = keyAction(e, this.labels);
    if (!a) return false;
    // One action at a time, in key order: fast typists must not label a text twice.
    this.chain = this.chain.then(() => this.run(a));
    return true;
  }

  private chain: Promise<void> = Promise.resolve();

  /** Resolves when every queued key action has finished. */
  settled(): Promise<void> {
    return this.chain;
  }
}
