import { describe, expect, it } from 'vitest';
import { JobProgress } from './progress.svelte';

describe('JobProgress', () => {
  it('folds phases, advances, steps, epochs and charts', () => {
    const p = new JobProgress();
    expect(p.fraction).toBeNull();
    p.apply({ kind: 'note', data: 'using CPU' });
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
    expect(p.notes).toEqual(['using CPU']);
    expect(p.epochs).toHaveLength(1);
    expect(p.charts?.lossSvg).toBe('<svg/>');
    p.reset();
    expect(p.phase).toBeNull();
    expect(p.epochs).toEqual([]);
  });
});
