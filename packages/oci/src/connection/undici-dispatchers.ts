// The undici dispatchers we use, without undici's index. That index also builds fetch, WebSocket,
// EventSource, the HTTP cache and the mock agent: ~1.2 MB of source and ~6 MB of resident memory in a
// daemon that uses none of them. The dispatchers come from their own files and get the request API
// the way the index gives it to them. If undici's file layout changes, the index is loaded instead
// (a unit test says which one is in use, so an upgrade that falls back does not go unnoticed).
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

interface Dispatchers {
  Pool: typeof Undici.Pool;
  Agent: typeof Undici.Agent;
  /** Forward proxies: CONNECT for https targets, absolute URIs for http ones. */
  ProxyAgent: typeof Undici.ProxyAgent;
  Client: typeof Undici.Client;
  /** True when the dispatchers were loaded without undici's index. */
  lean: boolean;
}

function load(): Dispatchers {
  try {
    const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
    const api = require('undici/lib/api/index.js') as Record<string, unknown>;
    const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
    const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
    const ProxyAgent = require('undici/lib/dispatcher/proxy-agent.js') as typeof Undici.ProxyAgent;
    const Client = require('undici/lib/dispatcher/client.js') as typeof Undici.Client;
    if (
      typeof api.request !== 'function' ||
      typeof Pool !== 'function' ||
      typeof Agent !== 'function' ||
      typeof ProxyAgent !== 'function' ||
      typeof Client !== 'function'
    )
      throw new Error('unexpected undici layout');
    if (!('request' in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);
    return { Pool, Agent, ProxyAgent, Client, lean: true };
  } catch {
    const undici = require('undici') as typeof Undici;
    return {
      Pool: undici.Pool,
      Agent: undici.Agent,
      ProxyAgent: undici.ProxyAgent,
      Client: undici.Client,
      lean: false,
    };
  }
}

const dispatchers = load();

export const Pool = dispatchers.Pool;
export type Pool = Undici.Pool;
export const Agent = dispatchers.Agent;
export type Agent = Undici.Agent;
export const ProxyAgent = dispatchers.ProxyAgent;
export type ProxyAgent = Undici.ProxyAgent;
export const Client = dispatchers.Client;
export type Client = Undici.Client;
export const undiciLean = dispatchers.lean;
