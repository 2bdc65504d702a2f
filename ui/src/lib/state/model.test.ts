// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { modelCard, modelsView, overview } from '../../test/fixtures';
import { mockBackend, reset, tick } from '../../test/ipc';
import { AppModel } from './app.svelte';
import { i18n } from '../i18n.svelte';
import { deviceText, ModelState, whyText } from './model.svelte';

afterEach(reset);

const card = modelCard;

describe('ModelState', () => {
  it('selects the recommended model when it is downloaded', async () => {
    mockBackend({
      list_models: () =>
        modelsView([card('all-minilm-l6-v2', false), card('multilingual-e5-small', true, true)], 'multilingual-e5-small', { cjkShare: 0.9, openblas: false }),
    });
    const app = new AppModel();
    const st = new ModelState(app);
    await st.load();
    expect(app.modelId).toBe('multilingual-e5-small');
  });

  it('words the device and the recommendation in the user language, not the engine English', () => {
    const cpu = { device: 'cpu' as const, threads: 2, openblas: false, openblasInstallable: true, gpu: 'noGpu' };
    i18n.locale = 'zh';
    try {
      expect(deviceText(cpu)).toBe('未找到 NVIDIA GPU。 使用 CPU（2 个线程）；安装 OpenBLAS（Debian/Ubuntu：sudo apt install libopenblas0）可使训练快约 1.4 倍。');
      expect(deviceText({ ...cpu, openblas: true, gpu: 'needsCudaBuild' })).toBe('此版本无法使用你的 NVIDIA GPU：请安装 CUDA 版本。 使用 CPU（2 个线程，OpenBLAS）。');
      expect(whyText({ cjkShare: 0.87 })).toBe('你的文本中 87% 的字符是中文、日文或韩文：这个模型能读懂它们，纯英文模型不能');
    } finally {
      i18n.locale = 'en';
    }
    expect(deviceText({ ...cpu, device: 'cuda' })).toBe('using the CUDA GPU');
    expect(deviceText({ ...cpu, openblas: true, gpu: 'needsCudaBuild' })).toBe(
      'This build cannot use your NVIDIA GPU: install the CUDA build. Using the CPU (2 threads, OpenBLAS).',
    );
    expect(whyText({ cjkShare: 0 })).toMatch(/^your texts are in English/);
  });

  it('keeps a model the user picked, even when another is recommended', async () => {
    mockBackend({
      list_models: () => modelsView([card('all-minilm-l6-v2', true), card('multilingual-e5-small', true, true)], 'multilingual-e5-small', { cjkShare: 0.9 }),
    });
    const app = new AppModel();
    const st = new ModelState(app);
    await st.load();
    expect(app.modelId).toBe('multilingual-e5-small');
    st.select('all-minilm-l6-v2');
    await st.load();
    expect(app.modelId).toBe('all-minilm-l6-v2');
  });

  it('a Chinese project adopts the Chinese-capable model when opened, and Train warns before an English-only one', async () => {
    const e5 = { ...card('multilingual-e5-small', false, true), languages: ['multilingual', 'zh', 'en'] };
    const view = (e5Downloaded: boolean) => modelsView([card('all-minilm-l6-v2', true), { ...e5, downloaded: e5Downloaded }], 'multilingual-e5-small', { cjkShare: 0.9 });
    let e5Downloaded = true;
    mockBackend({ list_models: () => view(e5Downloaded), list_runs: () => [] });
    const app = new AppModel();
    // Opening the project is enough: the Model pane was never visited.
    await app.projectOpened(overview());
    expect(app.modelId).toBe('multilingual-e5-small');
    expect(app.languageMismatch).toBeNull();
    // The user picks the English-only model: Train warns and names the one to use.
    app.modelId = 'all-minilm-l6-v2';
    app.modelChosen = true;
    expect(app.languageMismatch?.recommended.id).toBe('multilingual-e5-small');
    // Missing the Chinese-capable model: the English default stays, with the warning.
    e5Downloaded = false;
    const fresh = new AppModel();
    await fresh.projectOpened(overview());
    expect(fresh.modelId).toBe('all-minilm-l6-v2');
    expect(fresh.languageMismatch?.recommended.downloaded).toBe(false);
    expect(fresh.error).toBeNull();
  });

  it('the download button of the Train warning fetches the Chinese-capable model and trains with it, no pane change', async () => {
    const e5 = { ...card('multilingual-e5-small', false, true), languages: ['multilingual', 'zh', 'en'] };
    let e5Downloaded = false;
    const m = mockBackend({
      list_models: () => modelsView([card('all-minilm-l6-v2', true), { ...e5, downloaded: e5Downloaded }], 'multilingual-e5-small', { cjkShare: 0.9 }),
      list_runs: () => [],
      download_model: () => {
        e5Downloaded = true;
        return null;
      },
    });
    const app = new AppModel();
    await app.projectOpened(overview());
    app.pane = 'train';
    expect(app.languageMismatch?.recommended.id).toBe('multilingual-e5-small');
    // What the warning's button does when the model is missing.
    await new ModelState(app).download(app.languageMismatch!.recommended.id);
    expect(m.argsOf('download_model')[0]).toMatchObject({ id: 'multilingual-e5-small' });
    expect(app.modelId).toBe('multilingual-e5-small');
    expect(app.languageMismatch).toBeNull();
    expect(app.pane).toBe('train');
  });

  it('downloads with progress and can cancel', async () => {
    let finish: (v: unknown) => void = () => {};
    let downloaded = false;
    const m = mockBackend({
      list_models: () => modelsView([card('x', downloaded)], 'x'),
      download_model: () => new Promise((r) => (finish = r)),
      cancel_job: () => true,
    });
    const app = new AppModel();
    const st = new ModelState(app);
    const done = st.download('x');
    await tick();
    expect(st.downloading).toBe('x');
    m.progress('download_model', [{ kind: 'phase', data: { name: 'download', total: 1000 } }, { kind: 'advance', data: { done: 250, total: 1000 } }]);
    expect(st.progress.fraction).toBeCloseTo(0.25);
    await st.cancel();
    expect(m.argsOf('cancel_job')[0]).toEqual({ job: m.argsOf('download_model')[0].job });
    downloaded = true;
    finish(null);
    await done;
    expect(st.downloading).toBeNull();
    expect(app.modelId).toBe('x');
    expect(st.view?.models[0].downloaded).toBe(true);
  });
});
