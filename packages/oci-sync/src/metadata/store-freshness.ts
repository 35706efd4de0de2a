// How fresh a stored version is, in the words /status prints: "imported 2026-… from DIR, 3 days
// old, next expected …". Stale once NextUpdate (trivy-checks, which has none: the import, or the
// last successful sync) lies more than `staleAfterHours` in the past. Pure function of the status.
import { metadataPending } from './record-stored.js';
import type { ArtifactTagStatus } from '../sync/sync-state.js';

export interface Freshness {
  stale: boolean;
  /** Seconds since UpdatedAt (metadata.json; undefined for trivy-checks). */
  ageSeconds?: number;
  /** NextUpdate: when upstream publishes the next version, so a newer import is due. */
  nextExpected?: string;
  /** One line for people, e.g. "imported 2026-12-02T10:00:00Z from /media/usb/x, 3 days old, …". */
  text: string;
}

const parse = (iso: string | undefined) => {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/** "3 days", "5 hours", "12 minutes", "40 seconds". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const unit = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (s >= 2 * 86_400) return unit(Math.floor(s / 86_400), 'day');
  if (s >= 2 * 3600) return unit(Math.floor(s / 3600), 'hour');
  if (s >= 2 * 60) return unit(Math.floor(s / 60), 'minute');
  return unit(s, 'second');
}

export function freshnessOf(status: ArtifactTagStatus, now: Date, staleAfterHours: number): Freshness {
  const at = now.getTime();
  // content age: UpdatedAt (trivy-checks has none: its import or sync time is what is known)
  const born = parse(status.updatedAt);
  const next = parse(status.nextUpdate);
  // without NextUpdate: stale when not confirmed for long (imported, else last synced)
  const due = next ?? parse(status.importedAt ?? status.lastSuccess ?? status.lastChange);
  const stale = due !== undefined && at - due > staleAfterHours * 3_600_000;
  const parts: string[] = [];
  if (status.importedAt) {
    parts.push(`imported ${status.importedAt}${status.importedFrom ? ` from ${status.importedFrom}` : ''}`);
  } else if (status.lastSuccess) {
    parts.push(`synced ${status.lastSuccess}${status.source ? ` from ${status.source}` : ''}`);
  } else {
    parts.push(status.manifestDigest ? 'stored' : 'not stored');
  }
  if (born !== undefined) parts.push(`${humanDuration(at - born)} old`);
  else if (metadataPending(status)) parts.push('age not known yet (metadata.json is read after the sync)');
  if (next !== undefined) parts.push(`next expected ${status.nextUpdate}`);
  let text = parts.join(', ');
  if (stale && due !== undefined) {
    const what = next !== undefined ? 'NextUpdate' : status.importedAt ? 'the import' : 'the last sync';
    const fix = status.importedAt ? 'import a newer export' : 'check the sync';
    text += `; STALE: ${what} was ${humanDuration(at - due)} ago (staleAfterHours ${staleAfterHours}), ${fix}`;
  }
  return {
    stale,
    ageSeconds: born === undefined ? undefined : Math.round((at - born) / 1000),
    nextExpected: status.nextUpdate,
    text,
  };
}
