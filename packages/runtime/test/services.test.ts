// Smaller services: temp sweep, credential store order, HTTP client auth and redirects, logger redaction,
// artifact store paths, listen addresses.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { CredentialProvider } from '@trivy-mirror/plugin-api';
import {
  createLogger,
  isLoopbackHost,
  LayoutArtifactStore,
  parseListen,
  ProviderCredentialStore,
  sweepTempFiles,
  systemdNotify,
  UndiciHttpClient,
} from '../src/index.js';
import { captureLogger, tempDir } from './helpers.js';

describe('sweepTempFiles', () => {
  test('removes .tmp-* files and dirs older than the cutoff, keeps the rest', async () => {
    const { dir, cleanup } = await tempDir('rt-sweep-');
    try {
      await mkdir(join(dir, 'oci', 'trivy-db', 'blobs', 'sha256'), { recursive: true });
      const old = join(dir, 'oci', 'trivy-db', 'blobs', 'sha256', '.tmp-abc');
      await writeFile(old, 'partial');
      await mkdir(join(dir, '.tmp-dir', 'x'), { recursive: true });
      const past = new Date(Date.now() - 60_000);
      await utimes(old, past, past);
      await utimes(join(dir, '.tmp-dir'), past, past);
      await writeFile(join(dir, 'oci', 'trivy-db', 'index.json'), '{}');
      const cutoff = new Date(Date.now() - 1000);
      await writeFile(join(dir, '.tmp-fresh'), 'in progress');
      const { removed } = await sweepTempFiles(dir, { olderThan: cutoff });
      assert.deepEqual(removed.sort(), [join(dir, '.tmp-dir'), old].sort());
      assert.deepEqual((await readdir(dir)).sort(), ['.tmp-fresh', 'oci']);
      assert.deepEqual(await readdir(join(dir, 'oci', 'trivy-db')), ['blobs', 'index.json']);
    } finally {
      await cleanup();
    }
  });
});

describe('ProviderCredentialStore', () => {
  test('asks providers by ascending order at call time; first defined answer wins; failures are skipped', async () => {
    const providers: CredentialProvider[] = [
      {
        id: 'late',
        order: 20,
        forRegistry: async () => ({ username: 'late', password: 'x', source: 'late' }),
      },
      {
        id: 'broken',
        order: 5,
        forRegistry: async () => {
          throw new Error('helper crashed');
        },
      },
      { id: 'none', order: 1, forRegistry: async () => undefined },
    ];
    const store = new ProviderCredentialStore(() => providers, captureLogger().logger);
    assert.equal((await store.forRegistry('ghcr.io'))?.source, 'late');
    providers.push({
      id: 'early',
      order: 10,
      forRegistry: async (h) => (h === 'ghcr.io' ? { registryToken: 't', source: 'early' } : undefined),
    });
    assert.equal((await store.forRegistry('ghcr.io'))?.source, 'early');
    assert.equal((await store.forRegistry('quay.io'))?.source, 'late');
    assert.equal(await store.forUrl('https://example.com/x'), undefined);
  });
});

describe('UndiciHttpClient', () => {
  let a: Server;
  let b: Server;
  let aUrl: string;
  let bUrl: string;
  const seen: { server: string; path: string; auth?: string }[] = [];
  const handler = (name: string) => (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    seen.push({ server: name, path: req.url ?? '', auth: req.headers.authorization });
    if (req.url === '/to-other') {
      res.writeHead(302, { location: `${bUrl}/landing` });
      res.end();
    } else if (req.url === '/to-same') {
      res.writeHead(301, { location: '/landing' });
      res.end();
    } else {
      res.end(`hello from ${name}`);
    }
  };
  before(async () => {
    a = createServer(handler('a')).listen(0, '127.0.0.1');
    b = createServer(handler('b')).listen(0, '127.0.0.2');
    await Promise.all([once(a, 'listening'), once(b, 'listening')]);
    aUrl = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
    bUrl = `http://127.0.0.2:${(b.address() as AddressInfo).port}`;
  });
  after(() => {
    a.close();
    b.close();
  });

  function client(cred: { token?: string; username?: string; password?: string }) {
    const providers: CredentialProvider[] = [
      {
        id: 'p',
        order: 1,
        forUrl: async (u) => (u.hostname === '127.0.0.1' ? { ...cred, source: 'test' } : undefined),
      },
    ];
    return new UndiciHttpClient({
      credentials: new ProviderCredentialStore(() => providers, captureLogger().logger),
      logger: captureLogger().logger,
    });
  }

  test('token -> Bearer, else Basic; credentials kept on same-host redirects, dropped on other hosts', async () => {
    const bearer = client({ token: 'tok' });
    seen.length = 0;
    const r1 = await bearer.request(`${aUrl}/to-same`);
    assert.equal(await r1.text(), 'hello from a');
    assert.equal(r1.url, `${aUrl}/landing`);
    assert.deepEqual(
      seen.map((s) => s.auth),
      ['Bearer tok', 'Bearer tok'],
    );
    seen.length = 0;
    const r2 = await bearer.request(`${aUrl}/to-other`);
    assert.equal(await r2.text(), 'hello from b');
    assert.deepEqual(
      seen.map((s) => [s.server, s.auth]),
      [
        ['a', 'Bearer tok'],
        ['b', undefined],
      ],
    );
    seen.length = 0;
    const basic = client({ username: 'u', password: 'p' });
    await (await basic.request(`${aUrl}/x`)).dump();
    assert.equal(seen[0].auth, `Basic ${Buffer.from('u:p').toString('base64')}`);
    seen.length = 0;
    await (await basic.request(`${aUrl}/x`, { anonymous: true, method: 'HEAD' })).dump();
    assert.equal(seen[0].auth, undefined);
    await bearer.close();
    await basic.close();
  });

  test('plain http is refused for non-loopback hosts', async () => {
    const c = client({});
    await assert.rejects(c.request('http://example.invalid/x'), /plain http to example\.invalid refused/);
    await c.close();
  });
});

