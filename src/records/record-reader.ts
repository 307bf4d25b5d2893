import { makeExtractor, missingAtPath, valueAtPath, type Extractor } from './extract.js';
import type { RejectReason } from './framer.js';
import type { FieldSpec, KeySpec } from './specs.js';
import { parseEventTime, type TimeFormat } from './time.js';
import { parseValue } from './value.js';

/** One parsed record; reused between lines so the hot path allocates no record objects. */
export interface ParsedRecord {
  key: string;
  value: number;
  /** The value as text, when the reduction takes any text (distinct); '' otherwise. */
  text: string;
  /** Event time in epoch ms; NaN in processing time. */
  time: number;
  /** Record id for --dedupe; '' without it. */
  id: string;
}

export interface RecordSpecs {
  readonly key: Exclude<KeySpec, { kind: 'word' }>;
  readonly delimiter: string | null;
  readonly value: FieldSpec | null;
  /** How the value is read: a finite decimal number (sum, quantile, ...) or any non-empty text (distinct). */
  readonly valueAs?: 'number' | 'text';
  readonly time: FieldSpec | null;
  readonly timeFormat: TimeFormat;
  readonly id: FieldSpec | null;
}

/** Fills `out` from one line and returns null, or returns why the line is rejected. */
export type RecordReader = (line: string, out: ParsedRecord) => RejectReason | null;

/**
 * Builds the reader for a key spec plus optional value and time specs. When
 * several specs read JSON, the line is parsed once, not once per spec.
 */
export function makeRecordReader(specs: RecordSpecs): RecordReader {
  const usesJson = [specs.key, specs.value, specs.time, specs.id].some((s) => s !== null && s.kind === 'json');
  const keyOf = specs.key.kind === 'line' ? (line: string) => line : part(specs.key, specs.delimiter, usesJson);
  const valueOf = specs.value === null ? null : part(specs.value, specs.delimiter, usesJson);
  const timeOf = specs.time === null ? null : part(specs.time, specs.delimiter, usesJson);
  const idOf = specs.id === null ? null : part(specs.id, specs.delimiter, usesJson);
  // Why a piece is missing is worked out only for a line already being rejected.
  const noKey = specs.key.kind === 'line' ? null : missing(specs.key);
  const noValue = specs.value === null ? null : missing(specs.value);
  const noTime = specs.time === null ? null : missing(specs.time);
  const noId = specs.id === null ? null : missing(specs.id);
  const format = specs.timeFormat;
  const valueIsText = specs.valueAs === 'text';
  // The framer rejects lines holding a NUL, but a JSON string can still decode to one (\u0000); a key
  // holding one would break the NUL-joined key blobs of deltas, and PostgreSQL's text refuses it in an id.
  const keyMayHoldNul = specs.key.kind === 'json';
  const idMayHoldNul = specs.id?.kind === 'json';
  return (line, out) => {
    if (usesJson) {
      parsedJson.current = parseJson(line);
      if (parsedJson.current === INVALID) return 'invalid JSON';
    }
    const key = keyOf(line);
    if (key === null) return noKey!();
    if (keyMayHoldNul && key.includes('\0')) return 'NUL byte';
    out.key = key;
    if (valueOf !== null) {
      const raw = valueOf(line);
      if (raw === null) return noValue!();
      if (valueIsText) {
        // A value of no characters is no value; any other text is one (its UTF-8 bytes are what counts).
        if (raw === '') return 'bad value';
        out.text = raw;
        return timeAndId(line, out);
      }
      const value = parseValue(raw);
      if (value === null) return 'bad value';
      out.value = value;
    }
    return timeAndId(line, out);
  };

  function timeAndId(line: string, out: ParsedRecord): RejectReason | null {
    if (timeOf !== null) {
      const raw = timeOf(line);
      if (raw === null) return noTime!();
      const time = parseEventTime(raw, format);
      if (time === null) return 'bad time';
      out.time = time;
    } else {
      out.time = NaN;
    }
    if (idOf !== null) {
      const id = idOf(line);
      if (id === null) return noId!();
      if (id === '') return 'empty id';
      if (idMayHoldNul && id.includes('\0')) return 'NUL byte';
      out.id = id;
    }
    return null;
  }
}

/** The current line's parsed JSON, shared by the json specs of one reader call. */
const parsedJson: { current: unknown } = { current: undefined };
const INVALID = Symbol('invalid JSON');

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return INVALID;
  }
}

/** A json spec's line is parsed (and found valid) before any part is read. */
function part(spec: FieldSpec, delimiter: string | null, sharedJson: boolean): Extractor {
  if (spec.kind !== 'json' || !sharedJson) return makeExtractor(spec, delimiter);
  return () => valueAtPath(parsedJson.current, spec.path);
}

/** The reason for a spec that found nothing in the current line. */
function missing(spec: FieldSpec): () => RejectReason {
  switch (spec.kind) {
    case 'field':
      return () => 'missing field';
    case 'regex':
      return () => 'no match';
    case 'json':
      return () => missingAtPath(parsedJson.current, spec.path);
  }
}
