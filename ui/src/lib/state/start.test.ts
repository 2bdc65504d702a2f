// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { mockBackend, reset, tick } from '../../test/ipc';
import { filePreview, overview } from '../../test/fixtures';
import { AppModel } from './app.svelte';
import { StartState } from './start.svelte';
import { i18n } from '../i18n.svelte';

afterEach(reset);

const preview = filePreview();

describe('StartState', () => {
  it('previews a file, guesses the mapping and asks for labels when there is no label column', async () => {
    const m = mockBackend({ preview_file: () => preview, list_runs: () => [] });
    const app = new AppModel();
    const st = new StartState(app);
    await st.load('/data/reviews.csv');
    expect(m.argsOf('preview_file')[0]).toEqual({ path: '/data/reviews.csv', read: { encoding: null, sheet: null } });
    expect(st.mapping).toEqual({ text: 'text', label: null, id: null });
    expect(st.projectPath).toBe('/data/reviews.studio');
    expect(st.labelsText).toBe('negative, positive');
    expect(st.problem).toBeNull();
    st.labelsText = 'only-one';
    expect(st.problem).toBe('start.needLabels');
    st.mapping.text = '';
    expect(st.problem).toBe('start.needText');
  });

  it('offers the default labels in the language of the user', async () => {
    mockBackend({ preview_file: () => preview, list_runs: () => [] });
    i18n.locale = 'zh';
    try {
      const st = new StartState(new AppModel());
      await st.load('/data/reviews.csv');
      expect(st.labelsText).toBe('负面, 正面');
    } finally {
      i18n.locale = 'en';
    }
  });

  it('chooses the project file with a Save As dialog, adding the .studio extension', async () => {
    mockBackend({ preview_file: () => preview, list_runs: () => [], 'plugin:dialog|save': () => '/elsewhere/mine' });
    const st = new StartState(new AppModel());
    await st.load('/data/reviews.csv');
    await st.chooseProjectPath();
    expect(st.projectPath).toBe('/elsewhere/mine.studio');
  });

  it('keeps the project file when the Save As dialog is closed', async () => {
    mockBackend({ preview_file: () => preview, list_runs: () => [], 'plugin:dialog|save': () => null });
    const st = new StartState(new AppModel());
    await st.load('/data/reviews.csv');
    await st.chooseProjectPath();
    expect(st.projectPath).toBe('/data/reviews.studio');
  });

  it('reads the sheet the user picks, and creates the project from it', async () => {
    const book = { ...preview, path: '/data/book.xlsx', format: 'xlsx', encoding: null, encodingSource: null, delimiter: null };
    const m = mockBackend({
      preview_file: (a) => ({ ...book, sheet: (a.read as { sheet: string | null }).sheet ?? 'Summary', sheets: ['Summary', 'Reviews'] }),
      create_project: () => new Promise(() => {}),
    });
    const st = new StartState(new AppModel());
    await st.load('/data/book.xlsx');
    expect(st.preview?.sheet).toBe('Summary');
    await st.setSheet('Reviews');
    expect(m.argsOf('preview_file')[1].read).toEqual({ encoding: null, sheet: 'Reviews' });
    expect(st.preview?.sheet).toBe('Reviews');
    void st.create();
    await tick();
    expect(m.argsOf('create_project')[0].read).toEqual({ encoding: null, sheet: 'Reviews' });
    // Another file starts from its first sheet again.
    await st.load('/data/other.xlsx');
    expect(m.argsOf('preview_file')[2].read).toEqual({ encoding: null, sheet: null });
  });

  it('re-reads the preview with an explicit encoding', async () => {
    const m = mockBackend({ preview_file: () => preview });
    const st = new StartState(new AppModel());
    await st.load('/data/reviews.csv');
    await st.setEncoding('gb18030');
    expect(m.argsOf('preview_file')[1]).toEqual({ path: '/data/reviews.csv', read: { encoding: 'gb18030', sheet: null } });
  });

  it('creates the project with the typed labels, shows progress, then opens the Label pane', async () => {
    let finish: (v: unknown) => void = () => {};
    const m = mockBackend({
      preview_file: () => preview,
      create_project: () => new Promise((r) => (finish = r)),
      list_runs: () => [],
    });
    const app = new AppModel();
    const st = new StartState(app);
    await st.load('/data/reviews.csv');
    st.labelsText = '正面，负面';
    const done = st.create();
    await tick();
    const args = m.argsOf('create_project')[0];
    expect(args.projectPath).toBe('/data/reviews.studio');
    expect(args.dataPath).toBe('/data/reviews.csv');
    expect(args.labels).toEqual(['正面', '负面']);
    expect(args.mapping).toEqual({ text: 'text', label: null, id: null });
    expect(st.busy).toBe(true);
    m.progress('create_project', [{ kind: 'phase', data: { name: 'import', total: 100 } }, { kind: 'advance', data: { done: 50, total: 100 } }]);
    expect(st.progress.fraction).toBeCloseTo(0.5);
    finish({ project: overview({ total: 2 }), imported: 2, labelled: 0, skippedEmpty: 0, duplicates: 0, rejected: 0, rejectedExamples: [], unknownLabels: [] });
    await done;
    expect(app.project?.total).toBe(2);
    expect(app.pane).toBe('label');
    expect(st.busy).toBe(false);
  });

  it('sends no labels when the file has a label column, and shows a failure', async () => {
    const m = mockBackend({
      preview_file: () => ({ ...preview, columns: ['text', 'label'], guess: { text: 'text', label: 'label', id: null } }),
      create_project: () => {
        throw { kind: 'input', message: 'the data has only one label' };
      },
    });
    const app = new AppModel();
    const st = new StartState(app);
    await st.load('/data/reviews.csv');
    await st.create();
    expect(m.argsOf('create_project')[0].labels).toEqual([]);
    expect(app.error).toBe('the data has only one label');
    expect(app.pane).toBe('start');
  });
});
