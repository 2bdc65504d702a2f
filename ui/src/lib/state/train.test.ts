// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { overview, run } from '../../test/fixtures';
import { fail, mockBackend, reset, tick } from '../../test/ipc';
import { AppModel } from './app.svelte';
import { TrainState } from './train.svelte';
import { i18n } from '../i18n.svelte';

afterEach(reset);

const metrics = {
  accuracy: 0.9,
  macroF1: 0.89,
  perClass: [],
  confusion: [[1, 0], [0, 1]],
  labels: ['negative', 'positive'],
  n: 2,
  majorityBaseline: 0.5,
  accuracyCi: [0.6, 0.9],
  macroF1Ci: [0.6, 0.9],
};

function ready(app: AppModel) {
  app.project = overview({
    labelled: 20,
    labels: [
      { name: 'negative', color: '#000000', key: '1', count: 10 },
      { name: 'positive', color: '#ffffff', key: '2', count: 10 },
    ],
  });
}

describe('TrainState', () => {
  it('is not ready without enough labels of two kinds', () => {
    const app = new AppModel();
    const st = new TrainState(app);
    expect(st.ready).toBe(false);
    app.project = overview({ labelled: 20, labels: [{ name: 'a', color: '#000000', key: '1', count: 20 }, { name: 'b', color: '#000000', key: '2', count: 0 }] });
    expect(st.ready).toBe(false);
    ready(app);
    expect(st.ready).toBe(true);
  });

  it('asks for an estimate for the chosen preset', async () => {
    const m = mockBackend({
      estimate_training: () => ({ seconds: 30, texts: 18, testTexts: 2, mode: 'fewshot', why: 'few labels', reason: 'fewLabels', rarest: 9 }),
    });
    const app = new AppModel();
    const st = new TrainState(app);
    await st.setPreset('balanced');
    expect(m.argsOf('estimate_training')[0]).toMatchObject({
      request: { modelId: 'all-minilm-l6-v2', preset: 'balanced', mode: null, epochs: null, lr: null, seed: 42 },
    });
    expect(st.estimate).not.toBeNull();
  });

  it('starts from the engine default preset, the one `studio train` uses too', async () => {
    const m = mockBackend({ default_preset: () => 'balanced', estimate_training: () => ({ seconds: 1 }) });
    const st = new TrainState(new AppModel());
    await st.loadDefaults();
    await st.refreshEstimate();
    expect(st.preset).toBe('balanced');
    expect((m.argsOf('estimate_training')[0].request as { preset: string }).preset).toBe('balanced');
    // Asked once: a preset the user picked later is not overwritten.
    await st.setPreset('quick');
    await st.loadDefaults();
    expect(st.preset).toBe('quick');
    expect(m.argsOf('default_preset')).toHaveLength(1);
  });

  it('a newer estimate cancels an older one still measuring, and only the newer one shows', async () => {
    const pending: ((v: unknown) => void)[] = [];
    const m = mockBackend({
      estimate_training: (a) => new Promise((r) => pending.push(() => r({ seconds: (a.request as { preset: string }).preset === 'best' ? 99 : 1 }))),
      cancel_job: () => true,
    });
    const st = new TrainState(new AppModel());
    const first = st.setPreset('quick');
    await tick();
    const second = st.setPreset('best');
    await tick();
    const [older, newer] = m.argsOf('estimate_training').map((a) => a.job);
    expect(m.argsOf('cancel_job')).toEqual([{ job: older }]);
    pending[1](null);
    pending[0](null);
    await Promise.all([first, second]);
    expect(newer).not.toBe(older);
    expect(st.estimate?.seconds).toBe(99);
  });

  it('a failed estimate shows none rather than a stale one', async () => {
    let fail = false;
    mockBackend({
      estimate_training: () => {
        if (fail) throw { kind: 'input', message: 'no labels' };
        return { seconds: 30 };
      },
    });
    const st = new TrainState(new AppModel());
    await st.refreshEstimate();
    expect(st.estimate).not.toBeNull();
    fail = true;
    await st.setPreset('best');
    expect(st.estimate).toBeNull();
  });

  it('cancels the learning curve while it reads the texts', async () => {
    let finish: (v: unknown) => void = () => {};
    const m = mockBackend({
      learning_curve: () => new Promise((r) => (finish = r)),
      cancel_job: () => true,
    });
    const st = new TrainState(new AppModel());
    const curve = st.refreshCurve();
    await tick();
    const job = m.argsOf('learning_curve')[0].job;
    await st.cancel();
    expect(m.argsOf('cancel_job')[0]).toEqual({ job });
    finish(null);
    await curve;
    expect(st.jobId).toBeNull();
  });

  it('streams progress and charts, then shows the result and refreshes runs', async () => {
    let finish: (v: unknown) => void = () => {};
    const m = mockBackend({
      start_training: () => new Promise((r) => (finish = r)),
      list_runs: () => [run],
      project_overview: () => overview({ labelled: 20, hasPredictions: true }),
      learning_curve: () => ({
        svg: '<svg>C</svg>',
        rows: [{ perClass: 4, nLabels: 8, accuracy: 0.6, accuracyStd: 0.05 }, { perClass: null, nLabels: 40, accuracy: 0.7, accuracyStd: 0 }],
        evalTexts: 12,
        current: 0.7,
        next: 0.72,
        perClassNeeded: 37.2,
      }),
    });
    const app = new AppModel();
    ready(app);
    const st = new TrainState(app);
    st.epochs = 3;
    const done = st.start();
    await tick();
    expect(m.argsOf('start_training')[0].request).toEqual({ modelId: 'all-minilm-l6-v2', preset: 'quick', mode: null, epochs: 3, lr: null, seed: 42, fromRun: null });
    expect(st.running).toBe(true);
    m.progress('start_training', [
      { kind: 'phase', data: { name: 'train', total: 10 } },
      { kind: 'step', data: { step: 5, totalSteps: 10, epoch: 1, loss: 0.4, etaSecs: 3, elapsedSecs: 3 } },
      { kind: 'charts', data: { lossSvg: '<svg>l</svg>', validationSvg: '<svg>v</svg>' } },
      { kind: 'overfitting', data: { turnedAt: 2, kept: 2 } },
    ]);
    expect(st.progress.overfitting).toEqual({ turnedAt: 2, kept: 2 });
    expect(st.progress.fraction).toBeCloseTo(0.5);
    expect(st.progress.charts?.lossSvg).toBe('<svg>l</svg>');
    finish({ runId: 1, modelDir: '/runs/run-1', validation: metrics, test: metrics, lossSvg: '<svg>L</svg>', validationSvg: '<svg>V</svg>', seconds: 4, epochs: 3, why: 'quick', mode: 'head', reason: 'quick', rarest: 10 });
    await done;
    expect(st.running).toBe(false);
    expect(st.result?.runId).toBe(1);
    expect(st.progress.charts?.lossSvg).toBe('<svg>L</svg>');
    expect(app.latestRun?.id).toBe(1);
    expect(app.project?.hasPredictions).toBe(true);
    // The learning curve is asked for after the run, for the same base model.
    expect(m.argsOf('learning_curve')[0]).toMatchObject({ modelId: 'all-minilm-l6-v2' });
    expect(st.curveNote).toBeNull();
  });

  it('keeps the engine\'s reason when there is no learning curve yet', async () => {
    mockBackend({
      learning_curve: () => {
        throw { kind: 'badInput', message: 'a learning curve needs at least 10 labelled texts in the test split' };
      },
    });
    const st = new TrainState(new AppModel());
    await st.refreshCurve();
    expect(st.curve).toBeNull();
    expect(st.curveNote).toContain('at least 10');
  });

  it('says why there is no learning curve in the language of the user, from the error code', async () => {
    mockBackend({
      learning_curve: () => {
        throw { kind: 'badInput', code: 'tooFewExamples', params: { what: 'a learning curve needs at least 10 labelled texts' }, message: 'too few' };
      },
    });
    i18n.locale = 'zh';
    try {
      const st = new TrainState(new AppModel());
      await st.refreshCurve();
      expect(st.curveNote).toBe('学习曲线需要测试集中至少 10 条已标注文本（约十分之一的已标注文本会进入测试集）；多标注一些即可看到。');
    } finally {
      i18n.locale = 'en';
    }
  });

  it('takes the charts drawn again in another language, and draws none it had not shown', () => {
    const st = new TrainState(new AppModel());
    st.restyle({ lossSvg: '<svg>损失</svg>', validationSvg: '<svg>验证</svg>', curveSvg: '<svg>曲线</svg>', reliability: [] });
    expect(st.progress.charts).toBeNull();
    expect(st.curve).toBeNull();
    st.progress.charts = { lossSvg: '<svg>Loss</svg>', validationSvg: '<svg>Validation</svg>' };
    st.curve = { svg: '<svg>curve</svg>', rows: [], evalTexts: 20, current: 0.8, next: 0.82, perClassNeeded: 30 };
    st.restyle({ lossSvg: '<svg>损失</svg>', validationSvg: '<svg>验证</svg>', curveSvg: '<svg>曲线</svg>', reliability: [] });
    expect(st.progress.charts).toEqual({ lossSvg: '<svg>损失</svg>', validationSvg: '<svg>验证</svg>' });
    expect(st.curve?.svg).toBe('<svg>曲线</svg>');
    expect(st.curve?.current).toBe(0.8);
  });

  it('trains again from a run\'s model, then starts from the base model again', async () => {
    const m = mockBackend({
      start_training: () => ({ runId: 2, modelDir: '/runs/run-2', validation: null, test: null, lossSvg: '', validationSvg: '', seconds: 1, epochs: 1, why: 'quick', mode: 'head', reason: 'quick', rarest: 10, overfitting: null, temperature: 1, headStart: 'continued' }),
      list_runs: () => [],
      project_overview: () => ({}),
      learning_curve: () => fail('badInput', 'too few'),
    });
    const app = new AppModel();
    ready(app);
    const st = new TrainState(app);
    await st.trainAgainFrom(1);
    expect(m.argsOf('start_training')[0].request).toMatchObject({ fromRun: 1 });
    expect(st.result?.headStart).toBe('continued');
    expect(st.fromRun).toBeNull();
    await st.start();
    expect(m.argsOf('start_training')[1].request).toMatchObject({ fromRun: null });
  });

  it('tells a cancelled run from a failed one', async () => {
    let kind = 'cancelled';
    mockBackend({
      start_training: () => {
        throw { kind, message: kind === 'cancelled' ? 'cancelled' : 'the loss diverged; try a lower learning rate (e.g. 2e-5)' };
      },
    });
    const app = new AppModel();
    ready(app);
    const st = new TrainState(app);
    await st.start();
    expect(st.outcome).toBe('cancelled');
    kind = 'runtime';
    await st.start();
    expect(st.outcome).toBe('failed');
    expect(st.failure).toContain('lower learning rate');
  });
});
