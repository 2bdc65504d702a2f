// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { labels, modelCard, modelsView, overview, rows } from '../../test/fixtures';
import { fail, mockBackend, reset, type Handler } from '../../test/ipc';
import { AppModel } from './app.svelte';
import { importLines } from '../importReport';
import { LabelState, PAGE, SUGGEST_BATCH } from './label.svelte';

afterEach(reset);

type State = { labelled: Map<number, string | null> };

function setup(total = 5, extra: (state: State) => Record<string, Handler> = () => ({})) {
  const state: State = { labelled: new Map<number, string | null>() };
  const m = mockBackend({
    ...extra(state),
    list_texts: (a) => {
      const f = a.filter as { status: string };
      const all = rows(total).map((r) => ({ ...r, label: state.labelled.get(r.id) ?? null }));
      const hits = f.status === 'unlabelled' ? all.filter((r) => r.label == null) : all;
      const off = a.offset as number;
      return { rows: hits.slice(off, off + (a.limit as number)), total: hits.length, offset: off };
    },
    label_text: (a) => {
      state.labelled.set(a.id as number, a.label as string | null);
      return { changed: [{ id: a.id, label: a.label }], overview: overview({ labelled: state.labelled.size, undoable: 1 }) };
    },
    undo: () => {
      const last = [...state.labelled.keys()].pop()!;
      state.labelled.delete(last);
      return { changed: [{ id: last, label: null }], overview: overview({ labelled: state.labelled.size }) };
    },
  });
  const app = new AppModel();
  app.project = overview();
  return { m, app, st: new LabelState(app), state };
}

describe('LabelState focus mode', () => {
  it('labels by keys in order, one text each, even when keys come fast', async () => {
    const { m, app, st } = setup(5);
    await st.reload();
    expect(st.current?.id).toBe(1);
    expect(st.handleKey({ key: '1' })).toBe(true);
    expect(st.handleKey({ key: '2' })).toBe(true);
    expect(st.handleKey({ key: 'x' })).toBe(false);
    await st.settled();
    expect(m.argsOf('label_text')).toEqual([
      { id: 1, label: 'negative' },
      { id: 2, label: 'positive' },
    ]);
    expect(st.current?.id).toBe(3);
    expect(app.project?.labelled).toBe(2);
  });

  it('stays on a text whose label was not saved, and says why', async () => {
    let broken = true;
    const saved = new Map<number, string>();
    const m = mockBackend({
      list_texts: () => ({ rows: rows(5), total: 5, offset: 0 }),
      label_text: (a) => {
        if (broken) fail('runtime', 'the project database failed: disk I/O error');
        saved.set(a.id as number, a.label as string);
        return { changed: [{ id: a.id, label: a.label }], overview: overview({ labelled: saved.size }) };
      },
    });
    const app = new AppModel();
    app.project = overview();
    const st = new LabelState(app);
    await st.reload();
    st.handleKey({ key: '2' });
    await st.settled();
    expect(st.current?.id).toBe(1);
    expect(app.error).toContain('disk I/O error');
    expect(saved.size).toBe(0);
    // Once saving works again, the same key labels the same text and moves on.
    broken = false;
    st.handleKey({ key: '2' });
    await st.settled();
    expect(m.argsOf('label_text').map((a) => a.id)).toEqual([1, 1]);
    expect(st.current?.id).toBe(2);
  });

  it('skips, goes back, and undoes the last label', async () => {
    const { m, st } = setup(5);
    await st.reload();
    st.handleKey({ key: 's' });
    await st.settled();
    expect(st.current?.id).toBe(2);
    st.handleKey({ key: 'ArrowLeft' });
    await st.settled();
    expect(st.current?.id).toBe(1);
    st.handleKey({ key: '2' });
    st.handleKey({ key: 'z', ctrlKey: true });
    await st.settled();
    expect(m.argsOf('undo')).toEqual([{ redo: false }]);
    expect(st.current?.id).toBe(1);
    expect(st.current?.label).toBeNull();
  });

  it('fetches the next unlabelled texts at the end of the queue', async () => {
    const { st } = setup(60);
    await st.reload();
    expect(st.queue).toHaveLength(50);
    for (let i = 0; i < 50; i++) st.handleKey({ key: '1' });
    await st.settled();
    expect(st.current?.id).toBe(51);
  });

  it('accepts the model prediction with Enter', async () => {
    const { m, st } = setup(3);
    await st.reload();
    st.queue = st.queue.map((r) => ({ ...r, predicted: 'positive', confidence: 0.9 }));
    st.handleKey({ key: 'Enter' });
    await st.settled();
    expect(m.argsOf('label_text')[0]).toEqual({ id: 1, label: 'positive' });
  });
});

/** The Model pane's view: both catalog models downloaded, `recommended` recommended. */
const bothModels = (recommended: string) =>
  modelsView(['all-minilm-l6-v2', 'multilingual-e5-small'].map((id) => modelCard(id, true, id === recommended)), recommended);

