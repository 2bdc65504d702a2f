// How a training run is named wherever the app shows one (run pickers, Playground cards):
// when it was trained, how, from how many labels, and its test score with its interval,
// so that "#1 · all-minilm-l6-v2 · 0.0%" never has to be decoded.
import type { RunInfo } from './backend';
import { pct } from './format';
import { i18n, t, type MessageKey } from './i18n.svelte';

type Named = Pick<RunInfo, 'id' | 'method' | 'labelCount' | 'startedAtMs' | 'testAccuracy' | 'testInterval'>;

/** "7 Dec, 14:05" (or "12月7日 14:05"): the run's start in the user's language. */
export function runWhen(ms: number | null): string {
  if (ms == null) return '';
  return new Date(ms).toLocaleString(i18n.locale === 'zh' ? 'zh-CN' : 'en-GB', {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** The test score with its 95% interval, or a plain "no test score yet" (never 0.0%). */
export function runScore(r: Pick<RunInfo, 'testAccuracy' | 'testInterval'>): string {
  if (r.testAccuracy == null) return t('run.noTest');
  const [low, high] = r.testInterval ?? [r.testAccuracy, r.testAccuracy];
  return t('run.test', { acc: pct(r.testAccuracy), low: pct(low, 0), high: pct(high, 0) });
}

/** "#3 · 7 Dec, 14:05 · Few-shot · 40 labels · test 87.5% (80%–93%)". */
export function runName(r: Named): string {
  const method = t(`run.method.${r.method ?? 'unknown'}` as MessageKey);
  const labels = r.labelCount == null ? '' : t('run.labels', { n: r.labelCount });
  const head = t('run.name', { when: runWhen(r.startedAtMs), method, labels }).replace(/( · )+$/, '');
  return `#${r.id} · ${head} · ${runScore(r)}`;
}
