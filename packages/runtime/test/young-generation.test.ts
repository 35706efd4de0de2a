// The young generation grows to its working size and no further, and hold() stops growth. Measured
// in a child process started with growth off (--semi-space-growth-factor=1), so it begins small.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const moduleUrl = new URL('../src/process/young-generation.ts', import.meta.url).href;

// a sliding window of objects survives a few scavenges: what makes V8 grow the young generation
const SCRIPT = `
import { setTimeout as sleep } from 'node:timers/promises';
const yg = await import(${JSON.stringify(moduleUrl)});
const window = new Array(60000);
let at = 0;
async function churn(rounds) {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 20000; i++) { window[at] = { i, s: 'x' + i, a: [i, i] }; at = (at + 1) % window.length; }
    await sleep(1);
  }
}
const start = yg.youngGenerationBytes();
yg.youngGenerationHold();
await churn(100);
const held = yg.youngGenerationBytes();
const cap = 4 * start;
yg.youngGenerationGrow(cap);
await churn(300);
const grown = yg.youngGenerationBytes();
await churn(200);
console.log(JSON.stringify({ start, held, cap, grown, after: yg.youngGenerationBytes() }));
`;

test('youngGenerationGrow lets the young generation grow to the cap, then holds it', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--semi-space-growth-factor=1', '--import', 'tsx', '--input-type=module', '-e', SCRIPT],
    { cwd: fileURLToPath(new URL('../../..', import.meta.url)), timeout: 60_000 },
  );
  const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
  assert.ok(r.held <= r.start, `grew while held: ${JSON.stringify(r)}`);
  assert.ok(r.grown > r.start, `did not grow: ${JSON.stringify(r)}`);
  // one doubling may land before the GC observer sees the cap reached
  assert.ok(r.grown <= 2 * r.cap, `not capped: ${JSON.stringify(r)}`);
  // Node 24's new_space size moves by a page (up to 1 MiB) between scavenges: growth past that is a leak
  assert.ok(r.after <= Math.max(r.grown, r.cap) + 1024 * 1024, `grew past the cap: ${JSON.stringify(r)}`);
});
