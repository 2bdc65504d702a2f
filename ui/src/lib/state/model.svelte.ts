// Model pane: catalog cards, the recommendation, downloads and imports, the device.
import { backend } from '../backend';
import type { ModelsView } from '../backend';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';
import { t, type MessageKey } from '../i18n.svelte';

export class ModelState {
  view = $state<ModelsView | null>(null);
  downloading = $state<string | null>(null);
  jobId = $state<number | null>(null);
  progress = new JobProgress();

  constructor(private app: AppModel) {}

  async load(): Promise<void> {
    try {
      const v = await backend.listModels();
      this.view = v;
      this.app.adoptRecommendation(v);
    } catch (e) {
      this.app.fail(e);
    }
  }

  select(id: string): void {
    this.app.modelId = id;
    this.app.modelChosen = true;
  }

  async download(id: string): Promise<void> {
    this.downloading = id;
    this.progress.reset();
    try {
      const job = backend.downloadModel(id, (p) => this.progress.apply(p));
      this.jobId = job.id;
      await job.result;
      this.app.modelId = id;
      this.app.modelChosen = true;
      await this.load();
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.downloading = null;
      this.jobId = null;
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId != null) await backend.cancelJob(this.jobId);
  }

  async importFolder(): Promise<void> {
    try {
      const folder = await backend.pickFolder();
      if (!folder) return;
      this.app.modelId = await backend.importModel(folder);
      this.app.modelChosen = true;
      await this.load();
    } catch (e) {
      this.app.fail(e);
    }
  }
}

/** The device in the user's language, from the engine's fields (not its English sentence). */
export function deviceText(v: Pick<ModelsView, 'device' | 'threads' | 'openblas' | 'openblasInstallable' | 'gpu'>): string {
  if (v.device !== 'cpu') return t('model.deviceGpu', { device: v.device.toUpperCase() });
  const cpu = v.openblas
    ? t('model.deviceCpuBlas', { threads: v.threads })
    : v.openblasInstallable
      ? t('model.deviceCpuHint', { threads: v.threads })
      : t('model.deviceCpu', { threads: v.threads });
  return `${gpuText(v.gpu)} ${cpu}`;
}

/** Why the GPU is not used, in words a user can act on. */
export function gpuText(code: string): string {
  return t(`model.gpu.${code}` as MessageKey);
}

/** Why the recommended model, in the user's language. */
export function whyText(v: Pick<ModelsView, 'cjkShare'>): string {
  const share = v.cjkShare ?? 0;
  return share > 0.2 ? t('model.whyCjk', { share: Math.round(share * 100) }) : t('model.whyEnglish');
}
