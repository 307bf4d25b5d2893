import type { StreamConfig } from '../config.js';
import { describeSpec } from '../records/specs.js';
import type { JobDefinition } from '../state/port.js';
import { formatDuration } from '../windows/duration.js';

/** The options that shape a job's results; pinned in the database on first run. */
export function jobDefinition(config: StreamConfig): JobDefinition {
  return {
    reduction: config.reduction,
    window: formatDuration(config.windowMs),
    key: describeSpec(config.key),
    delimiter: config.key.kind === 'word' || config.key.kind === 'line' ? 'none' : (config.delimiter ?? 'whitespace'),
    'ignore-case': String(config.ignoreCase),
    value: config.value === null ? 'none' : describeSpec(config.value),
    time: config.time === null ? 'processing' : describeSpec(config.time),
    'time-format': config.time === null ? 'none' : config.timeFormat,
    lateness: config.time === null ? 'none' : formatDuration(config.latenessMs),
    dedupe: config.dedupe === null ? 'none' : describeSpec(config.dedupe),
    // Only quantile jobs have it: the definitions pinned by other jobs stay as they were.
    ...(config.quantiles === null ? {} : { q: config.quantiles.join(',') }),
  };
}
