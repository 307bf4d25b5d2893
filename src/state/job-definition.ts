import { UsageError } from '../errors.js';
import type { JobDefinition } from './port.js';

/**
 * The rule of a job's pinned definition, for every backend: a run whose
 * definition differs from the pinned one is refused, naming each difference.
 */
export function refuseDifferentDefinition(job: string, where: string, pinned: JobDefinition, definition: JobDefinition): void {
  const differences: string[] = [];
  for (const name of new Set([...Object.keys(pinned), ...Object.keys(definition)])) {
    if (pinned[name] !== definition[name]) {
      differences.push(`${name} ${pinned[name] ?? '(unset)'} (this run: ${definition[name] ?? '(unset)'})`);
    }
  }
  if (differences.length > 0) {
    throw new UsageError(
      `job '${job}' in ${where} was defined with ${differences.join(', ')}; rerun with the same options or pick another --job`,
    );
  }
}
