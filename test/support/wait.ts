/** Waiting in tests: on a condition (waitFor), on what a stream printed (textOf), or, where time passing is the point, for a while (sleep). */
import { StringDecoder } from 'node:string_decoder';

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** What a probe of waitFor answers: undefined, null or false for "not yet", anything else for "there it is". */
export type Probed<T> = T | undefined | null | false;

/**
 * Polls `probe` (sync or async) every `everyMs` until it answers something
 * other than undefined, null or false, and resolves with that; fails after
 * `timeoutMs` with an error that names `what` it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Probed<T> | Promise<Probed<T>>,
  timeoutMs = 10_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Everything `stream` gives from now on, as text so far (for waiting on a line of stderr or stdout). */
export function textOf(stream: NodeJS.ReadableStream): () => string {
  const decoder = new StringDecoder('utf8');
  let text = '';
  stream.on('data', (b: Buffer | string) => (text += typeof b === 'string' ? b : decoder.write(b)));
  return () => text;
}
