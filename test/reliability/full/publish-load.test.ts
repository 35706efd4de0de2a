// Full load on the published tree (npm run test:reliability): 64 clients pull through nginx while
// the daemon syncs and publishes 12 new versions (the CI file: 3). The databases stay at 1 MiB: the
// test process hashes every download of 64 clients, and larger layers make it CPU-bound on 2 cores.
// RELIABILITY_LOAD_CLIENTS / RELIABILITY_PUBLISH_VERSIONS override.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type PublishingMirror,
  pullWhilePublishing,
  startPublishingMirror,
} from '../../helpers/publishing-mirror.js';
import { envInt } from '../lib/params.js';

describe('reliability (full): pulls through nginx while versions are published', {
  timeout: 15 * 60_000,
}, () => {
  let m: PublishingMirror;
  before(async () => {
    m = await startPublishingMirror('publish-load');
  });
  after(() => m?.stop());

  test('no 404, no digest mismatch, no manifest without its blob', async (t) => {
    const clients = envInt('RELIABILITY_LOAD_CLIENTS', 64);
    const r = await pullWhilePublishing(m, { clients, rounds: envInt('RELIABILITY_PUBLISH_VERSIONS', 12) });
    t.diagnostic(r.line);
    assert.deepEqual(r.errors.slice(0, 5), [], `${r.errors.length} failed pulls`);
    assert.ok(r.pulls > clients, `only ${r.pulls} pulls`);
  });
});