describe('logger', () => {
  test('redacts secrets and logs errors as err', () => {
    const { logger, lines } = captureLogger();
    logger.info(
      {
        credential: { username: 'bot', password: 'hunter2', identityToken: 'idt' },
        headers: { authorization: 'Basic abc' },
        token: 't',
      },
      'creds',
    );
    logger.error({ err: new Error('bad thing') }, 'failed');
    const text = JSON.stringify(lines);
    for (const secret of ['hunter2', 'idt', 'Basic abc', '"t"']) assert.ok(!text.includes(secret), secret);
    assert.equal((lines[0].credential as { username: string }).username, 'bot');
    assert.equal((lines[1].err as { message: string }).message, 'bad thing');
    // a message that already quotes its cause is not repeated; a cause it lacks is appended once
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:1');
    logger.error({ err: new Error(`x failed: ${cause.message}`, { cause }) }, 'quoted');
    logger.error({ err: new Error('y failed', { cause }) }, 'not quoted');
    assert.equal((lines[2].err as { message: string }).message, 'x failed: connect ECONNREFUSED 127.0.0.1:1');
    assert.equal((lines[3].err as { message: string }).message, 'y failed: connect ECONNREFUSED 127.0.0.1:1');
  });
});

describe('pretty logger', () => {
  test('format pretty writes human-readable lines and still redacts', async () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger({ format: 'pretty', destination: stream });
    logger.info({ job: 'oci-sync', password: 'hunter2' }, 'job finished');
    await new Promise((r) => setTimeout(r, 50));
    const text = chunks.join('');
    assert.match(text, /INFO/);
    assert.match(text, /job finished/);
    assert.doesNotMatch(text, /hunter2/);
    assert.doesNotMatch(text, /^\{/);
  });
});

describe('addresses and store paths', () => {
  test('parseListen and isLoopbackHost', () => {
    assert.deepEqual(parseListen('127.0.0.1:9180'), { host: '127.0.0.1', port: 9180 });
    assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseListen(':8443'), { host: '0.0.0.0', port: 8443 });
    assert.throws(() => parseListen('localhost'), /needs a port/);
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]:5000', '127.0.0.1:5000', 'localhost:9'])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '10.0.0.1', 'example.com', 'registry:5000', '::'])
      assert.equal(isLoopbackHost(h), false, h);
  });

  test('LayoutArtifactStore: layoutPath under stateDir/oci, rejects traversal, lists layouts', async () => {
    const { dir, cleanup } = await tempDir('rt-store-');
    try {
      const store = new LayoutArtifactStore(dir, {} as never);
      assert.equal(store.layoutPath('trivy-db'), join(dir, 'oci', 'trivy-db'));
      assert.equal(store.layoutPath('aquasec/trivy-db'), join(dir, 'oci', 'aquasec', 'trivy-db'));
      assert.throws(() => store.layoutPath('../etc'), /not allowed/);
      assert.deepEqual(await store.repositories(), []);
      for (const r of ['trivy-db', 'aquasec/trivy-java-db']) {
        await mkdir(store.layoutPath(r), { recursive: true });
        await writeFile(join(store.layoutPath(r), 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      }
      await mkdir(join(dir, 'oci', 'empty'), { recursive: true });
      assert.deepEqual(await store.repositories(), ['aquasec/trivy-java-db', 'trivy-db']);
    } finally {
      await cleanup();
    }
  });
});

describe('systemdNotify', () => {
  test('runs systemd-notify from PATH when NOTIFY_SOCKET is set, and nothing otherwise', async () => {
    const { dir, cleanup } = await tempDir('rt-notify-');
    try {
      const out = join(dir, 'calls');
      await writeFile(join(dir, 'systemd-notify'), `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >> ${out}\n`);
      await chmod(join(dir, 'systemd-notify'), 0o755);
      const { logger } = captureLogger();
      await systemdNotify('READY=1', logger, { PATH: dir });
      await systemdNotify('READY=1', logger, { PATH: dir, NOTIFY_SOCKET: '/run/test.sock' });
      await systemdNotify('STOPPING=1', logger, { PATH: dir, NOTIFY_SOCKET: '/run/test.sock' });
      await systemdNotify('READY=1', logger, { PATH: join(dir, 'empty'), NOTIFY_SOCKET: '/run/test.sock' });
      assert.equal(await readFile(out, 'utf8'), '/run/test.sock --ready\n/run/test.sock STOPPING=1\n');
    } finally {
      await cleanup();
    }
  });
});
