// Headless Chromium as the reader of the status page: the DOM it built and a screenshot. Each call
// uses a new empty profile and no network besides the URL given. (Chromium's switch that turns
// JavaScript off also stops --dump-dom and --screenshot; the page has no script and its CSP forbids
// any, so what it renders is what a reader without JavaScript sees.)
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Headless, no sandbox (root in CI), and nothing fetched but the page: no updates, sync or QUIC. */
export const CHROMIUM_QUIET_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function chromium(args: string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'tm-chromium-'));
  try {
    const { stdout } = await execFileP(
      CHROMIUM,
      [...CHROMIUM_QUIET_FLAGS, '--hide-scrollbars', `--user-data-dir=${profile}`, ...args],
      { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    // Chromium's helper processes outlive a SIGKILLed browser for a moment and still write here.
    await rm(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

/** The serialised DOM after load (`--dump-dom`); `extra`: more switches (host rules, a time budget). */
export function dumpDom(url: string, extra: string[] = []): Promise<string> {
  return chromium([...extra, '--dump-dom', url]);
}

export async function screenshot(url: string, file: string, size = '1280,2000'): Promise<void> {
  await chromium([`--screenshot=${file}`, `--window-size=${size}`, url]);
}

/** What a person reads: the DOM without tags, styles and scripts, whitespace collapsed. */
export function visibleText(dom: string): string {
  return dom
    .replace(/<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<script[\s\S]*?<\/script>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}
