// Protocol edges that docker-registry does not produce, served by tiny local HTTP servers:
// oversized manifests, tag pagination, redirects to a storage host, Bearer token flows.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import {
  isOciError,
  MANIFEST_MAX_BYTES,
  MediaType,
  OciErrorCode,
  parseReference,
  RegistryClient,
  sha256Digest,
} from '@trivy-mirror/oci';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

describe('edge cases against tiny servers', () => {
  const client = new RegistryClient({ retry: { attempts: 2, baseDelayMs: 10 } });
  after(async () => {
    await client.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  test('a manifest over 4 MiB is refused (Content-Length and while reading)', async () => {
    const big = Buffer.alloc(MANIFEST_MAX_BYTES + 10, 0x20);
    const host = await serve((req, res) => {
      const chunked = req.url?.includes('chunked');
      res.writeHead(200, {
        'content-type': MediaType.OciManifest,
        ...(chunked ? {} : { 'content-length': String(big.length) }),
      });
      res.end(big);
    });
    for (const repo of ['big/sized', 'big/chunked']) {
      const err = await client.manifestGet(parseReference(`${host}/${repo}:1`)).catch((e: unknown) => e);
      assert.ok(isOciError(err, OciErrorCode.MANIFEST_TOO_LARGE), `${repo}: ${String(err)}`);
      assert.match(err.message, new RegExp(host.replace(/\./g, '\\.')));
    }
  });

  test('a manifest whose bytes do not match Docker-Content-Digest is refused', async () => {
    const host = await serve((_req, res) => {
      res.writeHead(200, {
        'content-type': MediaType.OciManifest,
        'docker-content-digest': `sha256:${'1'.repeat(64)}`,
      });
      res.end('{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:0","size":0},"layers":[]}');
    });
    const err = await client.manifestGet(parseReference(`${host}/a/b:1`)).catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.DIGEST_MISMATCH), String(err));
  });

  test('tag list pagination follows rel="next"', async () => {
    const host = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const last = url.searchParams.get('last');
      const page = last === null ? ['1', '2'] : last === '2' ? ['3', '4'] : ['5'];
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (last === null) headers.link = '</v2/p/q/tags/list?n=2&last=2>; rel="next"';
      if (last === '2') headers.link = `<http://${req.headers.host}/v2/p/q/tags/list?n=2&last=4>; rel="next"`;
      res.writeHead(200, headers);
      res.end(JSON.stringify({ name: 'p/q', tags: page }));
    });
    assert.deepEqual(await client.tagList(parseReference(`${host}/p/q`)), ['1', '2', '3', '4', '5']);
  });

  test('redirects to a storage host carry no Authorization; Bearer tokens are fetched and cached', async () => {
    const blob = Buffer.from('blob bytes that live on a storage host');
    const digest = sha256Digest(blob);
    const seen: { where: string; auth?: string; url?: string }[] = [];
    const storage = await serve((req, res) => {
      seen.push({ where: 'storage', auth: req.headers.authorization, url: req.url });
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    });
    let tokenRequests = 0;
    const registry = await serve((req, res) => {
      if (req.url?.startsWith('/token')) {
        tokenRequests++;
        const url = new URL(req.url, 'http://x');
        seen.push({ where: 'token', auth: req.headers.authorization, url: url.search });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: 'tok-123', expires_in: 300 }));
        return;
      }
      seen.push({ where: 'registry', auth: req.headers.authorization, url: req.url });
      if (req.headers.authorization !== 'Bearer tok-123') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="edge",scope="repository:r/s:pull"`,
        });
        res.end();
        return;
      }
      // a different origin (localhost vs 127.0.0.1) plays the storage host
      res.writeHead(307, { location: `http://localhost:${storage.split(':')[1]}/bucket/${digest}?sig=abc` });
      res.end();
    });
    const authed = new RegistryClient({
      credentials: async () => ({ username: 'u', password: 'p', source: 'test resolver' }),
    });
    try {
      const ref = parseReference(`${registry}/r/s:1`);
      for (let i = 0; i < 2; i++) {
        const stream = await authed.blobGet(ref, { mediaType: 'x', digest, size: blob.length });
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        assert.deepEqual(Buffer.concat(chunks), blob);
      }
    } finally {
      await authed.close();
    }
    assert.equal(tokenRequests, 1, 'token cached for host+scope');
    const token = seen.find((s) => s.where === 'token')!;
    assert.equal(token.auth, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.match(token.url ?? '', /scope=repository%3Ar%2Fs%3Apull/);
    assert.match(token.url ?? '', /service=edge/);
    const toStorage = seen.filter((s) => s.where === 'storage');
    assert.equal(toStorage.length, 2);
    assert.ok(toStorage.every((s) => s.auth === undefined));
    assert.ok(seen.filter((s) => s.where === 'registry' && s.auth === 'Bearer tok-123').length >= 2);
  });

  test('identity tokens are exchanged with a POST refresh_token grant', async () => {
    let form = '';
    const registry = await serve((req, res) => {
      if (req.url?.startsWith('/token')) {
        let body = '';
        req.on('data', (d) => {
          body += d;
        });
        req.on('end', () => {
          form = `${req.method} ${body}`;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'acc', expires_in: 60 }));
        });
        return;
      }
      if (req.headers.authorization !== 'Bearer acc') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="svc"`,
        });
        res.end();
        return;
      }
      res.writeHead(200);
      res.end();
    });
    const c = new RegistryClient({
      credentials: async () => ({ identityToken: 'refresh-xyz', source: 'docker config' }),
    });
    try {
      await c.ping(registry);
    } finally {
      await c.close();
    }
    assert.match(form, /^POST /);
    const params = new URLSearchParams(form.slice(5));
    assert.equal(params.get('grant_type'), 'refresh_token');
    assert.equal(params.get('refresh_token'), 'refresh-xyz');
    assert.equal(params.get('service'), 'svc');
  });

  test('uploads follow a relative Location that already has a query', async () => {
    const blob = Buffer.from('uploaded bytes');
    const digest = sha256Digest(blob);
    const calls: string[] = [];
    let received = Buffer.alloc(0);
    const host = await serve((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        if (req.method === 'HEAD') {
          res.writeHead(404).end();
        } else if (req.method === 'POST') {
          res.writeHead(202, { location: '/upload/u1?_state=a%3Db' }).end();
        } else if (req.method === 'PUT') {
          received = Buffer.concat(chunks);
          res.writeHead(201, { 'docker-content-digest': digest }).end();
        } else res.writeHead(400).end();
      });
    });
    const c = new RegistryClient();
    try {
      await c.blobPut(parseReference(`${host}/up/load`), { mediaType: 'x', digest, size: blob.length }, () =>
        Readable.from([blob]),
      );
    } finally {
      await c.close();
    }
    assert.deepEqual(calls, [
      'POST /v2/up/load/blobs/uploads/',
      `PUT /upload/u1?_state=a%3Db&digest=${encodeURIComponent(digest)}`,
    ]);
    assert.deepEqual(received, blob);
  });

  test('plain http is refused for a non-loopback token realm', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.example.com/token"' });
      res.end();
    });
    const err = await client.ping(registry).catch((e: unknown) => e);
    assert.ok(isOciError(err, OciErrorCode.INSECURE_REFUSED), String(err));
  });
});
