/**
 * Floods of host tasks on one lock, at ten times a bound: ten times what a count field of
 * the lock word can hold, of concurrent pm.lock().with() calls; and ten times the old
 * writer field's capacity of concurrent registrations, which all take BackgroundWorkerLock
 * exclusively. Every call must settle, and the lock word must end idle.
 */
import t from 'tap';
import { within } from '../helpers/deadline.js';
import { BGWORKER_SHMEM_ACCESS, BGW_NEVER_RESTART, type LWLockMode } from '../../dist/lib/index.js';
import { LW_SHARED_MASK, LW_VAL_EXCLUSIVE, LW_WRITER_ONE, LW_WRITERS_MASK } from '../../dist/lib/shm/lwlock.js';
import { fixture, makeHost } from '../helpers/host.js';
import { hex, lockWords } from '../helpers/lock-words.js';

const S = BGWORKER_SHMEM_ACCESS;
const COUNTER = 1; // lock number of 'counter', the first named lock
/** The capacity of a 15-bit count field of the lock word (shared holders, queued writers). */
const FIELD_CAPACITY = (1 << 15) - 1;

/** What one host task sees in the word while it holds the lock: the host is counted at most once in every field. */
function wordAsHeld(mode: LWLockMode, s: number): boolean {
  const oneWriterAtMost = (s & LW_WRITERS_MASK) <= LW_WRITER_ONE;
  if (mode === 'exclusive') return (s & LW_VAL_EXCLUSIVE) !== 0 && (s & LW_SHARED_MASK) === 0 && oneWriterAtMost;
  return (s & LW_VAL_EXCLUSIVE) === 0 && (s & LW_SHARED_MASK) === 1 && oneWriterAtMost;
}

t.test("10x a count field's capacity of concurrent host with() calls on one lock: every one gets it, the host counted once per field", async (t) => {
  const pm = makeHost(t, { locks: ['counter'] });
  await pm.start();
  const word = lockWords(pm, COUNTER);
  const lock = pm.lock('counter');
  const n = 10 * FIELD_CAPACITY;
  let ran = 0;
  let wrong = 0;
  let readersInside = 0;
  let mostReaders = 0;
  let writersInside = 0;
  const calls: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    // One in five exclusive: n / 5 writers is still six times what a field can count.
    const mode: LWLockMode = i % 5 === 0 ? 'exclusive' : 'shared';
    calls.push(
      lock.with(mode, async () => {
        ran++;
        if (!wordAsHeld(mode, word.state())) wrong++;
        if (mode === 'shared') mostReaders = Math.max(mostReaders, ++readersInside);
        else if (++writersInside !== 1 || readersInside !== 0) wrong++;
        await null;
        if (mode === 'shared') readersInside--;
        else writersInside--;
      }),
    );
  }
  await within(Promise.all(calls), `${n} concurrent host with() calls`, 100_000);
  t.equal(ran, n, 'every call ran its function');
  t.equal(wrong, 0, 'the word always showed the host once, with at most one host writer queued; a writer was alone');
  t.ok(mostReaders > 1, `host readers shared the lock (${mostReaders} at once)`);
  t.equal(hex(word.state()), hex(0), 'the lock word is idle');
  t.equal(word.sleepers(), 0, 'nobody sleeps');
});

t.test('10,240 concurrent registrations from the host on a host with 2 slots all settle, and BackgroundWorkerLock ends idle', async (t) => {
  const pm = makeHost(t, { maxWorkerProcesses: 2 });
  await pm.start();
  const n = 10 * 1024;
  const worker = { module: fixture('wait-for-terminate'), flags: S, restartTime: BGW_NEVER_RESTART };
  const calls = Array.from({ length: n }, (_, i) => pm.registerDynamicBackgroundWorker({ ...worker, name: `r${i}` }));
  const handles = await within(Promise.all(calls), `${n} concurrent registrations`, 120_000);
  t.equal(handles.filter((h) => h !== null).length, 2, 'two got a slot');
  t.equal(handles.filter((h) => h === null).length, n - 2, 'the rest got null');
  const bgwLock = lockWords(pm, 0);
  t.equal(hex(bgwLock.state()), hex(0), 'BackgroundWorkerLock is idle');
  t.equal(bgwLock.sleepers(), 0, 'nobody sleeps on it');
});
