// Model pane: catalog cards, the recommendation, downloads and imports, the device.
import { backend } from '../backend';
import type { ModelsView } from '../backend';
import type { AppModel } from './app.svelte';
import { JobProgress } from './progress.svelte';

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
