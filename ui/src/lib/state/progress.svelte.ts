// What a long job has reported so far, folded from its Progress events.
import type { Charts, EpochUpdate, NoteDto, OverfittingDto, Progress, StepUpdate } from '../backend';
import { humanSecs } from '../format';
import { t, type MessageKey } from '../i18n.svelte';

/**
 * A note of the engine in the user's words, or null for notes meant for a terminal
 * (the training plan's parameters, study rows, pooling details).
 */
export function noteText(note: NoteDto): string | null {
  switch (note.code) {
    case 'device':
      return t(`model.gpu.${note.args.gpu ?? 'noGpu'}` as MessageKey);
    case 'plan':
    case 'stoppedEarly':
    case 'hubFallback':
    case 'weightsFromBin':
      return t(`note.${note.code}` as MessageKey, note.args);
    default:
      return null;
  }
}

export class JobProgress {
  phase = $state<string | null>(null);
  done = $state(0);
  total = $state<number | null>(null);
  /** The engine's notes a user should see, worded in their language. */
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
      case 'note': {
        const text = noteText(p.data);
        if (text != null) this.notes = [...this.notes, text].slice(-20);
        break;
      }
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

/** The phase in words, the step while training, and the time left. */
export function progressLabel(p: JobProgress): string {
  let s = t(`train.phase.${p.phase ?? 'tokenize'}` as MessageKey);
  if (p.phase === 'train' && p.step) {
    // Few-shot's pair phase counts no rounds (epoch 0): say only the step then.
    const vars = { step: p.step.step, total: p.step.totalSteps, epoch: p.step.epoch };
    s = t(p.step.epoch >= 1 ? 'train.step' : 'train.stepOnly', vars);
  }
  if (p.etaSecs != null) s += ` · ${t('common.eta', { time: humanSecs(p.etaSecs) })}`;
  return s;
}
