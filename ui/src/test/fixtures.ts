import type { FilePreview, LabelDto, ProjectOverview, RunInfo, TextRowDto } from '../lib/bindings';

export const labels: LabelDto[] = [
  { name: 'negative', color: '#d1495b', key: '1', count: 0 },
  { name: 'positive', color: '#2e86ab', key: '2', count: 0 },
];

export function overview(over: Partial<ProjectOverview> = {}): ProjectOverview {
  return {
    path: '/tmp/movies.studio',
    name: 'movies',
    total: 60,
    labelled: 0,
    labels,
    train: 0,
    validation: 0,
    test: 0,
    hasPredictions: false,
    undoable: 0,
    ...over,
  };
}

export function rows(n: number, from = 1): TextRowDto[] {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    text: `text ${from + i}`,
    label: null,
    split: null,
    predicted: null,
    confidence: null,
  }));
}

export const run: RunInfo = {
  id: 1,
  model: 'all-minilm-l6-v2',
  method: 'head',
  labelCount: 200,
  status: 'finished',
  modelDir: '/home/runs/run-1',
  accuracy: 0.8,
  macroF1: 0.79,
  testAccuracy: 0.75,
  testN: 40,
  testInterval: [0.6, 0.86],
  testTooSmall: false,
  startedAtMs: 0,
};

/** A catalog card of the Model pane's view. */
export function modelCard(id: string, downloaded: boolean, recommended = false) {
  return {
    id,
    name: id,
    languages: ['en'],
    license: 'MIT',
    paramsMillions: 22.7,
    downloadMb: 91,
    summary: '',
    summaryZh: null,
    downloaded,
    recommended,
    textsPerSec: 120,
    fromCatalog: true,
  };
}

/** The Model pane's view: `models`, `recommended` recommended, on a 2-thread CPU with no
 *  GPU; `over` changes any field (e.g. `cjkShare` for a Chinese project). */
export function modelsView(models: ReturnType<typeof modelCard>[], recommended: string, over: Record<string, unknown> = {}) {
  return {
    models,
    recommended,
    why: '',
    cjkShare: 0,
    device: 'cpu',
    threads: 2,
    openblas: true,
    openblasInstallable: true,
    gpu: 'noGpu',
    ...over,
  };
}

/** A sniffed file of the Start pane: a GBK CSV with one text column; `over` changes any field. */
export function filePreview(over: Partial<FilePreview> = {}): FilePreview {
  return {
    path: '/data/reviews.csv',
    format: 'csv',
    encoding: 'GBK',
    encodingSource: 'detected',
    delimiter: ',',
    sheet: null,
    hasHeader: true,
    sheets: [],
    columns: ['text'],
    rows: [['好看'], ['难看']],
    rejected: [],
    guess: { text: 'text', label: null, id: null },
    suggestedProject: '/data/reviews.studio',
    ...over,
  };
}
