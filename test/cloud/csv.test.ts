import { describe, expect, it } from 'vitest';
import { csvCell, csvTable, localDateTime } from '../../cloud/reports/csv.ts';

describe('Excel-ready CSV (SPEC §17)', () => {
  it('defuses every cell a spreadsheet would run as a formula, tab and carriage return included', () => {
    for (const s of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) expect(csvCell(s).replace(/^"|"$/g, '').startsWith("'")).toBe(true);
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell('dn-001')).toBe('dn-001');
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a\nb')).toBe('"a\nb"');
  });

  it('writes a BOM, the headers in the asked language and CRLF line ends', () => {
    const cols = [{ zh: '站点', en: 'station', value: (r: { id: string }) => r.id }];
    expect(csvTable(cols, [{ id: 'dn-001' }], 'zh')).toBe('\uFEFF站点\r\ndn-001\r\n');
    expect(csvTable(cols, [], 'en')).toBe('\uFEFFstation\r\n');
  });

  it('writes local date and time in the given zone', () => {
    expect(localDateTime(Date.UTC(2026, 10, 29, 15, 59, 58), 'Asia/Shanghai')).toBe('2026-11-29 23:59:58');
    expect(localDateTime(Date.UTC(2026, 10, 29, 15, 59, 58), 'UTC')).toBe('2026-11-29 15:59:58');
  });
});
