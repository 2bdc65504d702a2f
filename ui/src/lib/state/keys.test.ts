import { describe, expect, it } from 'vitest';
import { labels } from '../../test/fixtures';
import { keyAction, MAX_SCROLL_PX, virtualScale, visibleRange } from './keys';

describe('keyAction', () => {
  it('maps label keys, moves, skip, undo/redo and accept', () => {
    expect(keyAction({ key: '1' }, labels)).toEqual({ type: 'label', label: 'negative' });
    expect(keyAction({ key: '2' }, labels)).toEqual({ type: 'label', label: 'positive' });
    expect(keyAction({ key: '3' }, labels)).toBeNull();
    expect(keyAction({ key: 'ArrowRight' }, labels)).toEqual({ type: 'next' });
    expect(keyAction({ key: 'ArrowLeft' }, labels)).toEqual({ type: 'prev' });
    expect(keyAction({ key: 'S' }, labels)).toEqual({ type: 'skip' });
    expect(keyAction({ key: 'z', ctrlKey: true }, labels)).toEqual({ type: 'undo' });
    expect(keyAction({ key: 'Z', ctrlKey: true, shiftKey: true }, labels)).toEqual({ type: 'redo' });
    expect(keyAction({ key: 'y', metaKey: true }, labels)).toEqual({ type: 'redo' });
    expect(keyAction({ key: 'Enter' }, labels)).toEqual({ type: 'accept' });
  });
  it('ignores keys typed into fields and other modified keys', () => {
    expect(keyAction({ key: '1', targetTag: 'input' }, labels)).toBeNull();
    expect(keyAction({ key: 's', targetTag: 'TEXTAREA' }, labels)).toBeNull();
    expect(keyAction({ key: '1', ctrlKey: true }, labels)).toBeNull();
    expect(keyAction({ key: '1', altKey: true }, labels)).toBeNull();
  });
});

describe('visibleRange', () => {
  it('covers the viewport plus overscan, clamped to the rows', () => {
    expect(visibleRange(0, 360, 36, 1_000_000, 2)).toEqual({ first: 0, last: 12 });
    expect(visibleRange(36_000, 360, 36, 1_000_000, 2)).toEqual({ first: 998, last: 1012 });
    expect(visibleRange(35_999_640, 360, 36, 1_000_000, 2)).toEqual({ first: 999_988, last: 999_999 });
  });
  it('squeezes a million rows under the browser height limit', () => {
    expect(virtualScale(1000, 36)).toBe(1);
    const s = virtualScale(1_000_000, 36);
    expect(1_000_000 * 36 * s).toBeCloseTo(MAX_SCROLL_PX);
    expect(visibleRange(0, 360, 36, 0)).toEqual({ first: 0, last: -1 });
  });
});
