// The serving listener: read-only methods, authenticators with a Basic challenge, routing, TLS.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { definePlugin, HttpRoute, MirrorError, ServeAuthenticator } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { createRuntime, readTlsFiles, type Runtime } from '../src/index.js';
import { asLoaded, captureLogger, http, tempDir, testConfig } from './helpers.js';

const routesPlugin = definePlugin({
  id: 'routes',
  description: 'serve routes',
  configSchema: z.strictObject({ auth: z.boolean().default(false) }),
  module: (config) =>
    new ContainerModule(({ bind }) => {
      bind<HttpRoute>(HttpRoute).toConstantValue({
        id: 'root',
        listener: 'serve',
        prefix: '/',
        handle: (_req, res) => {
          res.end('root');
          return true;
        },
      });
      bind<HttpRoute>(HttpRoute).toConstantValue({
        id: 'v2',
        listener: 'serve',
        prefix: '/v2/',
        handle: (_req, res, url) => {
          if (url.pathname === '/v2/fallthrough') return false;
          if (url.pathname === '/v2/boom') throw new Error('secret internal detail');
          if (url.pathname === '/v2/slow') {
            return new Promise<boolean>((resolve) =>
              setTimeout(() => {
                res.end('slow');
                resolve(true);
              }, 400),
            );
          }
          res.end('v2');
          return true;
        },
      });
      if (config.auth) {
        bind<ServeAuthenticator>(ServeAuthenticator).toConstantValue({
          id: 'token',
          authenticate: (req) =>
            req.headers.authorization === 'Bearer letmein'
              ? 'granted'
              : req.headers.authorization
                ? 'denied'
                : 'absent',
        });
      }
    }),
});
const plugins = [routesPlugin] as never[];

async function start(dir: string, extra: Record<string, unknown>): Promise<Runtime> {
  const config = testConfig(dir, { serve: { listen: '127.0.0.1:0' }, ...extra }, plugins);
  const runtime = createRuntime({
    config,
    plugins: asLoaded(config, plugins),
    logger: captureLogger().logger,
  });
  await runtime.start({ scheduler: false });
  return runtime;
}

describe('serve listener', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let open: Runtime;
  let locked: Runtime;
  before(async () => {
    ({ dir, cleanup } = await tempDir('rt-serve-'));
    open = await start(dir, {});
    locked = await start(dir, { plugins: { routes: { auth: true } } });
  });
  after(async () => {
    await open.stop();
    await locked.stop();
    await cleanup();
  });

  test('longest prefix wins; false falls through; GET and HEAD only (405 with Allow)', async () => {
    const base = open.serveUrl!;
    assert.equal((await http(`${base}/v2/x`)).text, 'v2');
    assert.equal((await http(`${base}/other`)).text, 'root');
    assert.equal((await http(`${base}/v2/fallthrough`)).text, 'root');
    const put = await http(`${base}/v2/x`, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD');
    assert.equal((await http(`${base}/v2/x`, { method: 'DELETE' })).status, 405);
  });

  test('a throwing route gives a JSON 500 without internals', async () => {
    const r = await http(`${open.serveUrl}/v2/boom`);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { error: 'internal error' });
    assert.doesNotMatch(r.text, /secret internal detail|at /);
  });

  test('with an authenticator: 401 with a Basic challenge and a distribution-style body, 200 when granted', async () => {
    const base = locked.serveUrl!;
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const r = await http(`${base}/v2/x`, { headers });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="trivy-mirror"');
      assert.deepEqual(r.json(), { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
    const ok = await http(`${base}/v2/x`, { headers: { authorization: 'Bearer letmein' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'v2');
  });

  test('stop() drains an in-flight request before closing', async () => {
    const runtime = await start(dir, {});
    const pending = http(`${runtime.serveUrl}/v2/slow`);
    await new Promise((r) => setTimeout(r, 50));
    const result = await runtime.stop('test');
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'slow');
    assert.equal(result.clean, true);
  });

  test('TLS: serves https with the configured files; missing files are named', async () => {
    const cert = fileURLToPath(new URL('./fixtures/test-only-tls.crt', import.meta.url));
    const key = fileURLToPath(new URL('./fixtures/test-only-tls.key', import.meta.url));
    const runtime = await start(dir, { serve: { listen: '127.0.0.1:0', tls: { cert, key } } });
    try {
      assert.match(runtime.serveUrl!, /^https:\/\//);
      const ca = await readFile(cert);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${runtime.serveUrl}/v2/x`, { ca }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'v2');
    } finally {
      await runtime.stop();
    }
    await assert.rejects(readTlsFiles({ cert: '/nonexistent/tls.crt', key }), (err: unknown) => {
      assert.ok(err instanceof MirrorError);
      assert.match(err.message, /serve\.tls\.cert: cannot read \/nonexistent\/tls\.crt/);
      return true;
    });
  });
});
