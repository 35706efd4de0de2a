// One attempt at an artifact/tag (a sync or a check of the store): the result record, the status
// times, and a failure recorded with its code instead of thrown, so one tag never stops the others.
import { describeError } from '@trivy-mirror/plugin-api';
import type { ArtifactTagResult } from '../sync/artifact-sync-types.js';
import type { SyncState } from '../sync/sync-state.js';
import type { ArtifactTagStatus } from '../sync/sync-state.js';

export async function tagAttempt(
  deps: { state: SyncState; now: () => Date },
  target: { name: string; tag: string; layoutPath: string },
  body: (result: ArtifactTagResult, status: ArtifactTagStatus) => Promise<void>,
): Promise<ArtifactTagResult> {
  const started = Date.now();
  const status = deps.state.get(target.name, target.tag);
  const result: ArtifactTagResult = {
    artifact: target.name,
    tag: target.tag,
    ok: false,
    changed: false,
    layoutPath: target.layoutPath,
    bytesDownloaded: 0,
    bytesPushed: 0,
    destinations: [],
    durationMs: 0,
  };
  status.lastAttempt = deps.now().toISOString();
  try {
    await body(result, status);
    result.ok = true;
    status.lastSuccess = deps.now().toISOString();
  } catch (err) {
    result.error = err;
    status.lastError = {
      code: (err as { code?: string }).code,
      message: describeError(err),
      at: deps.now().toISOString(),
    };
  } finally {
    result.durationMs = Date.now() - started;
    status.durationMs = result.durationMs;
    status.bytes = result.bytesDownloaded + result.bytesPushed;
  }
  return result;
}
