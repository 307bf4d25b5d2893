import type { Source } from './source.js';

/**
 * Standard input. Without --source it is not replayable, so it gets a fresh id
 * per run; with --source the user declares it a replay of the same stream, and
 * a rerun skips the bytes already committed.
 */
export function stdinSource(sourceOverride: string | null, runId: string): Source {
  const stream = process.stdin;
  let stopped = false;
  return {
    id: sourceOverride ?? `stdin:${runId}`,
    label: 'stdin',
    kind: 'stdin',
    resumable: sourceOverride !== null,
    size: null,
    stop() {
      stopped = true;
      stream.destroy();
    },
    async *read(offset: number) {
      let toSkip = offset;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (stopped) return;
          if (toSkip > 0) {
            if (chunk.length <= toSkip) {
              toSkip -= chunk.length;
              continue;
            }
            yield chunk.subarray(toSkip);
            toSkip = 0;
            continue;
          }
          yield chunk;
        }
      } catch (err) {
        // Destroying stdin to stop reading surfaces as a premature close; that is the requested stop.
        if (!stopped) throw err;
      }
    },
  };
}
