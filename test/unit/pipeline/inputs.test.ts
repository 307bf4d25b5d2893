import { describe, expect, it } from 'vitest';
import { leavesLastLine, resumePlan } from '../../../src/pipeline/file-input.js';
import { SourceCursors } from '../../../src/pipeline/source-cursors.js';

const FILE = { label: 'in.txt', kind: 'file', resumable: true, size: 100, compressed: false, identity: '1:2' } as const;
const JOB = 'default';
const committed = (offset: number, identity: string | null = '1:2') => ({ offset, lines: 1, maxEventTime: null, identity });

describe('resumePlan: where a rerun reads a source from, and what it says', () => {
  it('reads a new source from its start, silently', () => {
    expect(resumePlan(FILE, undefined, JOB)).toEqual({ readFrom: 0, notes: [] });
  });

  it('resumes after what was committed', () => {
    expect(resumePlan(FILE, committed(40), JOB)).toEqual({
      readFrom: 40,
      notes: ['in.txt: resuming after 40 bytes already committed'],
    });
  });

  it('reads nothing of a file consumed to its end, and says how to count it again', () => {
    expect(resumePlan(FILE, committed(100), JOB)).toEqual({
      readFrom: null,
      notes: [
        "in.txt was already consumed by job 'default' (100 bytes); nothing new to count (use another --source or --job to count it again)",
      ],
    });
    expect(resumePlan({ ...FILE, compressed: true }, committed(100), JOB).notes[0]).toContain('(100 bytes of text)');
  });

  it('counts a file shorter than its committed offset from the start', () => {
    expect(resumePlan(FILE, committed(140), JOB)).toEqual({
      readFrom: 0,
      notes: ['in.txt is shorter (100 bytes) than the 140 bytes already consumed; it was truncated or rewritten, counting it from the start'],
    });
  });

  it('reads a followed file replaced since the last run from its start', () => {
    const followed = { ...FILE, size: null };
    expect(resumePlan(followed, committed(40, '9:9'), JOB)).toEqual({
      readFrom: 0,
      notes: ['in.txt was replaced since the last run; reading the new file from its start'],
    });
    expect(resumePlan(followed, committed(40), JOB)).toEqual({
      readFrom: 40,
      notes: ['in.txt: resuming after 40 bytes already committed'],
    });
  });

  it('never skips bytes of a source that is not replayable', () => {
    const fifo = { ...FILE, resumable: false, size: null };
    expect(resumePlan(fifo, committed(40), JOB)).toEqual({ readFrom: 0, notes: [] });
  });

  it('says nothing up front of a gzip file it resumes: that shows only once the text is skipped', () => {
    const gz = { ...FILE, size: null, compressed: true };
    expect(resumePlan(gz, committed(40), JOB)).toEqual({ readFrom: 40, notes: [] });
  });
});

describe('leavesLastLine: the unterminated last line', () => {
  it('is left to the next run of a replayable source with durable state, or after a stop; else it counts', () => {
    expect(leavesLastLine(true, true, false)).toBe(true);
    expect(leavesLastLine(true, false, true)).toBe(true);
    expect(leavesLastLine(true, false, false)).toBe(false);
    expect(leavesLastLine(false, true, true)).toBe(false);
  });
});

describe('SourceCursors', () => {
  it('covers what each source moved since the last commit, and moves on only once the commit is done', () => {
    const cursors = new SourceCursors();
    const file = cursors.add('file:a', {
      kind: 'file',
      label: 'a',
      identity: '1:2',
      network: null,
      fromOffset: 10,
      toOffset: 10,
      lines: 0,
      maxEventTime: null,
    });
    const net = cursors.add('listen:x', {
      kind: 'tcp-listen',
      label: '--listen x',
      identity: null,
      network: { clients: 2, refused: 1 },
      fromOffset: 0,
      toOffset: 0,
      lines: 0,
      maxEventTime: null,
    });
    // Nothing read: only the network source goes along, for its client counts.
    expect(cursors.batch().sources.map((s) => s.source)).toEqual(['listen:x']);
    file.toOffset = 30;
    file.lines = 2;
    net.toOffset = 5;
    const batch = cursors.batch();
    expect(batch.sources).toEqual([
      { source: 'file:a', kind: 'file', fromOffset: 10, toOffset: 30, lines: 2, maxEventTime: null, identity: '1:2', clients: 0, refused: 0 },
      { source: 'listen:x', kind: 'tcp-listen', fromOffset: 0, toOffset: 5, lines: 0, maxEventTime: null, identity: null, clients: 2, refused: 1 },
    ]);
    // Read on while the commit is in flight: the next batch covers only that.
    file.toOffset = 45;
    file.lines = 3;
    batch.done();
    expect([file.fromOffset, file.lines, net.fromOffset]).toEqual([30, 1, 5]);
  });
});
