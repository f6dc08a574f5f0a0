/** Markdown pieces for job summaries and pull-request comments. */

const escapeCell = (value: unknown): string =>
  String(value ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>');

export function markdownTable(header: string[], rows: unknown[][]): string {
  const lines = [`| ${header.map(escapeCell).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map(escapeCell).join(' | ')} |`);
  return lines.join('\n');
}

export const statusIcon = (status: 'pass' | 'warn' | 'fail' | 'skip'): string =>
  ({ pass: '✓', warn: '⚠', fail: '✗', skip: '–' })[status];

export function details(summary: string, body: string): string {
  return `<details><summary>${summary}</summary>\n\n${body}\n\n</details>`;
}
