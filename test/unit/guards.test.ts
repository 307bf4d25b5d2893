import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refuseOutputsOverInputs } from '../../src/cli/guards.js';
import { UsageError } from '../../src/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-guards-'));
  writeFileSync(join(dir, 'in.txt'), 'a b\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refusal(output: string, inputs: string[], db: string | null = null): string | null {
  try {
    refuseOutputsOverInputs([{ option: '-o', path: output }], inputs, db);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
}

describe('refuseOutputsOverInputs', () => {
  it('refuses an output that is an input, however it is spelled', () => {
    const input = join(dir, 'in.txt');
    mkdirSync(join(dir, 'sub'));
    symlinkSync(input, join(dir, 'link.txt'));
    linkSync(input, join(dir, 'hard.txt'));
    for (const output of [
      input,
      join(dir, 'sub', '..', 'in.txt'),
      relative(process.cwd(), input),
      join(dir, 'link.txt'),
      join(dir, 'hard.txt'),
    ]) {
      expect(refusal(output, [input]), output).toBe(`-o ${output} is one of the inputs; writing it would destroy it (give another file)`);
    }
    // The symlink named as the input, the file itself as the output.
    expect(refusal(input, [join(dir, 'link.txt')])).toMatch(/is one of the inputs/);
  });

  it('refuses the database, its -wal and -shm, existing or not yet', () => {
    const db = join(dir, 'state.db');
    expect(refusal(db, [], db)).toMatch(/is the database \(--db\)/);
    expect(refusal(join(dir, '.', 'state.db-wal'), [], db)).toMatch(/is the database's -wal file/);
    writeFileSync(db, '');
    writeFileSync(`${db}-shm`, '');
    symlinkSync(db, join(dir, 'db-link'));
    expect(refusal(join(dir, 'db-link'), [], db)).toMatch(/is the database \(--db\)/);
    expect(refusal(`${db}-shm`, [], db)).toMatch(/is the database's -shm file/);
  });

  it('lets other files, new files and devices through', () => {
    const input = join(dir, 'in.txt');
    expect(refusal(join(dir, 'out.txt'), [input], join(dir, 'state.db'))).toBeNull();
    writeFileSync(join(dir, 'other.txt'), 'a b\n');
    expect(refusal(join(dir, 'other.txt'), [input])).toBeNull();
    expect(refusal('/dev/null', ['/dev/null'])).toBeNull();
    expect(() => refuseOutputsOverInputs([{ option: '-o', path: null }], [input], null)).not.toThrow();
  });

  it('names the option that was given', () => {
    const input = join(dir, 'in.txt');
    expect(() =>
      refuseOutputsOverInputs(
        [
          { option: '-o', path: join(dir, 'out.txt') },
          { option: '--late-output', path: input },
        ],
        [input],
        null,
      ),
    ).toThrow(`--late-output ${input} is one of the inputs`);
  });
});
