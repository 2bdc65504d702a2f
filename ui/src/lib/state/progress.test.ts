import { describe, expect, it } from 'vitest';
import { i18n } from '../i18n.svelte';
import { JobProgress, progressLabel } from './progress.svelte';

describe('JobProgress', () => {
  it('folds phases, advances, steps, epochs and charts', () => {
    const p = new JobProgress();
    expect(p.fraction).toBeNull();
    p.apply({ kind: 'note', data: { code: 'device', args: { gpu: 'needsCudaBuild' } } });
    p.apply({ kind: 'note', data: { code: 'pooling', args: {} } });
    p.apply({ kind: 'note', data: { code: 'plan', args: { train: '180', validation: '20' } } });
    p.apply({ kind: 'phase', data: { name: 'embed', total: 40 } });
    p.apply({ kind: 'advance', data: { done: 10, total: 40 } });
    expect(p.fraction).toBeCloseTo(0.25);
    expect(p.etaSecs).toBeNull();
    p.apply({ kind: 'phase', data: { name: 'train', total: 100 } });
    p.apply({ kind: 'step', data: { step: 50, totalSteps: 100, epoch: 2, loss: 0.5, etaSecs: 12, elapsedSecs: 12 } });
    expect(p.fraction).toBeCloseTo(0.5);
    expect(p.etaSecs).toBe(12);
    p.apply({ kind: 'epoch', data: { epoch: 1, epochs: 3, trainLoss: 0.6, valLoss: 0.5, valAccuracy: 0.8, valMacroF1: 0.79, best: true } });
    p.apply({ kind: 'charts', data: { lossSvg: '<svg/>', validationSvg: '<svg/>' } });
    // The parameter dump and the pooling detail are for a terminal, not for the pane.
    expect(p.notes).toEqual([
      'This build cannot use your NVIDIA GPU: install the CUDA build.',
      'Learning from 180 texts; checking progress on 20 it does not learn from.',
    ]);
    expect(p.epochs).toHaveLength(1);
    expect(p.charts?.lossSvg).toBe('<svg/>');
    p.reset();
    expect(p.phase).toBeNull();
    expect(p.epochs).toEqual([]);
  });

  it('says the phase and the step in words, without a round 0 or a raw key', () => {
    const p = new JobProgress();
    p.apply({ kind: 'phase', data: { name: 'contrastive', total: 40 } });
    expect(progressLabel(p)).toBe('Learning from pairs of texts');
    p.apply({ kind: 'step', data: { step: 5, totalSteps: 40, epoch: 0, loss: 0.5, etaSecs: null, elapsedSecs: 1 } });
    expect(progressLabel(p)).toBe('Step 5 of 40');
    p.apply({ kind: 'step', data: { step: 6, totalSteps: 40, epoch: 2, loss: 0.5, etaSecs: 90, elapsedSecs: 1 } });
    expect(progressLabel(p)).toBe('Step 6 of 40 · round 2 through the texts · 1m 30s left');
    i18n.locale = 'zh';
    try {
      expect(progressLabel(p)).toMatch(/^第 6 \/ 40 步 · 第 2 轮 · /);
    } finally {
      i18n.locale = 'en';
    }
  });
});
