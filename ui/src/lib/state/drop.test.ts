// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { overview } from '../../test/fixtures';
import { reset } from '../../test/ipc';
import { AppModel } from './app.svelte';
import { dropAction, DropState } from './drop.svelte';

afterEach(reset);

function recorder() {
  const done: string[] = [];
  const act = (kind: string) => async (path: string) => void done.push(`${kind} ${path}`);
  return { done, actions: { newProject: act('new'), importMore: act('more'), openProject: act('open') } };
}

describe('a file dropped on the window', () => {
  it('starts a project from a data file, adds to the project on the Label pane, opens a .studio file', () => {
    expect(dropAction(['/d/reviews.CSV'], false)).toEqual({ kind: 'newProject', path: '/d/reviews.CSV' });
    expect(dropAction(['/d/more.xlsx', '/d/other.csv'], true)).toEqual({ kind: 'importMore', path: '/d/more.xlsx' });
    expect(dropAction(['/d/reviews.studio'], true)).toEqual({ kind: 'openProject', path: '/d/reviews.studio' });
    expect(dropAction(['/d/photo.jpg'], false)).toEqual({ kind: 'unsupported', path: '/d/photo.jpg' });
    expect(dropAction([], false)).toBeNull();
  });

  it('shows the target while a file is over the window and acts on the drop', async () => {
    const app = new AppModel();
    const { done, actions } = recorder();
    const drop = new DropState(app, actions);
    await drop.handle('over', []);
    expect(drop.over).toBe(true);
    await drop.handle('leave', []);
    expect(drop.over).toBe(false);
    app.pane = 'model';
    await drop.handle('drop', ['/d/reviews.csv']);
    expect(drop.over).toBe(false);
    expect(app.pane).toBe('start');
    app.project = overview();
    app.pane = 'label';
    await drop.handle('drop', ['/d/more.tsv']);
    expect(done).toEqual(['new /d/reviews.csv', 'more /d/more.tsv']);
  });

  it('refuses a file it cannot read with what to drop instead, and does nothing else', async () => {
    const app = new AppModel();
    const { done, actions } = recorder();
    await new DropState(app, actions).handle('drop', ['/d/photo.jpg']);
    expect(done).toEqual([]);
    expect(app.error).toMatch(/photo\.jpg is not a file Sentiment Studio reads: drop a CSV/);
  });
});
