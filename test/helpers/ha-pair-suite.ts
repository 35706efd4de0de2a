// Two daemons with the same config (each its own state dir) feeding one destination registry at
// the same time, as an HA pair does: seeded rounds, each a new upstream version and both jobs
// triggered at once. After every round (and, by a poller, all the time) every tag in the
// destination names a manifest whose blobs are all there; blob HEADs and PUTs are logged by one
// fault proxy (no faults) per daemon, and no daemon pushes a blob whose HEAD came after the other
// daemon's push of it had finished. A third daemon on a used state dir exits 1 naming the lock file and the pid.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type FaultProxy,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { runJob } from './admin-api.js';
import { type DaemonProcess, freePort, runCli, startDaemon } from './daemon-process.js';
import { ARTIFACT_TAGS, seedVersion, writeMirrorConfig } from './mirror-config.js';
import { MANIFEST_ACCEPT, manifestHeadDigest, tempDir } from './oci-e2e.js';

/** Timer slack between the two proxies' clocks readings (one process, whole ms). */
const SLACK_MS = 10;

interface BlobPut {
  /** REPOSITORY@DIGEST: blobs belong to a repository, one push per repository is not a duplicate. */
  key: string;
  daemon: number;
  start: number;
  /** The proxy's request number: its log says when the registry's answer (the commit) came. */
  n: number;
  end?: number;
}

interface BlobHead {
  key: string;
  daemon: number;
  start: number;
}

