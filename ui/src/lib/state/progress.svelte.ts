// What a long job has reported so far, folded from its Progress events.
import type { Charts, EpochUpdate, OverfittingDto, Progress, StepUpdate } from '../backend';

export class JobProgress {
  phase = $state<string | null>(null);
  done = $state(0);
  total = $state<number | null>(null);
  notes = $state<string[]>([]);
  step = $state<StepUpdate | null>(null);
  epochs = $state<EpochUpdate[]>([]);
  charts = $state<Charts | null>(null);
  /** Set once the run has begun to overfit. */
  overfitting = $state<OverfittingDto | null>(null);

  /** 0..1 within the current phase (steps while training), or null when unknown. */
  get fraction(): number | null {
    if (this.phase === 'train' && this.step) return this.step.step / Math.max(1, this.step.totalSteps);
    if (this.total == null || this.total === 0) return null;
    return Math.min(1, this.done / this.total);
  }

  /** Seconds left, when the engine has estimated it. */
  get etaSecs(): number | null {
    return this.phase === 'train' && this.step ? this.step.etaSecs : null;
  }

  apply(p: Progress): void {
    switch (p.kind) {
      case 'note':
        this.notes = [...this.notes, p.data].slice(-20);
        break;
      case 'phase':
        this.phase = p.data.name;
        this.done = 0;
        this.total = p.data.total ?? null;
        break;
      case 'advance':
        this.done = p.data.done ?? 0;
        this.total = p.data.total ?? this.total;
        break;
      case 'step':
        if (this.phase !== 'train') {
          this.phase = 'train';
        }
        this.step = p.data;
        break;
      case 'epoch':
        this.epochs = [...this.epochs, p.data];
        break;
      case 'charts':
        this.charts = p.data;
        break;
      case 'overfitting':
        this.overfitting = p.data;
        break;
    }
  }

  reset(): void {
    this.phase = null;
    this.done = 0;
    this.total = null;
    this.notes = [];
    this.step = null;
    this.epochs = [];
    this.charts = null;
    this.overfitting = null;
  }
}
