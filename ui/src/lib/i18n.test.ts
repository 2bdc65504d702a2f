import { describe, expect, it } from 'vitest';
import { locales, pickLocale, translate, type MessageKey } from './i18n.svelte';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n', () => {
  it('has every English message in Chinese, with the same placeholders', () => {
    for (const key of Object.keys(locales.en) as MessageKey[]) {
      const zh = translate('zh', key);
      expect(zh, key).not.toBe(key);
      expect(placeholders(zh), key).toEqual(placeholders(locales.en[key]));
    }
  });
  it('has a sentence for every reason code and method the engine sends', () => {
    // studio_core::train::Reason (serde camelCase) and Mode (lowercase).
    for (const code of ['asked', 'fewLabels', 'quick', 'balanced', 'best']) {
      expect(locales.en, code).toHaveProperty(`train.reason.${code}`);
    }
    for (const mode of ['head', 'fewshot', 'lora', 'full']) {
      expect(locales.en, mode).toHaveProperty(`train.method.${mode}`);
    }
  });
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'label.progress', { labelled: 3, total: 60 })).toBe('3 of 60 labelled');
    expect(translate('zh', 'label.progress', { labelled: 3, total: 60 })).toBe('已标注 3 / 60');
    expect(translate('en', 'label.progress', { labelled: 3 })).toBe('3 of {total} labelled');
  });
  it('follows the saved choice, else the system locale', () => {
    expect(pickLocale(null, 'zh')).toBe('zh');
    expect(pickLocale(undefined, 'en')).toBe('en');
    expect(pickLocale('en', 'zh')).toBe('en');
    expect(pickLocale('zh-CN', 'en')).toBe('zh');
  });
});
