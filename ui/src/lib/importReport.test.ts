import { afterEach, describe, expect, it } from 'vitest';
import type { RejectedRow } from './backend';
import { filePreview } from '../test/fixtures';
import { i18n } from './i18n.svelte';
import { layoutLine, rejectedLine } from './importReport';

// studio_core::data::import::RejectCode::ALL, as the engine spells the codes.
const REJECT_CODES = ['tooLong', 'unclosedQuote', 'badBytes', 'wrongWidth', 'extraCells', 'notObject', 'notJson', 'emptyId', 'repeatedId', 'takenId'];

const preview = filePreview;

const latin = /[A-Za-z]{2,}/g;

afterEach(() => {
  i18n.locale = 'en';
});

describe('what an import found, in words', () => {
  it('says format, encoding and how it was found, separator and header', () => {
    expect(layoutLine(preview({}))).toBe('CSV, Chinese, Simplified (GBK) (detected), separated by commas, first row names the columns');
    expect(layoutLine(preview({ format: 'tsv', delimiter: '\t', encoding: 'UTF-8', encodingSource: 'bom', hasHeader: false }))).toBe(
      'TSV, Unicode (UTF-8) (from the byte-order mark), separated by tabs, no header row',
    );
    expect(layoutLine(preview({ format: 'xlsx', encoding: null, encodingSource: null, delimiter: null, sheet: 'Reviews', sheets: ['Reviews'] }))).toBe(
      'Excel workbook, sheet “Reviews”, first row names the columns',
    );
  });

  it('says it in Chinese with no English left but the format and the encoding code', () => {
    i18n.locale = 'zh';
    const line = layoutLine(preview({}));
    expect(line).toBe('CSV，简体中文（GBK）（自动检测），以逗号分隔，第一行是列名');
    expect((line.match(latin) ?? []).filter((w) => !['CSV', 'GBK'].includes(w))).toEqual([]);
  });

  it('words every reject code the engine sends, in both languages, from its values', () => {
    const args: Record<string, string> = { bytes: '9000000', limitMib: '8', from: '3', to: '9', encoding: 'UTF-8', found: '3', expected: '2', width: '2', detail: 'x', column: 'id', id: 'a1', line: '4', text: '7' };
    for (const code of REJECT_CODES) {
      const row: RejectedRow = { line: 12, code, args, reason: 'ENGLISH FALLBACK' };
      for (const locale of ['en', 'zh'] as const) {
        i18n.locale = locale;
        const s = rejectedLine(row);
        expect(s, `${code} ${locale}`).not.toContain('ENGLISH FALLBACK');
        expect(s, `${code} ${locale}`).not.toMatch(/\{\w+\}/);
        expect(s, `${code} ${locale}`).toContain('12');
      }
    }
    i18n.locale = 'zh';
    expect(rejectedLine({ line: 5, code: 'wrongWidth', args: { found: '3', expected: '2' }, reason: '' })).toBe(
      '第 5 行：有 3 个值，而列数是 2；请检查是否少了或多了分隔符，或文本中有未加引号的分隔符',
    );
  });

  it('keeps the engine’s English reason for a code it does not know yet', () => {
    expect(rejectedLine({ line: 2, code: 'somethingNew', args: {}, reason: 'a new reason' })).toBe('Line 2: a new reason');
  });
});
