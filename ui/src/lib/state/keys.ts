// Keyboard actions of the labelling views, as a pure function of the key and the
// label set (so it is unit-tested without a DOM).
import type { LabelDto } from '../backend';

export type KeyAction =
  | { type: 'label'; label: string }
  | { type: 'skip' }
  | { type: 'prev' }
  | { type: 'next' }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'accept' };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  altKey?: boolean;
  /** Tag of the focused element: typing in a field is never an action. */
  targetTag?: string;
}

export function keyAction(e: KeyLike, labels: LabelDto[]): KeyAction | null {
  const tag = (e.targetTag ?? '').toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return null;
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && k === 'z') return e.shiftKey ? { type: 'redo' } : { type: 'undo' };
  if (mod && k === 'y') return { type: 'redo' };
  if (mod || e.altKey) return null;
  if (k === 'ArrowRight' || k === 'ArrowDown') return { type: 'next' };
  if (k === 'ArrowLeft' || k === 'ArrowUp') return { type: 'prev' };
  if (k === 's') return { type: 'skip' };
  if (k === 'Enter') return { type: 'accept' };
  const hit = labels.find((l) => l.key != null && l.key.toLowerCase() === k);
  return hit ? { type: 'label', label: hit.name } : null;
}

/** Rows `first..=last` to render for a scroll position (with `overscan` extra rows). */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): { first: number; last: number } {
  if (total <= 0) return { first: 0, last: -1 };
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total - 1, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, last };
}

/** The tallest scroll area we make: WebKit clamps element heights near 2^25 px. */
export const MAX_SCROLL_PX = 30_000_000;

/** Scroll pixels per layout pixel, so `total` rows of `rowHeight` fit under MAX_SCROLL_PX. */
export function virtualScale(total: number, rowHeight: number): number {
  const h = total * rowHeight;
  return h > MAX_SCROLL_PX ? MAX_SCROLL_PX / h : 1;
}
