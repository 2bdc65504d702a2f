// Start pane: recent projects, a new project from a file (preview, column mapping,
// encoding, labels), open a project, the demo.
import { backend } from '../backend';
import type { FilePreview, ImportSummary, Mapping, ReadAs } from '../backend';
import { parseLabelList } from '../format';
import { t, type MessageKey } from '../i18n.svelte';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';

import { DATA_EXTENSIONS } from '../format';

export { DATA_EXTENSIONS };
export const ENCODINGS = ['auto', 'utf-8', 'gbk', 'gb18030', 'big5', 'utf-16le', 'utf-16be', 'shift_jis', 'windows-1252'];

export class StartState {
  preview = $state<FilePreview | null>(null);
  mapping = $state<Mapping>({ text: '', label: null, id: null });
  encoding = $state('auto');
  /** The worksheet of an Excel file; null reads the first. */
  sheet = $state<string | null>(null);
  /** The label set for a file without a label column (default: negative and positive,
   *  in the user's language). */
  labelsText = $state('');
  projectPath = $state('');
  busy = $state(false);
  jobId = $state<number | null>(null);
  progress = new JobProgress();
  summary = $state<ImportSummary | null>(null);

  constructor(private app: AppModel) {}

  /** What stops "Create project", as a message key. */
  get problem(): MessageKey | null {
    if (!this.preview) return null;
    if (!this.mapping.text) return 'start.needText';
    if (!this.mapping.label && parseLabelList(this.labelsText).length < 2) return 'start.needLabels';
    return null;
  }

  async pickFile(): Promise<void> {
    try {
      const path = await backend.pickFile(t('filter.data'), DATA_EXTENSIONS);
      if (path) await this.load(path);
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** How the file is read: the encoding chosen (null: detect) and the sheet (Excel). */
  get readAs(): ReadAs {
    return { encoding: this.encoding === 'auto' ? null : this.encoding, sheet: this.sheet };
  }

  async load(path: string): Promise<void> {
    this.busy = true;
    // Another file: its first sheet, unless the user picks one.
    if (path !== this.preview?.path) this.sheet = null;
    try {
      const pv = await backend.previewFile(path, this.readAs);
      this.preview = pv;
      this.mapping = { ...pv.guess };
      if (!this.labelsText.trim()) this.labelsText = t('start.defaultLabels');
      this.projectPath = pv.suggestedProject;
      this.summary = null;
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.busy = false;
    }
  }

  /** The native Save As dialog for the new project's file (it asks before replacing
   *  one); the name gets the .studio extension when the user leaves it out. */
  async chooseProjectPath(): Promise<void> {
    try {
      const path = await backend.pickSaveFile(this.projectPath, t('filter.project'), ['studio']);
      if (path) this.projectPath = path.endsWith('.studio') ? path : `${path}.studio`;
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** Reads another sheet of the workbook (its columns and rows). */
  async setSheet(sheet: string): Promise<void> {
    this.sheet = sheet;
    if (this.preview) await this.load(this.preview.path);
  }

  async setEncoding(enc: string): Promise<void> {
    this.encoding = enc;
    if (this.preview) await this.load(this.preview.path);
  }

  closePreview(): void {
    this.preview = null;
  }

  async create(): Promise<void> {
    const pv = this.preview;
    if (!pv || this.problem) return;
    this.busy = true;
    this.progress.reset();
    const mapping: Mapping = { ...this.mapping };
    const labels = mapping.label ? [] : parseLabelList(this.labelsText);
    try {
      const job = backend.createProject(
        this.projectPath,
        pv.path,
        mapping,
        this.readAs,
        labels,
        (p) => this.progress.apply(p),
      );
      this.jobId = job.id;
      const summary = await job.result;
      this.summary = summary;
      this.preview = null;
      await this.app.projectOpened(summary.project);
      this.app.importSummary = summary;
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.busy = false;
      this.jobId = null;
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }

  async open(path: string): Promise<void> {
    try {
      await this.app.projectOpened(await backend.openProject(path));
    } catch (e) {
      this.app.fail(e);
    }
  }

  async pickProject(): Promise<void> {
    try {
      const path = await backend.pickFile(t('filter.project'), ['studio']);
      if (path) await this.open(path);
    } catch (e) {
      this.app.fail(e);
    }
  }

  async openDemo(): Promise<void> {
    this.busy = true;
    try {
      await this.app.projectOpened(await backend.openDemoProject());
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.busy = false;
    }
  }
}
