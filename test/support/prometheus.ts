/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for the
 * tests of --metrics: it refuses anything a Prometheus server would refuse
 * (bad names, bad escapes, a TYPE after its samples, a family split in two,
 * a sample twice) and checks what the format promises of histograms
 * (cumulative buckets, +Inf equal to _count) and counters (never negative).
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Family {
  readonly name: string;
  type: MetricType;
  help: string | null;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const seen = new Set<string>();
  let current: Family | null = null;
  const family = (name: string, lineNo: number): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', help: null, samples: [] };
      families.set(name, f);
    }
    if (current !== f) {
      if (finished.has(name)) throw new Error(`line ${lineNo}: the lines of ${name} are not one group`);
      if (current !== null) finished.add(current.name);
      current = f;
    }
    return f;
  };
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (m === null) return; // a comment
      const [, keyword, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) throw new Error(`line ${lineNo}: bad metric name '${name}'`);
      const f = family(name!, lineNo);
      if (keyword === 'HELP') {
        if (f.help !== null) throw new Error(`line ${lineNo}: a second HELP for ${name}`);
        f.help = unescape(rest, false, lineNo);
      } else {
        if (f.samples.length > 0) throw new Error(`line ${lineNo}: TYPE of ${name} after its samples`);
        if (!(TYPES as readonly string[]).includes(rest)) throw new Error(`line ${lineNo}: unknown type '${rest}'`);
        f.type = rest as MetricType;
      }
      return;
    }
    const sample = parseSample(line, lineNo);
    const owner = ownerOf(sample.name, families, current);
    const f = family(owner, lineNo);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${lineNo}: sample ${key} given twice`);
    seen.add(key);
    if (f.type === 'counter' && !(sample.value >= 0)) throw new Error(`line ${lineNo}: counter ${sample.name} is ${sample.value}`);
    f.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The family a sample belongs to: a histogram's _bucket/_sum/_count and a summary's _sum/_count are its own. */
function ownerOf(name: string, families: Map<string, Family>, current: Family | null): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = families.get(name.slice(0, -suffix.length));
    if (base === undefined || !(base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) continue;
    if (base !== current) throw new Error(`the lines of ${base.name} are not one group`);
    return base.name;
  }
  if (families.get(name)?.type === 'histogram') throw new Error(`histogram ${name} has a sample without a suffix`);
  return name;
}

function parseSample(line: string, lineNo: number): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (m === null) throw new Error(`line ${lineNo}: bad metric name in '${line}'`);
  const name = m[1]!;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
      if (lm === null) throw new Error(`line ${lineNo}: bad label at column ${i + 1} of '${line}'`);
      const labelName = lm[1]!;
      if (!LABEL_NAME.test(labelName) || labelName.startsWith('__')) throw new Error(`line ${lineNo}: bad label name '${labelName}'`);
      if (labelName in labels) throw new Error(`line ${lineNo}: label ${labelName} twice`);
      i += lm[0].length;
      let raw = '';
      for (;;) {
        const ch = line[i];
        if (ch === undefined) throw new Error(`line ${lineNo}: unterminated label value`);
        if (ch === '"') break;
        if (ch === '\\') {
          raw += ch + (line[i + 1] ?? '');
          i += 2;
        } else {
          raw += ch;
          i++;
        }
      }
      i++;
      labels[labelName] = unescape(raw, true, lineNo);
      while (line[i] === ' ') i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`line ${lineNo}: expected , or } at column ${i + 1} of '${line}'`);
    }
  }
  const rest = line.slice(i);
  const vm = /^ +(\S+)(?: +(-?\d+))?$/.exec(rest);
  if (vm === null) throw new Error(`line ${lineNo}: bad value part '${rest}'`);
  return { name, labels, value: parseValue(vm[1]!, lineNo) };
}

/** A value as Go's strconv.ParseFloat reads it (what Prometheus uses): NaN and Inf in any case, so prom-client's `Nan` too. */
function parseValue(text: string, lineNo: number): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special !== null) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${lineNo}: bad value '${text}'`);
  return Number(text);
}

function unescape(raw: string, quotes: boolean, lineNo: number): string {
  return raw.replace(/\\(.?)/g, (_, ch: string) => {
    if (ch === '\\') return '\\';
    if (ch === 'n') return '\n';
    if (ch === '"' && quotes) return '"';
    throw new Error(`line ${lineNo}: bad escape '\\${ch}'`);
  });
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let one = series.get(key);
    if (one === undefined) series.set(key, (one = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${s.name} without le`);
      one.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) one.count = s.value;
    else if (s.name === `${f.name}_sum`) one.sum = s.value;
    else throw new Error(`histogram ${f.name} has a sample ${s.name}`);
  }
  for (const [key, one] of series) {
    const bounds = one.buckets.map(([le]) => le);
    if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) throw new Error(`${f.name}${key}: buckets not in increasing order`);
    if (one.buckets.some(([, n], i) => i > 0 && n < one.buckets[i - 1]![1])) throw new Error(`${f.name}${key}: buckets not cumulative`);
    const inf = one.buckets.at(-1);
    if (inf === undefined || inf[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (one.count === undefined || one.sum === undefined) throw new Error(`${f.name}${key}: no _count or _sum`);
    if (inf[1] !== one.count) throw new Error(`${f.name}${key}: +Inf bucket ${inf[1]} is not _count ${one.count}`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
