import { describe, expect, it } from 'vitest';
import { errorText, zhErrors } from './errors';

describe('errors in the user language', () => {
  it('keeps the engine sentence in English', () => {
    expect(errorText('en', 'noTestTexts', {}, 'no labelled texts are held out')).toBe('no labelled texts are held out');
  });
  it('renders a Chinese sentence from the code and the parameters, with no English left', () => {
    const s = errorText('zh', 'labelNotInModel', { path: 'a.csv', label: 'neutral', known: 'negative, positive' }, 'a.csv: label "neutral" is not one the model knows');
    expect(s).toBe('a.csv：标签“neutral”不是模型认识的标签（negative, positive）；请用模型的标签标注的数据来评估。');
    expect(errorText('zh', 'io', { op: 'write', path: '/tmp/x.csv', reason: 'denied' }, '')).toBe('无法写入 /tmp/x.csv：denied');
    expect(errorText('zh', 'noTestTexts', {}, 'english')).not.toMatch(/[a-z]{4}/);
  });
  it('falls back to the engine sentence for a code it does not know', () => {
    expect(errorText('zh', 'somethingNew', {}, 'english words')).toBe('english words');
    expect(errorText('zh', undefined, undefined, 'english words')).toBe('english words');
  });
  it('has a template for every code the engine sends', () => {
    // The list in crates/studio-core/src/error.rs (StudioError::CODES) plus the shell's own;
    // src-tauri's tests check the same list against this file.
    for (const code of ['io', 'noRuns', 'noTestTexts', 'labelNotInModel', 'unknownRun', 'runHasNoModel', 'noProject']) {
      expect(zhErrors, code).toHaveProperty(code);
    }
  });
});
