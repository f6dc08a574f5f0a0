/**
 * The one part of a Triton model configuration that deploy changes: `version_policy`. Everything else in a
 * user's config.pbtxt (batching, instance groups, comments) is kept byte for byte; the policy block is
 * found by a small scanner that respects strings, comments and nesting, and replaced.
 */

export type VersionPolicy =
  { kind: 'specific'; versions: number[] } | { kind: 'latest'; numVersions: number } | { kind: 'all' };

export const ONNX_PLATFORM = 'onnxruntime_onnx';

export function renderVersionPolicy(versions: readonly number[]): string {
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  return `version_policy: { specific: { versions: [${sorted.join(', ')}] } }`;
}

/** A minimal config: Triton and modelship serve both complete inputs, outputs and batching from the ONNX file. */
export function renderMinimalConfig(model: string, versions: readonly number[]): string {
  return [`name: "${model}"`, `platform: "${ONNX_PLATFORM}"`, renderVersionPolicy(versions), ''].join('\n');
}

/** The same minimal config as the JSON a load request carries (Triton's JSON form of ModelConfig). */
export function minimalConfigJson(model: string, versions: readonly number[]): string {
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  return JSON.stringify({ name: model, platform: ONNX_PLATFORM, version_policy: { specific: { versions: sorted } } });
}

interface Span {
  start: number;
  end: number;
  body: string;
}

/** Index after a string literal starting at `i` (a quote). */
function skipString(text: string, i: number): number {
  const quote = text[i];
  let j = i + 1;
  while (j < text.length && text[j] !== quote) j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

const skipComment = (text: string, i: number): number => {
  const newline = text.indexOf('\n', i);
  return newline === -1 ? text.length : newline;
};

/** Finds a top-level `field { ... }` / `field: { ... }` / `field < ... >` and returns its span. */
function findMessageField(text: string, field: string): Span | undefined {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (c === '#') {
      i = skipComment(text, i);
      continue;
    }
    if (c === '{' || c === '<' || c === '[') depth++;
    else if (c === '}' || c === '>' || c === ']') depth--;
    else if (
      depth === 0 &&
      text.startsWith(field, i) &&
      !/[\w]/.test(text[i - 1] ?? '') &&
      !/[\w]/.test(text[i + field.length] ?? '')
    ) {
      let j = i + field.length;
      while (/\s/.test(text[j] ?? '')) j++;
      if (text[j] === ':') j++;
      while (/\s/.test(text[j] ?? '')) j++;
      const open = text[j];
      if (open === '{' || open === '<') {
        const close = open === '{' ? '}' : '>';
        let k = j + 1;
        let inner = 1;
        while (k < text.length && inner > 0) {
          const d = text[k];
          if (d === '"' || d === "'") {
            k = skipString(text, k);
            continue;
          }
          if (d === '#') {
            k = skipComment(text, k);
            continue;
          }
          if (d === open) inner++;
          else if (d === close) inner--;
          k++;
        }
        return { start: i, end: k, body: text.slice(j + 1, k - 1) };
      }
    }
    i++;
  }
  return undefined;
}

/** Reads `version_policy` from config.pbtxt text; Triton's default when absent is `latest { num_versions: 1 }`. */
export function readVersionPolicy(configText: string): VersionPolicy {
  const span = findMessageField(configText, 'version_policy');
  if (!span) return { kind: 'latest', numVersions: 1 };
  const body = span.body.replace(/#[^\n]*/g, '');
  if (/\bspecific\b/.test(body)) {
    const versions = [...body.matchAll(/\bversions\s*:\s*(\[[^\]]*\]|-?\d+)/g)].flatMap((m) =>
      (m[1].match(/-?\d+/g) ?? []).map(Number),
    );
    return { kind: 'specific', versions: [...new Set(versions)].sort((a, b) => a - b) };
  }
  if (/\blatest\b/.test(body)) {
    const n = /\bnum_versions\s*:\s*(\d+)/.exec(body);
    return { kind: 'latest', numVersions: n ? Number(n[1]) : 1 };
  }
  return { kind: 'all' };
}

/** Returns config.pbtxt text with `version_policy` set to exactly these versions, all else untouched. */
export function withVersionPolicy(configText: string, versions: readonly number[]): string {
  const policy = renderVersionPolicy(versions);
  const span = findMessageField(configText, 'version_policy');
  if (span) return configText.slice(0, span.start) + policy + configText.slice(span.end);
  const base = configText.length === 0 || configText.endsWith('\n') ? configText : configText + '\n';
  return `${base}${policy}\n`;
}
