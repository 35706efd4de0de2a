// Hostile HTTP answers from the upstream registry and the VEX server: broken or dangerous
// WWW-Authenticate challenges, absurd Retry-After values (10^9 seconds, a date centuries away) that
// must be capped rather than obeyed, and redirect loops. Each run fails fast with a clear error and
// changes nothing; the daemon stays healthy and recovers once the upstream behaves.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Fault } from '@trivy-mirror/fixtures';
import { expectNoViolations } from './lib/hostile-case.js';
import { SuiteReport } from './lib/report.js';
import { World } from './lib/world.js';

interface Case {
  name: string;
  target: 'up' | 'vex';
  fault: Fault;
  expect: RegExp;
  /** The run must end within this long (no obeying absurd waits, no endless loops). */
  maxMs: number;
}

const challenge = (value: string): Fault => ({
  kind: 'status',
  status: 401,
  headers: { 'www-authenticate': value, 'content-type': 'application/json' },
  body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
});
const tooMany = (retryAfter: string): Fault => ({
  kind: 'status',
  status: 429,
  headers: { 'retry-after': retryAfter, 'content-type': 'application/json' },
  body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limited"}]}',
});

const CASES: Case[] = [
  {
    name: 'a token realm on a plain-http foreign host (credential theft)',
    target: 'up',
    fault: challenge('Bearer realm="http://169.254.169.254/latest/meta-data",service="x",scope="y"'),
    expect: /refus|insecure|plain http|401|unauthori/i,
    maxMs: 20_000,
  },
  {
    name: 'a file:// token realm',
    target: 'up',
    fault: challenge('Bearer realm="file:///etc/passwd",service="x"'),
    expect: /scheme|refus|realm|401|unauthori/i,
    maxMs: 20_000,
  },
  {
    name: 'a challenge that does not parse',
    target: 'up',
    fault: challenge('Bearer realm="unterminated, service=, ,,, ="'),
    expect: /401|unauthori|challenge|realm/i,
    maxMs: 20_000,
  },
  {
    name: 'a 401 without any challenge',
    target: 'up',
    fault: { kind: 'status', status: 401, body: 'no' },
    expect: /refused access: no usable WWW-Authenticate challenge/,
    maxMs: 20_000,
  },
  {
    name: 'an unknown auth scheme',
    target: 'up',
    fault: challenge('Negotiate abcdef'),
    expect: /401|unauthori|scheme|Negotiate/i,
    maxMs: 20_000,
  },
  {
    name: 'a redirect loop on the registry',
    target: 'up',
    fault: { kind: 'redirect-loop', status: 307 },
    expect: /redirect|307/i,
    maxMs: 20_000,
  },
  {
    name: 'a redirect loop on the VEX server',
    target: 'vex',
    fault: { kind: 'redirect-loop', status: 302 },
    expect: /redirect/i,
    maxMs: 20_000,
  },
  {
    name: 'a VEX server asking to retry in 10^9 seconds',
    target: 'vex',
    fault: tooMany('1000000000'),
    expect: /429|rate|retry/i,
    maxMs: 20_000,
  },
  // last: a rate-limited registry puts the source on a (capped) cool-down
  {
    name: 'a registry asking to retry in 10^9 seconds',
    target: 'up',
    fault: tooMany('1000000000'),
    expect: /429|TOOMANYREQUESTS|rate|retry/i,
    maxMs: 20_000,
  },
  {
    name: 'a registry asking to retry in the year 2999',
    target: 'up',
    fault: tooMany('Wed, 01 Jan 2999 00:00:00 GMT'),
    expect: /429|TOOMANYREQUESTS|rate|retry|wait/i,
    maxMs: 20_000,
  },
];

/** Every ISO date found under `sourcesCoolingDown` anywhere in /status. */
function coolDowns(status: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'sourcesCoolingDown' && x && typeof x === 'object') out.push(...Object.values(x).map(String));
      else walk(x);
    }
  };
  walk(status);
  return out;
}

describe('reliability: hostile HTTP answers fail fast, are capped and change nothing', {
  timeout: 240_000,
}, () => {
  const report = new SuiteReport('hostile-http');
  const world = new World({ dbBytes: 32 * 1024 });

  const snapshot = async () => ({
    index: await readFile(join(world.stateDir, 'oci', 'trivy-db', 'index.json'), 'utf8'),
    blobs: (await readdir(join(world.stateDir, 'oci', 'trivy-db', 'blobs', 'sha256'))).sort().join(','),
    vex: await readFile(
      join(world.stateDir, 'plugins', 'vexhub-mirror', 'repositories', 'vexhub', 'current.json'),
      'utf8',
    ),
  });

  before(async () => {
    await world.warmUp({ publishVex: true });
  });

  after(async () => {
    report.print();
    await world.stop();
  });

  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      // something new upstream, so the run has work to do
      if (c.target === 'up') await world.publish(['trivy-db']);
      else await world.publishVex(10 + i);
      const before = await snapshot();
      const logStart = world.requireDaemon().logs().length;
      const t0 = Date.now();
      const job = await world.runJobWithFaults(
        c.target === 'up' ? { up: () => c.fault } : { vex: () => c.fault },
        c.target === 'up' ? 'oci-sync' : 'vexhub-mirror',
        c.maxMs + 30_000,
      );
      const ms = Date.now() - t0;
      await world.idle();
      report.runs++;
      report.faults++;
      report.count(`ms ${c.name.slice(0, 40)}`, ms);
      assert.equal(job.status, 'failure', `${c.name} was accepted: ${job.summary}`);
      assert.match(job.summary ?? '', c.expect, `unclear error for ${c.name}: ${job.summary}`);
      assert.ok(ms <= c.maxMs, `${c.name}: the run took ${ms} ms (limit ${c.maxMs})`);
      assert.deepEqual(await snapshot(), before, `${c.name} changed the store or the VEX state`);
      if (c.fault.kind === 'status' && c.fault.status === 429 && c.target === 'up') {
        const status = await fetch(`${world.adminUrl}/status`).then((r) => r.json());
        for (const until of coolDowns(status)) {
          const wait = Date.parse(until) - Date.now();
          assert.ok(wait <= 61 * 60_000, `cool-down until ${until} is not capped (${wait} ms)`);
        }
      }
      await expectNoViolations(world, report, c.name, {
        logStart,
        registryStorage: [world.destination!.storageDir],
      });
    });
  }

  test('after a restart (cool-downs live in memory) the mirror catches up', async () => {
    await world.stopDaemon('SIGTERM');
    await world.startDaemon();
    const sync = await world.waitJobFinished('oci-sync', 60_000);
    const vex = await world.waitJobFinished('vexhub-mirror', 60_000);
    assert.notEqual(sync.status, 'failure', sync.summary);
    assert.notEqual(vex.status, 'failure', vex.summary);
    assert.ok(await world.converged());
    report.recoveries++;
  });
});
