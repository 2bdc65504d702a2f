// The app as a whole: which pane is shown, the open project, its runs, the chosen base
// model, language and theme, and the last error.
import { backend, BackendError } from '../backend';
import type { AppInfo, ImportSummary, ModelsView, ProjectOverview, RunInfo } from '../backend';
import { i18n, pickLocale, type Locale } from '../i18n.svelte';

export type Pane = 'start' | 'label' | 'model' | 'train' | 'evaluate' | 'playground' | 'export';
export const PANES: Pane[] = ['start', 'label', 'model', 'train', 'evaluate', 'playground', 'export'];
export type Theme = 'light' | 'dark';

export function messageOf(e: unknown): string {
  if (e instanceof BackendError || e instanceof Error) return e.message;
  return String(e);
}

export class AppModel {
  pane = $state<Pane>('start');
  info = $state<AppInfo | null>(null);
  project = $state<ProjectOverview | null>(null);
  runs = $state<RunInfo[]>([]);
  modelId = $state('all-minilm-l6-v2');
  /** Whether the user picked `modelId` for this project (else the recommendation may). */
  modelChosen = $state(false);
  /** What the last import did, until the user dismisses it (shown on the Label pane). */
  importSummary = $state<ImportSummary | null>(null);
  /** The models and the recommendation for the open project, once listed. */
  models = $state<ModelsView | null>(null);
  theme = $state<Theme>('light');
  error = $state<string | null>(null);

  /** Below this top probability a prediction is called "unsure" (the user's choice, else
   * the engine's default). */
  get unsureBelow(): number {
    return this.info?.settings.unsureBelow ?? this.info?.defaultUnsureBelow ?? 0.7;
  }

  /** Saves the "unsure" threshold (a share, 0–1). */
  async setUnsureBelow(v: number): Promise<void> {
    if (!this.info || !(v >= 0 && v <= 1)) return;
    this.info = { ...this.info, settings: { ...this.info.settings, unsureBelow: v } };
    try {
      await backend.setUnsureBelow(v);
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * When the project's texts are mostly Chinese (Japanese, Korean) but the chosen model
   * reads only English: the recommended model to use instead, else null.
   */
  get languageMismatch(): { recommended: ModelsView['models'][number]; share: number } | null {
    const v = this.models;
    const share = v?.cjkShare ?? 0;
    if (!v || share <= 0.2) return null;
    const chosen = v.models.find((m) => m.id === this.modelId);
    if (!chosen || !chosen.fromCatalog || chosen.languages.some((l) => l !== 'en')) return null;
    const recommended = v.models.find((m) => m.id === v.recommended);
    return recommended && recommended.id !== chosen.id ? { recommended, share } : null;
  }

  /** The newest run with a model. */
  get latestRun(): RunInfo | null {
    return this.runs.find((r) => r.modelDir != null) ?? null;
  }

  /** Whether a pane can be opened now (and why not, as a message key). */
  blocker(p: Pane): 'nav.needProject' | 'nav.needRun' | null {
    if (p === 'start' || p === 'model') return null;
    if (!this.project) return 'nav.needProject';
    if ((p === 'evaluate' || p === 'playground' || p === 'export') && !this.latestRun) return 'nav.needRun';
    return null;
  }

  go(p: Pane): void {
    if (this.blocker(p) == null) this.pane = p;
  }

  async init(prefersDark = false): Promise<void> {
    try {
      const info = await backend.appInfo();
      this.info = info;
      i18n.locale = pickLocale(info.settings.locale, info.systemLocale);
      const saved = info.settings.theme;
      this.theme = saved === 'dark' || saved === 'light' ? saved : prefersDark ? 'dark' : 'light';
    } catch (e) {
      this.fail(e);
    }
  }

  async setLocale(l: Locale): Promise<void> {
    i18n.locale = l;
    await this.saveSettings();
  }

  async setTheme(t: Theme): Promise<void> {
    this.theme = t;
    await this.saveSettings();
  }

  private async saveSettings(): Promise<void> {
    try {
      await backend.saveSettings(i18n.locale, this.theme);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Follows the engine's recommendation for this project's texts (e.g. the multilingual
   * model for Chinese) unless the user picked a model; falls back to any downloaded one
   * when the current choice is not downloaded. */
  adoptRecommendation(v: ModelsView): void {
    this.models = v;
    const current = v.models.find((m) => m.id === this.modelId);
    const rec = v.models.find((m) => m.id === v.recommended && m.downloaded);
    if (rec && !this.modelChosen) {
      this.modelId = rec.id;
    } else if (!current?.downloaded) {
      const any = rec ?? v.models.find((m) => m.downloaded);
      if (any) this.modelId = any.id;
    }
  }

  async projectOpened(p: ProjectOverview): Promise<void> {
    this.project = p;
    this.modelChosen = false;
    this.models = null;
    this.runs = [];
    await this.refreshRuns();
    // Pick the model for these texts now, not only once the Model pane is visited: a
    // Chinese project must not train the English-only default unnoticed.
    try {
      this.adoptRecommendation(await backend.listModels());
    } catch (e) {
      this.fail(e);
    }
    this.pane = 'label';
    if (this.info) {
      const recent = [p.path, ...this.info.settings.recent.filter((r) => r !== p.path)].slice(0, 8);
      this.info = { ...this.info, settings: { ...this.info.settings, recent } };
    }
  }

  async refreshProject(): Promise<void> {
    try {
      this.project = await backend.projectOverview();
    } catch (e) {
      this.fail(e);
    }
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = await backend.listRuns();
    } catch (e) {
      this.fail(e);
    }
  }

  fail(e: unknown): void {
    this.error = messageOf(e);
  }
}
