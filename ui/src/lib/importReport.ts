// What an import did, in sentences: shown after every import (a new project or more
// texts), so that merged duplicates, skipped rows and unreadable lines are never silent.
import type { ImportSummary } from './backend';
import { t } from './i18n.svelte';

/** The report's lines, most important first; rejected rows are listed separately. */
export function importLines(s: ImportSummary): string[] {
  const lines = [t('import.imported', { n: s.imported, labelled: s.labelled })];
  if (s.duplicates > 0) lines.push(t('import.duplicates', { n: s.duplicates }));
  if (s.skippedEmpty > 0) lines.push(t('import.empty', { n: s.skippedEmpty }));
  if (s.rejected > 0) lines.push(t('import.rejected', { n: s.rejected }));
  if (s.unknownLabels.length > 0) lines.push(t('import.unknownLabels', { labels: s.unknownLabels.join(', ') }));
  const found = s.project.labels.map((l) => `${l.name} (${l.count})`).join(', ');
  if (found) lines.push(t('import.labels', { labels: found }));
  return lines;
}
