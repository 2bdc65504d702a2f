// What an import found and did, in sentences of the user's language: the file's layout
// before a project is made, then the report after every import (a new project or more
// texts), so that merged duplicates, skipped rows and unreadable lines are never silent.
import type { FilePreview, ImportSummary, RejectedRow } from './backend';
import { t, tOr, type MessageKey } from './i18n.svelte';

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

/** A rejected row: its line and the engine's reason, worded by its code (the English
 *  reason only for a code this UI does not know yet). */
export function rejectedLine(r: RejectedRow): string {
  const reason = tOr(`reject.${r.code}`, r.reason, r.args as Record<string, string>);
  return t('import.line', { line: r.line, reason });
}

/** The encoding's plain name ("Chinese, Simplified (GBK)"), else the name as it is. */
export function encodingName(name: string): string {
  return tOr(`enc.${name.toLowerCase()}`, name);
}

const DELIMITERS: Record<string, MessageKey> = {
  ',': 'import.delim.comma',
  '\t': 'import.delim.tab',
  ';': 'import.delim.semicolon',
  '|': 'import.delim.pipe',
};

/** One line on what sniffing the file found: format, encoding and how it was found,
 *  separator, header. */
export function layoutLine(pv: FilePreview): string {
  const header = t(pv.hasHeader ? 'import.header' : 'import.noHeader');
  if (pv.sheet != null) return t('import.layoutXlsx', { sheet: pv.sheet, header });
  const encoding = pv.encoding
    ? t(`import.encodingFrom.${pv.encodingSource ?? 'detected'}` as MessageKey, { name: encodingName(pv.encoding) })
    : '';
  const d = pv.delimiter;
  const delimiter =
    d == null
      ? t('import.onePerLine')
      : t('import.delimiter', { name: DELIMITERS[d] ? t(DELIMITERS[d]) : t('import.delim.other', { char: d }) });
  return t('import.layout', { format: pv.format.toUpperCase(), encoding, delimiter, header });
}
