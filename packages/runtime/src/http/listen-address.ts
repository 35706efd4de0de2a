// Parses `host:port` listen addresses and tells loopback hosts apart (admin warning, plain-http rule).
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

/** '127.0.0.1:9180', '[::1]:9180', 'localhost:0', ':8443' (all interfaces), '8443'. */
export function parseListen(value: string): ListenAddress {
  const text = value.trim();
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) {
    host = bracket[1];
    portText = bracket[2];
  } else if (/^\d+$/.test(text)) {
    host = '0.0.0.0';
    portText = text;
  } else {
    const i = text.lastIndexOf(':');
    if (i < 0) throw new Error(`listen address "${value}" needs a port (HOST:PORT)`);
    host = text.slice(0, i) || '0.0.0.0';
    portText = text.slice(i + 1);
    if (host.includes(':')) throw new Error(`listen address "${value}": write IPv6 hosts as [ADDR]:PORT`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`listen address "${value}": bad port`);
  return { host, port };
}

/** True for localhost, 127.0.0.0/8 and ::1 (with or without a port or brackets). */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  const bracket = /^\[([^\]]+)\](:\d+)?$/.exec(h);
  if (bracket) h = bracket[1];
  else if (isIP(h) === 0 && h.includes(':') && h.indexOf(':') === h.lastIndexOf(':')) h = h.split(':')[0];
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  return false;
}

/** 'http://127.0.0.1:9180' from a bound address (IPv6 in brackets). */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
