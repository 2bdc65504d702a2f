// The only module that touches the Tauri JS API. Everything else calls `backend`, which
// unwraps the generated commands' results (throwing BackendError) and owns job ids,
// progress channels and native dialogs.
import { Channel } from '@tauri-apps/api/core';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { open, save } from '@tauri-apps/plugin-dialog';
import { commands } from '../bindings';
import { errorText } from '../errors';
import { i18n } from '../i18n.svelte';
import type {
  AppError,
  ChartStyle,
  Estimate,
  EvalView,
  ExportInfo,
  LearningCurve,
  Progress,
  Mapping,
  ReadAs,
  TextFilter,
  TrainRequest,
} from '../bindings';

export type * from '../bindings';

/** A command's failure, its message in the user's language (see `errorText`). */
export class BackendError extends Error {
  readonly kind: AppError['kind'];
  readonly code: string;
  constructor(e: AppError) {
    super(errorText(i18n.locale, e.code, e.params, e.message));
    this.kind = e.kind;
    this.code = e.code;
  }
}

type Res<T> = { status: 'ok'; data: T } | { status: 'error'; error: AppError };

async function unwrap<T>(p: Promise<Res<T>>): Promise<T> {
  const r = await p;
  if (r.status === 'ok') return r.data;
  throw new BackendError(r.error);
}

/** A running long job: its id (for cancel) and its result. */
export interface Job<T> {
  id: number;
  result: Promise<T>;
}

let nextJob = 1;

function job<T>(
  onProgress: (p: Progress) => void,
  run: (id: number, ch: Channel<Progress>) => Promise<Res<T>>,
): Job<T> {
  const id = nextJob++;
  const ch = new Channel<Progress>();
  ch.onmessage = onProgress;
  return { id, result: unwrap(run(id, ch)) };
}

