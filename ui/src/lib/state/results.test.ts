// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { overview, run } from '../../test/fixtures';
import { mockBackend, reset, tick } from '../../test/ipc';
import { AppModel } from './app.svelte';
import { cellItems, defaultExportDir, defaultPredictionsPath, errorsOf, EvalState, ExportState, PlaygroundState } from './results.svelte';

afterEach(reset);

const items = [
  { id: 1, text: 'good', truth: 'positive', predicted: 'positive', confidence: 0.9 },
  { id: 2, text: 'bad', truth: 'negative', predicted: 'positive', confidence: 0.6 },
  { id: 3, text: 'awful', truth: 'negative', predicted: 'positive', confidence: 0.7 },
];
const view = {
  runId: 1,
  minPerLabel: 1,
  tooSmall: true,
  trustedPerLabel: 20,
  metrics: { accuracy: 1 / 3, macroF1: 0.25, perClass: [], confusion: [[0, 2], [0, 1]], labels: ['negative', 'positive'], n: 3, majorityBaseline: 2 / 3, accuracyCi: [0.06, 0.79], macroF1Ci: [0, 0.67] },
  items,
};

function explanation(label: string, text: string) {
  return {
    prediction: { label, probs: [{ label, prob: 0.8 }] },
    words: [{ word: text.split(' ')[0], weight: 0.3, start: 0, end: Array.from(text.split(' ')[0]).length }],
    truncated: false,
  };
}

function appWithRun() {
  const app = new AppModel();
  app.project = overview();
  app.runs = [run];
  return app;
}

describe('Evaluate', () => {
  it('lists the texts of a confusion cell', () => {
    expect(cellItems(items, 'negative', 'positive').map((i) => i.id)).toEqual([2, 3]);
    expect(cellItems(items, 'positive', 'negative')).toEqual([]);
  });

  it('takes the reliability diagram drawn again in another language, for the run it shows only', () => {
    const st = new EvalState(appWithRun());
    const calibration = { ece: 0.05, eceUncalibrated: 0.1, temperature: 1.5, reliabilitySvg: '<svg>Confidence</svg>' };
    st.view = { ...view, crossValidation: null, headline: 'test', metrics: { ...view.metrics, calibration } } as unknown as typeof st.view;
    st.restyle({ lossSvg: null, validationSvg: null, curveSvg: null, reliability: [{ runId: 2, svg: '<svg>其他</svg>' }] });
    expect(st.view?.metrics.calibration?.reliabilitySvg).toBe('<svg>Confidence</svg>');
    st.restyle({ lossSvg: null, validationSvg: null, curveSvg: null, reliability: [{ runId: 2, svg: '<svg>其他</svg>' }, { runId: 1, svg: '<svg>置信度</svg>' }] });
    expect(st.view?.metrics.calibration?.reliabilitySvg).toBe('<svg>置信度</svg>');
    expect(st.view?.metrics.calibration?.ece).toBe(0.05);
  });

  it('loads the latest run, picks a cell and relabels its selected text', async () => {
    const m = mockBackend({
      evaluate_run: () => view,
      label_text: () => ({ changed: [{ id: 3, label: 'positive' }], overview: overview({ labelled: 1 }) }),
    });
    const app = appWithRun();
    const st = new EvalState(app);
    await st.load();
    expect(m.argsOf('evaluate_run')[0]).toMatchObject({ runId: 1 });
    st.pick('negative', 'positive');
    st.selected = 1;
    await st.relabel('positive');
    expect(m.argsOf('label_text')[0]).toEqual({ id: 3, label: 'positive' });
    expect(m.argsOf('evaluate_run')).toHaveLength(2);
    expect(app.project?.labelled).toBe(1);
  });
});

describe('The fix-errors loop', () => {
  it('weighs the words of a cell\'s texts, relabels with a button, undoes, and retrains from the run', async () => {
    const after = { ...view.metrics, accuracy: 2 / 3, confusion: [[1, 1], [0, 1]] };
    let evaluations = 0;
    const m = mockBackend({
      evaluate_run: (a) => {
        evaluations += 1;
        return a.runId === 2 ? { ...view, runId: 2, metrics: after } : view;
      },
      explain_texts: (a) => (a.texts as string[]).map((t) => explanation('positive', t)),
      label_text: () => ({ changed: [], overview: overview({ undoable: 1 }) }),
      undo: () => ({ changed: [], overview: overview({ undoable: 0 }) }),
      start_training: () => ({ runId: 2, modelDir: '/runs/run-2', validation: null, test: after, lossSvg: '', validationSvg: '', seconds: 1, epochs: 1, why: 'quick', mode: 'head', reason: 'quick', rarest: 10, overfitting: null, temperature: 1, headStart: 'continued' }),
      list_runs: () => [{ ...run, id: 2 }, run],
      project_overview: () => overview(),
    });
    const app = appWithRun();
    const st = new EvalState(app);
    await st.load();
    st.pick('negative', 'positive');
    await tick();
    expect(m.argsOf('explain_texts')[0]).toEqual({ runId: 1, texts: ['bad', 'awful'] });
    expect(Object.keys(st.explained).map(Number)).toEqual([2, 3]);
    await st.relabel('positive', 3);
    expect(m.argsOf('label_text')[0]).toEqual({ id: 3, label: 'positive' });
    expect(st.fixes).toBe(1);
    await st.undo();
    expect(m.argsOf('undo')[0]).toEqual({ redo: false });
    expect(st.fixes).toBe(0);
    await st.relabel('positive', 2);
    await st.retrain();
    expect(m.argsOf('start_training')[0].request).toMatchObject({ fromRun: 1 });
    expect(st.outcome).toMatchObject({ fromRun: 1, toRun: 2, fixes: 1 });
    expect(errorsOf(st.outcome!.before)).toBe(2);
    expect(errorsOf(st.outcome!.after)).toBe(1);
    expect(st.runId).toBe(2);
    expect(st.fixes).toBe(0);
    expect(evaluations).toBeGreaterThanOrEqual(5);
  });
});

