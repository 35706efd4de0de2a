// Turns the failures of a connection along a route into errors that say what to configure: a TLS
// failure names the host, the certificate's issuer and the settings that would trust it; a proxy
// failure names the proxy (never its password) and what it answered.
import { peerCertificate } from './connection-probe.js';
import { OciError, OciErrorCode } from '../errors.js';
import { describeRoute, type ProxyRoute, redactProxyUrl } from './proxy-config.js';
import { systemCaTrusted } from './tls-trust.js';
import type { HostOptions } from '../types.js';

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const cause = typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  return cause && TLS_CODES.has(cause) ? cause : (code ?? cause);
}

/** What to do about an untrusted certificate, in the user's terms. */
export function trustAdvice(host: string): string {
  const system = systemCaTrusted()
    ? 'add its CA to the system store (update-ca-certificates, or SSL_CERT_FILE/SSL_CERT_DIR)'
    : 'set tls.systemCa: true and add its CA to the system store';
  return `${system}, or set registries[].caFile for ${host}`;
}

/** An OciError that explains a TLS or proxy failure, or undefined for other errors. */
export async function explainConnectionError(
  err: unknown,
  url: URL,
  route: ProxyRoute,
  host: HostOptions | undefined,
): Promise<OciError | undefined> {
  const code = codeOf(err);
  const message = (err as Error | undefined)?.message ?? '';
  const via = route.proxy ? ` via proxy ${redactProxyUrl(route.proxy)}` : '';
  if (code && TLS_CODES.has(code)) {
    const peer = url.protocol === 'https:' ? await peerCertificate(url, route, host, 3000) : undefined;
    const who = peer ? `certificate for ${peer.subject} issued by ${peer.issuer}` : 'certificate';
    const what =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `the ${who} does not name ${url.hostname}`
        : code === 'CERT_HAS_EXPIRED'
          ? `the ${who} has expired (${peer?.validTo ?? 'date unknown'})`
          : `the ${who} is not trusted (${code}); ${trustAdvice(url.host)}`;
    return new OciError(OciErrorCode.TLS, `TLS to ${url.host}${via} failed: ${what}`, {
      target: url.host,
      cause: err,
    });
  }
  if (!route.proxy) return undefined;
  const status = message.match(/Proxy response \((\d+)\)|\((407)\)/);
  if (status) {
    const n = Number(status[1] ?? status[2]);
    const why =
      n === 407
        ? route.proxy.username
          ? 'the proxy refused the credentials in its URL (407)'
          : 'the proxy wants credentials (407): put them in the proxy URL, http://USER:PASSWORD@HOST:PORT'
        : `the proxy answered ${n} instead of opening a tunnel (it cannot reach ${url.host}, or its rules refuse it)`;
    return new OciError(
      OciErrorCode.PROXY,
      `request to ${url.host} via proxy ${redactProxyUrl(route.proxy)} failed: ${why}`,
      {
        status: n,
        target: url.host,
        cause: err,
      },
    );
  }
  if (code && /^E[A-Z]+$/.test(code)) {
    // with a proxy every connection goes to the proxy: a refused or unresolvable one is the proxy's
    return new OciError(
      OciErrorCode.NETWORK,
      `request to ${url.host} via proxy ${describeRoute(route)} failed: cannot connect to the proxy (${code})`,
      { target: url.host, cause: err },
    );
  }
  return undefined;
}
