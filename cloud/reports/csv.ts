/**
 * CSV that a Chinese Excel opens as it is (SPEC §17): UTF-8 with a byte-order mark, Chinese
 * column headers (English with `lang=en`), local dates and times, one table per file, CRLF line
 * ends. Every cell that a spreadsheet would read as a formula is defused (issue 11).
 */

export type CsvLang = 'zh' | 'en';

export interface CsvColumn<R> {
  zh: string;
  en: string;
  value: (row: R) => string | number | null;
}

const BOM = '\uFEFF';

/**
 * One cell. Text starting with `=`, `+`, `-`, `@`, a tab or a carriage return is what Excel and
 * LibreOffice evaluate as a formula (OWASP "CSV injection"), so it gets a leading `'`; numbers are
 * written as they are (a negative number is a number, not a formula).
 */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  const safe = typeof v === 'string' && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvTable<R>(columns: readonly CsvColumn<R>[], rows: readonly R[], lang: CsvLang): string {
  const lines = [columns.map((c) => csvCell(lang === 'zh' ? c.zh : c.en)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(c.value(r))).join(','));
  return `${BOM}${lines.join('\r\n')}\r\n`;
}

const localFormats = new Map<string, Intl.DateTimeFormat>();

/** `2026-11-29 23:59:58` in `timeZone` — what a spreadsheet reads as a local date and time. */
export function localDateTime(ms: number, timeZone: string): string {
  let f = localFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    localFormats.set(timeZone, f);
  }
  return f.format(ms);
}