export function defineHaPairSuite(options: {
  title: string;
  rounds: number;
  timeoutMs: number;
  dbBytes?: number;
}): void {
  describe(options.title, { timeout: options.timeoutMs }, () => {
    let upstream: RunningRegistry;
    let destination: RunningRegistry;
    // each daemon reaches the destination through its own counting proxy: requests are attributed
    const proxies: FaultProxy[] = [];
    let work: Awaited<ReturnType<typeof tempDir>>;
    const daemons: DaemonProcess[] = [];
    const configs: string[] = [];
    const ports: number[] = [];
    const puts: BlobPut[] = [];
    const heads: BlobHead[] = [];
    const seed = (name: string) => seedVersion(upstream.url, work.dir, name, options.dbBytes);

    function record(req: IncomingMessage, n: number, daemon: number): undefined {
      const url = req.url ?? '';
      const upload = /^\/v2\/(.+)\/blobs\/uploads\/.*[?&]digest=(sha256(?::|%3A)[a-f0-9]{64})/i.exec(url);
      if (req.method === 'PUT' && upload) {
        const put: BlobPut = {
          key: `${upload[1]}@${decodeURIComponent(upload[2])}`,
          daemon,
          start: Date.now(),
          n,
        };
        puts.push(put);
      }
      const head = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url);
      if (req.method === 'HEAD' && head)
        heads.push({ key: `${head[1]}@${head[2]}`, daemon, start: Date.now() });
      return undefined;
    }

    before(async () => {
      work = await tempDir('ha-pair');
      [upstream, destination] = await Promise.all([startRegistry(), startRegistry()]);
      for (const daemon of [0, 1]) {
        proxies.push(
          await startFaultProxy({ upstream: destination.url, fault: (req, n) => record(req, n, daemon) }),
        );
      }
      await seed('round-0');
      for (const name of ['a', 'b']) {
        const adminPort = await freePort();
        ports.push(adminPort);
        configs.push(
          await writeMirrorConfig(join(work.dir, `${name}.yaml`), {
            stateDir: join(work.dir, `state-${name}`),
            sources: [`${upstream.host}/aquasec`],
            destinations: [`${proxies[ports.length - 1].host}/mirror`],
            adminPort,
          }),
        );
      }
      // b's state dir holds a stale lock (a pid that is gone): b takes it over
      const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
      await writeFile(join(work.dir, 'state-b', 'trivy-mirror.lock'), `${JSON.stringify({ pid: dead })}\n`);
      // both at once, like two bastions booting together
      const started = await Promise.all(
        configs.map((config, i) =>
          startDaemon({ args: ['run', '--config', config], adminUrl: `http://127.0.0.1:${ports[i]}` }),
        ),
      );
      daemons.push(...started);
      await Promise.all(
        daemons.map((d) => d.waitForLog((l) => l.msg === 'job finished' && l.job === 'oci-sync', 90_000)),
      );
      assert.ok(
        daemons[1].logs().some((l) => l.msg === 'took over a stale state-dir lock' && l.stalePid === dead),
        'b took over the stale lock',
      );
    });

    after(async () => {
      await Promise.all(daemons.map((d) => d.stop()));
      await Promise.all(proxies.map((p) => p.stop()));
      await Promise.all([upstream?.stop(), destination?.stop()]);
      await work?.remove();
    });

    test('a second daemon on the same state dir exits 1 naming the lock file and the holder', async () => {
      const r = await runCli(['run', '--config', configs[0]], { timeoutMs: 30_000 });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /STATE_DIR_LOCKED/);
      assert.ok(out.includes(join(work.dir, 'state-a', 'trivy-mirror.lock')), out);
      assert.ok(out.includes(`pid ${daemons[0].child.pid}`), out);
    });

    test(`${options.rounds} rounds of new upstream versions synced by both daemons at once`, async (t) => {
      let stop = false;
      const violations: string[] = [];
      let checks = 0;
      const poller = (async () => {
        while (!stop) {
          violations.push(...(await danglingTags(destination.url)));
          checks++;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      let expected: Record<string, string> = {};
      try {
        for (let round = 1; round <= options.rounds; round++) {
          expected = (await seed(`round-${round}`)).digests;
          const runs = await Promise.all(daemons.map((d) => runJob(d, 'oci-sync', 90_000)));
          for (const run of runs) assert.notEqual(run.status, 'failure', `round ${round}: ${run.summary}`);
          violations.push(...(await danglingTags(destination.url)));
          for (const at of ARTIFACT_TAGS) {
            const [name, tag] = at.split(':');
            assert.equal(
              await manifestHeadDigest(`${destination.url}/v2/mirror/${name}/manifests/${tag}`),
              expected[at],
              `round ${round}: ${at}`,
            );
          }
        }
      } finally {
        stop = true;
        await poller;
      }
      // Late: a daemon's last blob HEAD before its PUT started after the registry had answered the
      // other daemon's push of that blob (committed it), i.e. it pushed a blob it could have seen.
      // Concurrent pushes are not late.
      for (const p of puts) p.end = proxies[p.daemon].log.find((e) => e.n === p.n)?.answeredAt;
      const late: string[] = [];
      const keys = new Set(puts.map((p) => p.key));
      for (const p of puts) {
        const otherEnd = Math.min(
          ...puts
            .filter((o) => o.key === p.key && o.daemon !== p.daemon)
            .map((o) => o.end ?? Number.POSITIVE_INFINITY),
        );
        const decided = Math.max(
          0,
          ...heads
            .filter((h) => h.key === p.key && h.daemon === p.daemon && h.start <= p.start)
            .map((h) => h.start),
        );
        if (decided > otherEnd + SLACK_MS)
          late.push(`${p.key}: HEAD ${decided - otherEnd} ms after the other's push`);
      }
      const duplicates = puts.length - keys.size;
      const retried = daemons
        .flatMap((d) => d.logs())
        .filter((l) => String(l.msg).startsWith('destination does not see a blob'));
      t.diagnostic(
        `ha-pair: race-retries=${retried.length} rounds=${options.rounds} blobs=${keys.size} puts=${puts.length} concurrent-duplicates=${duplicates} late-duplicates=${late.length} transient-5xx=${transient.count} tag-checks=${checks} violations=${violations.length}`,
      );
      if (late.length > 0) t.diagnostic(`late: ${late.slice(0, 5).join('; ')}`);
      assert.deepEqual(violations.slice(0, 5), [], `${violations.length} dangling tags`);
      assert.deepEqual(
        late.slice(0, 5),
        [],
        `${late.length} blobs pushed again after the other daemon had pushed them`,
      );
      for (const d of daemons) {
        const errors = d.logs().filter((l) => l.msg === 'push failed');
        assert.deepEqual(errors.slice(0, 3), [], 'no push failed');
      }
    });
  });
}

const transient = { count: 0 };

/** Tags whose manifest names a blob the registry does not have. */
async function danglingTags(baseUrl: string): Promise<string[]> {
  const out: string[] = [];
  for (const at of ARTIFACT_TAGS) {
    const [name, tag] = at.split(':');
    const res = await fetch(`${baseUrl}/v2/mirror/${name}/manifests/${tag}`, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    const body = await res.text();
    if (res.status === 404) continue; // not pushed yet
    if (res.status !== 200) {
      // distribution rewrites a tag's link file in place on every PUT: readers racing a PUT get a
      // 500 for a moment (Trivy moves on to its next repository on 5xx). Counted, not dangling.
      if (res.status >= 500) transient.count++;
      else out.push(`${at}: HTTP ${res.status} ${body.slice(0, 200)}`);
      continue;
    }
    const manifest = JSON.parse(body) as { config: { digest: string }; layers: { digest: string }[] };
    for (const blob of [manifest.config, ...manifest.layers]) {
      const head = await fetch(`${baseUrl}/v2/mirror/${name}/blobs/${blob.digest}`, { method: 'HEAD' });
      if (head.status !== 200) out.push(`${at} names ${blob.digest}: HTTP ${head.status}`);
    }
  }
  return out;
}