export const backend = {
  appInfo: () => unwrap(commands.appInfo()),
  saveSettings: (locale: string | null, theme: string | null) =>
    unwrap(commands.saveSettings(locale, theme)),
  setUnsureBelow: (value: number | null) => unwrap(commands.setUnsureBelow(value)),
  /** `read`: the encoding (null: detect it) and, for Excel, the sheet (null: the first). */
  previewFile: (path: string, read: ReadAs) => unwrap(commands.previewFile(path, read)),
  createProject: (
    projectPath: string,
    dataPath: string,
    mapping: Mapping,
    read: ReadAs,
    labels: string[],
    onProgress: (p: Progress) => void,
  ) =>
    job(onProgress, (id, ch) =>
      commands.createProject(projectPath, dataPath, mapping, read, labels, id, ch),
    ),
  /** Imports more texts into the open project (a job), as `studio project import` does. */
  importIntoProject: (dataPath: string, mapping: Mapping, read: ReadAs, onProgress: (p: Progress) => void) =>
    job(onProgress, (id, ch) => commands.importIntoProject(dataPath, mapping, read, id, ch)),
  openProject: (path: string) => unwrap(commands.openProject(path)),
  openDemoProject: () => unwrap(commands.openDemoProject()),
  cancelJob: (id: number) => unwrap(commands.cancelJob(id)),

  projectOverview: () => unwrap(commands.projectOverview()),
  listTexts: (filter: TextFilter, offset: number, limit: number) =>
    unwrap(commands.listTexts(filter, offset, limit)),
  labelText: (id: number, label: string | null) => unwrap(commands.labelText(id, label)),
  undo: (redo: boolean) => unwrap(commands.undo(redo)),
  suggestNext: (modelId: string, n: number, onProgress: (p: Progress) => void) =>
    job(onProgress, (id, ch) => commands.suggestNext(modelId, n, id, ch)),
  setLabels: (names: string[]) => unwrap(commands.setLabels(names)),
  renameLabel: (name: string, newName: string) => unwrap(commands.renameLabel(name, newName)),
  setLabelColor: (name: string, color: string) => unwrap(commands.setLabelColor(name, color)),

  listModels: () => unwrap(commands.listModels()),
  downloadModel: (id: string, onProgress: (p: Progress) => void) =>
    job(onProgress, (jid, ch) => commands.downloadModel(id, jid, ch)),
  importModel: (folder: string) => unwrap(commands.importModel(folder)),

  /** A job: measuring the model's speed takes seconds; a newer estimate cancels it. */
  estimateTraining: (request: TrainRequest): Job<Estimate> => {
    const id = nextJob++;
    return { id, result: unwrap(commands.estimateTraining(request, id)) };
  },
  /** The engine's default preset: the one `studio train` uses too. */
  defaultPreset: () => commands.defaultPreset(),
  /** A job: the curve embeds the project's texts once (minutes on a big project); cancel with `cancelJob`. */
  learningCurve: (modelId: string): Job<LearningCurve> => {
    const id = nextJob++;
    return { id, result: unwrap(commands.learningCurve(modelId, id)) };
  },
  startTraining: (request: TrainRequest, onProgress: (p: Progress) => void) =>
    job(onProgress, (id, ch) => commands.startTraining(request, id, ch)),

  listRuns: () => unwrap(commands.listRuns()),
  /** A job: scoring a big test split takes a while; cancel with `cancelJob`. */
  evaluateRun: (runId: number): Job<EvalView> => {
    const id = nextJob++;
    return { id, result: unwrap(commands.evaluateRun(runId, id)) };
  },
  predictText: (runId: number, text: string) => unwrap(commands.predictText(runId, text)),
  /** Predictions and the words behind them (one batch of forward passes per text). */
  explainTexts: (runId: number, texts: string[]) => unwrap(commands.explainTexts(runId, texts)),
  predictFile: (runId: number, path: string, output: string, onProgress: (p: Progress) => void) =>
    job(onProgress, (id, ch) => commands.predictFile(runId, path, output, id, ch)),
  /** A job: cancelled, it leaves the destination as it was. */
  exportRun: (runId: number, dest: string, onnx: boolean, onnxInt8: boolean): Job<ExportInfo> => {
    const id = nextJob++;
    return { id, result: unwrap(commands.exportRun(runId, dest, onnx, onnxInt8, id)) };
  },

  /** Draws every chart from now on in `style` and returns the ones drawn before, again. */
  setChartStyle: (style: ChartStyle) => commands.setChartStyle(style),

  /** Shows a folder in the system's file manager. */
  openFolder: (path: string) => unwrap(commands.openFolder(path)),

  /** The native "Open File" dialog; null when the user closes it. */
  async pickFile(filterName: string, extensions: string[]): Promise<string | null> {
    const r = await open({ multiple: false, directory: false, filters: [{ name: filterName, extensions }] });
    return typeof r === 'string' ? r : null;
  },
  /** The native "Save As" dialog (it asks before replacing a file); null when the user
   *  closes it. */
  async pickSaveFile(defaultPath: string, filterName: string, extensions: string[]): Promise<string | null> {
    const r = await save({ defaultPath, filters: [{ name: filterName, extensions }] });
    return typeof r === 'string' ? r : null;
  },
  /** Calls `handler` while files are dragged over the window ('over', with no paths),
   *  dropped on it ('drop', with their paths) or dragged away ('leave'). */
  onFileDrop(handler: (kind: 'over' | 'drop' | 'leave', paths: string[]) => void): Promise<() => void> {
    return getCurrentWebview().onDragDropEvent((e) => {
      const p = e.payload;
      if (p.type === 'drop') handler('drop', p.paths);
      else if (p.type === 'leave') handler('leave', []);
      else handler('over', []);
    });
  },
  /** The native folder dialog; null when the user closes it. */
  async pickFolder(): Promise<string | null> {
    const r = await open({ multiple: false, directory: true });
    return typeof r === 'string' ? r : null;
  },
};

export type Backend = typeof backend;
