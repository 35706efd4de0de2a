// Headless Chromium that clicks: opens a page, clicks an element the way a person does (a mouse press
// and release at its centre, over the DevTools protocol: no script runs in the page), waits for the page
// the click leads to and returns its DOM and URL. For forms (the status page's buttons); --dump-dom
// cannot click.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, CHROMIUM_QUIET_FLAGS } from './chromium.js';

interface Cdp {
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  next(event: string, timeoutMs: number): Promise<Record<string, unknown>>;
  close(): void;
}

function devtoolsUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not open DevTools:\n${err}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`chromium exited ${code}:\n${err}`)));
  });
}

async function connect(wsUrl: string): Promise<Cdp> {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const waiters: { event: string; resolve: (p: Record<string, unknown>) => void }[] = [];
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: Record<string, unknown>;
    };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
      return;
    }
    const i = waiters.findIndex((w) => w.event === msg.method);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(msg.params ?? {});
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    next: (event, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          event,
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
        });
      }),
    close: () => ws.close(),
  };
}

/**
 * Opens `url`, clicks the element `selector` matches, returns the DOM and URL of the page it leads to
 * (and saves a screenshot of it as `options.screenshot`, a PNG file).
 */
export async function clickAndDump(
  url: string,
  selector: string,
  options: { screenshot?: string; timeoutMs?: number } = {},
): Promise<{ dom: string; url: string }> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const profile = await mkdtemp(join(tmpdir(), 'tm-chromium-'));
  const child = spawn(
    CHROMIUM,
    [...CHROMIUM_QUIET_FLAGS, '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let cdp: Cdp | undefined;
  try {
    const browser = new URL(await devtoolsUrl(child, timeoutMs));
    const targets = (await (await fetch(`http://${browser.host}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === 'page');
    if (!page) throw new Error('chromium has no page');
    cdp = await connect(page.webSocketDebuggerUrl);
    await cdp.send('Page.enable');
    const loaded = cdp.next('Page.loadEventFired', timeoutMs);
    await cdp.send('Page.navigate', { url });
    await loaded;
    const { root } = await cdp.send<{ root: { nodeId: number } }>('DOM.getDocument');
    const { nodeId } = await cdp.send<{ nodeId: number }>('DOM.querySelector', {
      nodeId: root.nodeId,
      selector,
    });
    if (!nodeId) throw new Error(`${url} has no ${selector}`);
    await cdp.send('DOM.scrollIntoViewIfNeeded', { nodeId });
    const { model } = await cdp.send<{ model: { content: number[] } }>('DOM.getBoxModel', { nodeId });
    const [x1, y1, , , x3, y3] = model.content as [number, number, number, number, number, number];
    const at = { x: (x1 + x3) / 2, y: (y1 + y3) / 2, button: 'left', clickCount: 1 };
    const next = cdp.next('Page.loadEventFired', timeoutMs);
    await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', ...at });
    await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', ...at });
    await next;
    const after = await cdp.send<{ root: { nodeId: number } }>('DOM.getDocument');
    const { outerHTML } = await cdp.send<{ outerHTML: string }>('DOM.getOuterHTML', {
      nodeId: after.root.nodeId,
    });
    if (options.screenshot) {
      await cdp.send('Emulation.setDeviceMetricsOverride', {
        width: 1280,
        height: 2000,
        deviceScaleFactor: 1,
        mobile: false,
      });
      const { data } = await cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
      await writeFile(options.screenshot, Buffer.from(data, 'base64'));
    }
    const history = await cdp.send<{ currentIndex: number; entries: { url: string }[] }>(
      'Page.getNavigationHistory',
    );
    return { dom: outerHTML, url: history.entries[history.currentIndex]!.url };
  } finally {
    cdp?.close();
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
    // Chromium's helper processes outlive a SIGKILLed browser for a moment and still write here.
    await rm(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}
