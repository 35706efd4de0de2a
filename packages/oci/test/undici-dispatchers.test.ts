// The lean undici load: the dispatchers come without undici's index (fetch, WebSocket, cache, mocks),
// and they still carry the request API. Fails when an undici upgrade makes us fall back to the index.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Agent, Pool, undiciLean } from '../src/connection/undici-dispatchers.js';

describe('undici dispatchers', () => {
  test('are loaded without undici index, and request() works on a Pool and an Agent', async () => {
    assert.equal(undiciLean, true, 'undici file layout changed: its whole index is loaded again');
    const server = createServer((req, res) => res.end(`${req.method} ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pool = new Pool(origin);
    const agent = new Agent();
    try {
      const a = await pool.request({ method: 'GET', path: '/v2/?x=1' });
      assert.equal(a.statusCode, 200);
      assert.equal(await a.body.text(), 'GET /v2/?x=1');
      const b = await agent.request({ origin, method: 'HEAD', path: '/y' });
      assert.equal(b.statusCode, 200);
      await b.body.dump();
    } finally {
      await Promise.all([pool.close(), agent.close()]);
      server.close();
    }
  });
});
