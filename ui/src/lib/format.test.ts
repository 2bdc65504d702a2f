import { describe, expect, it } from 'vitest';
import { humanSecs, parseLabelList, pct, shortModelName, svgDataUrl } from './format';

describe('format', () => {
  it('names a model folder by its last part, a catalog id as it is', () => {
    expect(shortModelName('all-minilm-l6-v2')).toBe('all-minilm-l6-v2');
    expect(shortModelName('/tmp/studio-home/runs/movie-reviews-890682e2/run-1')).toBe('run-1');
    expect(shortModelName('C:\\models\\my-bert\\')).toBe('my-bert');
  });
  it('prints durations like the CLI', () => {
    expect(humanSecs(12.4)).toBe('12s');
    expect(humanSecs(185)).toBe('3m 05s');
    expect(humanSecs(3720)).toBe('1h 02m');
    expect(humanSecs(-3)).toBe('0s');
  });
  it('prints percentages, and an em dash (never 0.0%) for a score that does not exist', () => {
    expect(pct(0.8734)).toBe('87.3%');
    expect(pct(null)).toBe('—');
    expect(pct(undefined)).toBe('—');
    expect(pct(Number.NaN)).toBe('—');
    expect(pct(1, 0)).toBe('100%');
  });
  it('parses label lists with ASCII and Chinese commas', () => {
    expect(parseLabelList(' negative, positive ,,negative')).toEqual(['negative', 'positive']);
    expect(parseLabelList('正面，负面')).toEqual(['正面', '负面']);
    expect(parseLabelList('')).toEqual([]);
  });
  it('wraps SVG, including non-ASCII text, in a data URL', () => {
    const url = svgDataUrl('<svg><text>损失</text></svg>');
    expect(url.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const bytes = Uint8Array.from(atob(url.split(',')[1]), (c) => c.charCodeAt(0));
    expect(new TextDecoder().decode(bytes)).toBe('<svg><text>损失</text></svg>');
  });
});
