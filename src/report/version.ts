/** The job summary of the version step. */
import type { VersionResult } from '../steps/version.js';
import { shortDigest } from '../versioning/bump.js';
import { signatureDiffTable, signatureTable } from '../versioning/release-notes.js';
import { markdownTable } from './markdown.js';

const code = (text: string) => `\`${text}\``;

export function renderVersionSummary(result: VersionResult): string {
  const outcome = result.dryRun
    ? `would be tagged ${code(result.tag)} (dry run, nothing created)`
    : result.created
      ? `tagged ${code(result.tag)}`
      : `already released as ${code(result.tag)}`;
  const rows: unknown[][] = [
    ['Version', code(result.version)],
    ['Previous version', result.previousVersion ? code(result.previousVersion) : '–'],
    ['Bump', result.bump],
    ['Reason', result.bumpReason],
    ['Digest', code(shortDigest(result.digest))],
    ['Commit', code(result.commit.slice(0, 12))],
    ['Where', result.where],
  ];
  if (result.releaseUrl) rows.push(['Release', `[${result.tag}](${result.releaseUrl})`]);
  if (result.assetUrl) rows.push(['Model asset', `[download](${result.assetUrl})`]);
  const parts = [`## ${result.name} ${result.version}: ${outcome}`, '', markdownTable(['', ''], rows), ''];
  if (result.tensors.length > 0) {
    parts.push(`### Signature changes since ${result.previousVersion}`, '', signatureDiffTable(result.tensors), '');
  } else {
    parts.push('### Signature', '', signatureTable(result.signature), '');
  }
  return parts.join('\n');
}