describe('LabelState suggest mode', () => {
  it('asks the engine for batches, shows its refit, and offers skipped texts only when nothing else is left', async () => {
    let call = 0;
    const { m, app, st } = setup(6, (state) => ({
      list_models: () => bothModels('multilingual-e5-small'),
      suggest_next: () => {
        call += 1;
        // The engine's batch: the first four unlabelled texts, with its guesses.
        const open = rows(6).filter((r) => !state.labelled.has(r.id)).slice(0, 4);
        return {
          rows: open.map((r) => ({ ...r, predicted: 'positive', confidence: 0.55 })),
          refittedOn: call > 1 ? state.labelled.size : null,
        };
      },
    }));
    await st.setStrategy('suggest');
    // Nobody picked a model: the one recommended for these texts reads them.
    expect(app.modelId).toBe('multilingual-e5-small');
    expect(m.argsOf('suggest_next')).toMatchObject([{ modelId: 'multilingual-e5-small', n: SUGGEST_BATCH }]);
    expect(st.current?.id).toBe(1);
    expect(st.current?.predicted).toBe('positive');
    expect(st.refittedOn).toBeNull();
    for (const key of ['1', 's', '2', '1']) st.handleKey({ key }); // #1, skip #2, #3, #4
    await st.settled();
    // A new batch [2, 5, 6]: the skipped #2 waits while others remain.
    expect(m.argsOf('suggest_next').length).toBe(2);
    expect(st.refittedOn).toBe(3);
    expect(st.queue.map((r) => r.id)).toEqual([5, 6]);
    for (const key of ['s', 's']) st.handleKey({ key });
    await st.settled();
    // Everything left was skipped: offered again rather than nothing.
    expect(st.queue.map((r) => r.id)).toEqual([2, 5, 6]);
    await st.setStrategy('order');
    expect(m.argsOf('list_texts').length).toBeGreaterThan(0);
  });
});

describe('LabelState suggest job', () => {
  it('goes back to labelling in order, without an error, when the user cancels the first read', async () => {
    const { m, app, st } = setup(3, () => ({
      list_models: () => bothModels('multilingual-e5-small'),
      suggest_next: () => fail('cancelled', 'cancelled'),
    }));
    // A model the user picked stays picked.
    app.modelId = 'all-minilm-l6-v2';
    app.modelChosen = true;
    await st.setStrategy('suggest');
    expect(m.argsOf('list_models').length).toBe(0);
    expect(m.argsOf('suggest_next')).toMatchObject([{ modelId: 'all-minilm-l6-v2' }]);
    expect(m.argsOf('suggest_next').length).toBe(1);
    expect(st.strategy).toBe('order');
    expect(st.suggestJob).toBeNull();
    expect(st.current?.id).toBe(1);
    expect(app.error).toBeNull();
  });
});

describe('LabelState table', () => {
  it('loads only the pages a scroll position needs', async () => {
    const { m, st } = setup(1000);
    st.view = 'table';
    st.filter = { status: 'any', label: null, search: null, disagrees: false };
    await st.ensureRows(250, 260);
    expect(m.argsOf('list_texts').map((a) => a.offset)).toEqual([2 * PAGE]);
    expect(st.rowAt(255)?.id).toBe(256);
    await st.ensureRows(250, 260);
    expect(m.argsOf('list_texts')).toHaveLength(1);
    st.selected = 255;
    st.handleKey({ key: '2', targetTag: 'DIV' });
    await st.settled();
    expect(m.argsOf('label_text')[0]).toEqual({ id: 256, label: 'positive' });
    expect(st.rowAt(255)?.label).toBe('positive');
    expect(st.selected).toBe(256);
    expect(labels).toHaveLength(2);
  });
});

describe('import more texts', () => {
  it('imports a file into the open project with the guessed columns and says what it did', async () => {
    const m = mockBackend({
      'plugin:dialog|open': () => '/data/more.csv',
      preview_file: () => ({ guess: { text: 'review', label: null, id: null } }),
      import_into_project: () => ({
        project: overview({ total: 90 }),
        imported: 30,
        labelled: 0,
        skippedEmpty: 1,
        duplicates: 2,
        rejected: 0,
        rejectedExamples: [],
        unknownLabels: [],
      }),
      list_texts: () => ({ rows: [], total: 0, offset: 0 }),
    });
    const app = new AppModel();
    app.project = overview();
    const st = new LabelState(app);
    await st.importMore();
    const args = m.argsOf('import_into_project')[0];
    expect(args.dataPath).toBe('/data/more.csv');
    expect(args.mapping).toEqual({ text: 'review', label: null, id: null });
    expect(app.project?.total).toBe(90);
    expect(importLines(app.importSummary!)).toEqual([
      'Imported 30 texts (0 with a label).',
      'Repeated texts, merged into their first copy: 2.',
      'Empty rows, left out: 1.',
      'Labels: negative (0), positive (0).',
    ]);
    expect(st.importJob).toBeNull();
  });
});
