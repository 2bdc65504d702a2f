import { afterEach, describe, expect, it } from 'vitest';
import { chartStyle } from './charts';
import { i18n } from './i18n.svelte';

afterEach(() => {
  i18n.locale = 'en';
});

describe('chart style', () => {
  it('carries the theme and every chart word in the user’s language', () => {
    i18n.locale = 'zh';
    const zh = chartStyle(true);
    expect(zh.dark).toBe(true);
    const words = [...Object.entries(zh.text).filter(([k]) => k !== 'methods').map(([, v]) => v as string), ...zh.text.methods.map(([, v]) => v)];
    // Chinese throughout, but for the names that are the same in both (F1, LoRA).
    for (const w of words) expect(w.replace(/F1|LoRA/g, ''), w).not.toMatch(/[A-Za-z]{2,}/);
    expect(zh.text.methods.map(([k]) => k)).toEqual(['head', 'fewshot', 'lora', 'full']);
    i18n.locale = 'en';
    const en = chartStyle(false);
    expect(en.dark).toBe(false);
    expect(en.text.crossEntropy).toBe('cross-entropy');
    for (const key of Object.keys(en.text)) expect(zh.text, key).toHaveProperty(key);
  });
});
