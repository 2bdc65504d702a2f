import { describe, expect, it } from 'vitest';
import { i18n } from './i18n.svelte';
import { runName, runScore } from './runs';

const run = {
  id: 3,
  method: 'fewshot' as const,
  labelCount: 40,
  startedAtMs: Date.UTC(2026, 11, 7, 14, 5),
  testAccuracy: 0.875,
  testInterval: [0.8012, 0.9311] as [number, number],
};

describe('run names', () => {
  it('say when, how, from how many labels and the test score with its interval', () => {
    const name = runName(run);
    expect(name).toMatch(/^#3 · 7 Dec, \d\d:\d\d · Few-shot · 40 labels · test 87\.5% \(80%–93%\)$/);
  });

  it('never show 0.0% for a run without a test score', () => {
    const name = runName({ ...run, testAccuracy: null, testInterval: null, method: null, labelCount: null });
    expect(name).toMatch(/^#3 · 7 Dec, \d\d:\d\d · Model · no test score yet$/);
    expect(name).not.toContain('0.0%');
  });

  it('are in Chinese in Chinese mode', () => {
    i18n.locale = 'zh';
    try {
      expect(runName(run)).toMatch(/^#3 · 12月7日 \d\d:\d\d · 小样本 · 40 条标注 · 测试 87\.5%（80%–93%）$/);
      expect(runScore({ testAccuracy: null, testInterval: null })).toBe('暂无测试分数');
    } finally {
      i18n.locale = 'en';
    }
  });
});
