/**
 * `.xlsx` exports (issue 15): one sheet per table, with the same columns as the CSV of that table
 * (cloud/reports/csv.ts): Chinese headers, English with `lang=en`. Written by exceljs; cells are
 * typed values (numbers stay numbers; text is text, so nothing is evaluated as a formula).
 */
import ExcelJS from 'exceljs';
import type { CsvColumn, CsvLang } from './csv.ts';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface Sheet<R> {
  /** Sheet tab names: at most 31 characters, none of `[]:*?/\`. */
  zh: string;
  en: string;
  columns: readonly CsvColumn<R>[];
  rows: readonly R[];
}

/** Any sheet: the row type is known only to its columns. */
export type AnySheet = Sheet<any>;

export async function xlsxWorkbook(sheets: readonly AnySheet[], lang: CsvLang): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Waystation';
  // A fixed date keeps the file the same for the same figures.
  wb.created = new Date(0);
  wb.modified = new Date(0);
  for (const s of sheets) {
    const ws = wb.addWorksheet(lang === 'zh' ? s.zh : s.en, { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.columns = s.columns.map((c) => {
      const header = lang === 'zh' ? c.zh : c.en;
      return { header, width: Math.max(10, Math.min(40, [...header].length * (lang === 'zh' ? 2 : 1) + 2)) };
    });
    ws.getRow(1).font = { bold: true };
    for (const r of s.rows) ws.addRow(s.columns.map((c) => c.value(r)));
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
