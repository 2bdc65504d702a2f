// A file dragged onto the window: a data file starts a new project from it (or, on the
// Label pane of an open project, adds its texts to the project); a .studio file opens.
import { DATA_EXTENSIONS } from '../format';
import { t } from '../i18n.svelte';
import type { AppModel } from './app.svelte';

/** What dropping `paths` does, given whether the Label pane of a project is showing. */
export type DropAction = { kind: 'newProject' | 'importMore' | 'openProject'; path: string } | { kind: 'unsupported'; path: string };

export function dropAction(paths: string[], labelling: boolean): DropAction | null {
  const path = paths[0];
  if (!path) return null;
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'studio') return { kind: 'openProject', path };
  if (!DATA_EXTENSIONS.includes(ext)) return { kind: 'unsupported', path };
  return { kind: labelling ? 'importMore' : 'newProject', path };
}

/** The drop target's state: whether a file is over the window, and what a drop does. */
export class DropState {
  over = $state(false);

  constructor(
    private app: AppModel,
    private actions: {
      newProject: (path: string) => Promise<void>;
      importMore: (path: string) => Promise<void>;
      openProject: (path: string) => Promise<void>;
    },
  ) {}

  async handle(kind: 'over' | 'drop' | 'leave', paths: string[]): Promise<void> {
    this.over = kind === 'over';
    if (kind !== 'drop') return;
    const action = dropAction(paths, this.app.project != null && this.app.pane === 'label');
    if (!action) return;
    if (action.kind === 'unsupported') {
      this.app.error = t('drop.unsupported', { file: action.path });
      return;
    }
    if (action.kind === 'newProject') this.app.pane = 'start';
    await this.actions[action.kind](action.path);
  }
}
