// Small pure helpers shared by panes (tested in format.test.ts).

/** "1h 02m", "3m 05s", "12s". */
export function humanSecs(s: number | null): string {
  const n = Math.max(0, Math.round(s ?? 0));
  if (n >= 3600) return `${Math.floor(n / 3600)}h ${String(Math.floor((n % 3600) / 60)).padStart(2, '0')}m`;
  if (n >= 60) return `${Math.floor(n / 60)}m ${String(n % 60).padStart(2, '0')}s`;
  return `${n}s`;
}

/** 0.8734 -> "87.3%"; a score that does not exist -> "—" (never 0.0%). */
export function pct(x: number | null | undefined, digits = 1): string {
  return x == null || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(digits)}%`;
}

/** "a, b ,,c" -> ["a", "b", "c"] (duplicates dropped, order kept). */
export function parseLabelList(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(/[,，\n]/)) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** A data: URL for an SVG string (images are allowed by the CSP; inline styles are not). */
export function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(bin)}`;
}

/** Every file type the engine reads (projects, training, prediction): one reader for all. */
export const DATA_EXTENSIONS = ['csv', 'tsv', 'txt', 'json', 'jsonl', 'xlsx'];

/** `x.toFixed(digits)`, or "—" for a number the engine could not give (null). */
export function fixed(x: number | null | undefined, digits = 3): string {
  return x == null || Number.isNaN(x) ? '—' : x.toFixed(digits);
}

/** What a run's base model is called in a picker: a catalog id as it is, a folder by its
 * last part ("run-1" for a run this one continued from), not its whole path. */
export function shortModelName(model: string): string {
  const parts = model.split(/[\\/]+/).filter((p) => p !== '');
  return parts.length > 1 ? parts[parts.length - 1] : model;
}
