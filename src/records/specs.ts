import { UsageError } from '../errors.js';

/** Where a piece of a record (key, value, time, id) is taken from. */
export type FieldSpec =
  | { readonly kind: 'field'; readonly index: number }
  | { readonly kind: 'json'; readonly path: readonly string[] }
  | { readonly kind: 'regex'; readonly source: string };

export type KeySpec = { readonly kind: 'word' } | { readonly kind: 'line' } | FieldSpec;

/** Parses `field=N`, `json=PATH` or `regex=RE`; `optionName` names the flag in messages. */
export function parseFieldSpec(text: string, optionName: string): FieldSpec {
  const eq = text.indexOf('=');
  const kind = eq < 0 ? text : text.slice(0, eq);
  const arg = eq < 0 ? '' : text.slice(eq + 1);
  switch (kind) {
    case 'field': {
      if (!/^[1-9]\d*$/.test(arg)) {
        throw new UsageError(`${optionName} field=N needs a field number of 1 or more, got '${text}'`);
      }
      return Object.freeze({ kind: 'field', index: Number(arg) });
    }
    case 'json': {
      const path = arg.split('.');
      if (arg === '' || path.some((part) => part === '')) {
        throw new UsageError(`${optionName} json=PATH needs a dotted path such as json=user.id, got '${text}'`);
      }
      return Object.freeze({ kind: 'json', path: Object.freeze(path) });
    }
    case 'regex': {
      if (arg === '') throw new UsageError(`${optionName} regex=RE needs a regular expression, got '${text}'`);
      try {
        new RegExp(arg);
      } catch (err) {
        throw new UsageError(`${optionName} has an invalid regular expression '${arg}': ${(err as Error).message}`);
      }
      return Object.freeze({ kind: 'regex', source: arg });
    }
    default:
      throw new UsageError(`${optionName} expects field=N, json=PATH or regex=RE, got '${text}'`);
  }
}

export function parseKeySpec(text: string): KeySpec {
  if (text === 'word' || text === 'line') return Object.freeze({ kind: text });
  try {
    return parseFieldSpec(text, '--key');
  } catch (err) {
    if (err instanceof UsageError && !/^(field|json|regex)=/.test(text)) {
      throw new UsageError(`--key expects word, line, field=N, json=PATH or regex=RE, got '${text}'`);
    }
    throw err;
  }
}

/** The spec as the user wrote it; stored in job definitions and compared across runs. */
export function describeSpec(spec: KeySpec): string {
  switch (spec.kind) {
    case 'word':
    case 'line':
      return spec.kind;
    case 'field':
      return `field=${spec.index}`;
    case 'json':
      return `json=${spec.path.join('.')}`;
    case 'regex':
      return `regex=${spec.source}`;
  }
}
