import type { FieldSpec } from './specs.js';

/** Pulls one string out of one line, or null when the line does not have it. */
export type Extractor = (line: string) => string | null;

/**
 * Builds the extractor for a field spec. `delimiter` null means runs of
 * whitespace with leading and trailing whitespace ignored, as awk does.
 */
export function makeExtractor(spec: FieldSpec, delimiter: string | null): Extractor {
  switch (spec.kind) {
    case 'field':
      return delimiter === null ? whitespaceField(spec.index) : delimitedField(spec.index, delimiter);
    case 'json':
      return jsonPath(spec.path);
    case 'regex': {
      const re = new RegExp(spec.source);
      return (line) => {
        const m = re.exec(line);
        if (m === null) return null;
        const captured = m.length > 1 ? m[1] : m[0];
        return captured === undefined ? null : captured;
      };
    }
  }
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function whitespaceField(index: number): Extractor {
  return (line) => {
    const n = line.length;
    let i = 0;
    let field = 0;
    while (i < n) {
      while (i < n && isSpace(line.charCodeAt(i))) i++;
      if (i >= n) return null;
      const start = i;
      while (i < n && !isSpace(line.charCodeAt(i))) i++;
      if (++field === index) return line.slice(start, i);
    }
    return null;
  };
}

function delimitedField(index: number, delimiter: string): Extractor {
  return (line) => {
    let start = 0;
    for (let field = 1; field < index; field++) {
      const next = line.indexOf(delimiter, start);
      if (next < 0) return null;
      start = next + delimiter.length;
    }
    const end = line.indexOf(delimiter, start);
    return end < 0 ? line.slice(start) : line.slice(start, end);
  };
}

function jsonPath(path: readonly string[]): Extractor {
  return (line) => {
    let node: unknown;
    try {
      node = JSON.parse(line);
    } catch {
      return null;
    }
    return valueAtPath(node, path);
  };
}

/**
 * Why valueAtPath gave null (asked only then, so the accepted path does no
 * more work): nothing at the path, or something that is not a scalar there.
 */
export function missingAtPath(root: unknown, path: readonly string[]): 'missing field' | 'non-scalar value' {
  let node = root;
  for (const part of path) {
    // An inherited property (json=toString) is not in the line either.
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return 'missing field';
    node = (node as Record<string, unknown>)[part];
  }
  return 'non-scalar value';
}

/** The string form of a scalar at a dotted path; objects, arrays, null and missing paths give null. */
export function valueAtPath(root: unknown, path: readonly string[]): string | null {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return null;
    node = (node as Record<string, unknown>)[part];
  }
  switch (typeof node) {
    case 'string':
      return node;
    case 'number':
    case 'boolean':
      return String(node);
    default:
      return null;
  }
}