describe('Playground', () => {
  it('predicts after typing pauses, and keeps only the newest answer', async () => {
    const m = mockBackend({
      predict_text: (a) => ({ label: String(a.text).includes('good') ? 'positive' : 'negative', probs: [] }),
      explain_texts: (a) => (a.texts as string[]).map((text) => explanation(text.includes('good') ? 'positive' : 'negative', text)),
    });
    const st = new PlaygroundState(appWithRun(), 5);
    st.input('g');
    st.input('go');
    st.input('good');
    await new Promise((r) => setTimeout(r, 20));
    expect(m.argsOf('predict_text')).toEqual([{ runId: 1, text: 'good' }]);
    expect(st.a?.label).toBe('positive');
    // Then the words behind it, for the same text.
    expect(m.argsOf('explain_texts')).toEqual([{ runId: 1, texts: ['good'] }]);
    expect(st.words?.text).toBe('good');
    expect(st.words?.explanation.words[0]).toMatchObject({ word: 'good', start: 0, end: 4 });
  });

  it('weighs words one text at a time and drops an answer for a text since changed', async () => {
    let release: () => void = () => {};
    const m = mockBackend({
      predict_text: () => ({ label: 'positive', probs: [] }),
      explain_texts: (a) =>
        new Promise((r) => {
          release = () => r((a.texts as string[]).map((t) => explanation('positive', t)));
        }),
    });
    const st = new PlaygroundState(appWithRun(), 0);
    st.text = 'first';
    await st.predictNow();
    st.text = 'second';
    await st.predictNow();
    await st.predictNow();
    // One explanation in flight; the newer texts wait for it.
    expect(m.argsOf('explain_texts')).toHaveLength(1);
    release();
    await tick();
    await tick();
    expect(st.words).toBeNull();
    expect(m.argsOf('explain_texts').map((a) => a.texts)).toEqual([['first'], ['second']]);
    release();
    await tick();
    await tick();
    expect(st.words?.text).toBe('second');
  });

  it('compares two runs side by side', async () => {
    const m = mockBackend({
      explain_texts: () => [explanation('positive', 'hmm')],
      predict_text: (a) => ({ label: a.runId === 1 ? 'positive' : 'negative', probs: [] }),
    });
    const st = new PlaygroundState(appWithRun(), 0);
    st.text = 'hmm';
    await st.setRuns(1, 2);
    await tick();
    expect(m.argsOf('predict_text').map((a) => a.runId).sort()).toEqual([1, 2]);
    expect(m.argsOf('explain_texts').map((a) => a.runId)).toEqual([1]);
    expect(st.a?.label).toBe('positive');
    expect(st.b?.label).toBe('negative');
  });

  it('clears the result for an empty text', async () => {
    const m = mockBackend({ predict_text: () => ({ label: 'x', probs: [] }) });
    const st = new PlaygroundState(appWithRun(), 0);
    st.input('   ');
    await new Promise((r) => setTimeout(r, 5));
    expect(m.calls).toHaveLength(0);
    expect(st.a).toBeNull();
  });
});

describe('Cancel', () => {
  it('stops an export, keeps no result and reports no failure', async () => {
    let stop: (e: unknown) => void = () => {};
    const m = mockBackend({
      export_run: () => new Promise((_, reject) => (stop = reject)),
      cancel_job: () => {
        stop({ kind: 'cancelled', code: 'cancelled', params: {}, message: 'cancelled' });
        return true;
      },
    });
    const app = appWithRun();
    const st = new ExportState(app);
    st.prepare();
    const done = st.run();
    await tick();
    expect(st.busy).toBe(true);
    const job = m.argsOf('export_run')[0].job;
    await st.cancel();
    expect(m.argsOf('cancel_job')[0]).toEqual({ job });
    await done;
    expect(st.busy).toBe(false);
    expect(st.jobId).toBeNull();
    expect(st.info).toBeNull();
    expect(app.error).toBeNull();
  });
});

describe('Predict a file', () => {
  it('suggests saving the predictions beside the texts, never over them', () => {
    expect(defaultPredictionsPath('/home/me/评论.csv')).toBe('/home/me/评论.predictions.csv');
    expect(defaultPredictionsPath('C:\\data\\reviews.v2.xlsx')).toBe('C:\\data\\reviews.v2.predictions.csv');
    expect(defaultPredictionsPath('/data.d/texts')).toBe('/data.d/texts.predictions.csv');
  });
});

describe('Export', () => {
  it('suggests a folder beside the project and exports the latest run there', async () => {
    expect(defaultExportDir('/home/me/data/movies.studio', 'movies')).toBe('/home/me/data/movies-classifier');
    const m = mockBackend({
      export_run: (a) => ({ path: a.dest, files: ['config.json'], python: 'from transformers import pipeline', cli: `studio predict --model ${a.dest}` }),
    });
    const st = new ExportState(appWithRun());
    st.prepare();
    expect(st.dest).toBe('/tmp/movies-classifier');
    await st.run();
    await tick();
    expect(m.argsOf('export_run')[0]).toMatchObject({ runId: 1, dest: '/tmp/movies-classifier', onnx: false, onnxInt8: false });
    expect(st.info?.cli).toContain('studio predict --model /tmp/movies-classifier');
  });
});
