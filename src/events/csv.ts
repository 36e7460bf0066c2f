/**
 * CSV cells and rows for exports (RFC 4180): a cell holding `"`, `,`, CR or LF is quoted with `"` doubled; rows end
 * in CRLF. Hostile input: event fields (subjects, addresses, audit targets) come from outside and the file is
 * opened in spreadsheets, so a cell starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading apostrophe
 * (OWASP "CSV injection"): the spreadsheet shows text instead of running a formula.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
