// Which CAs outbound TLS trusts: Node's bundled roots, NODE_EXTRA_CA_CERTS and, unless `tls.systemCa` is
// false, the system store (on Linux OpenSSL's default file and dir, so SSL_CERT_FILE and SSL_CERT_DIR
// apply), the way Go-built tools trust it. A TLS-inspecting proxy's CA installed by the security team
// then works without a caFile per registry. Set once for the process (it is Node's default context),
// lazily: reading the system store costs tens of milliseconds a command that makes no request need not pay.
import * as tls from 'node:tls';

let systemCa = true;
let applied: boolean | undefined;

type CaSource = 'default' | 'system' | 'bundled' | 'extra';
const getCa = (tls as { getCACertificates?: (type?: CaSource) => string[] }).getCACertificates;
const setDefault = (tls as { setDefaultCACertificates?: (certs: string[]) => void }).setDefaultCACertificates;

/** `tls.systemCa` from the config (default true); takes effect for connections made after it. */
export function setSystemCaTrust(enabled: boolean): void {
  systemCa = enabled;
  if (applied !== undefined && applied !== enabled) apply();
}

export function systemCaTrusted(): boolean {
  return systemCa && getCa !== undefined;
}

function apply(): void {
  applied = systemCa;
  // Node before 22.19 has no programmatic default: there --use-system-ca is the way
  if (!getCa || !setDefault) return;
  const certs = new Set([...getCa('bundled'), ...getCa('extra')]);
  if (systemCa) for (const c of getCa('system')) certs.add(c);
  setDefault([...certs]);
}

/** Makes the process's default CA list match the setting; called before the first connection. */
export function ensureTrust(): void {
  if (applied !== systemCa) apply();
}

/** The CA list a connection trusts by default (for a caFile host: these plus the file). */
export function defaultCaCertificates(): string[] {
  ensureTrust();
  return getCa ? getCa('default') : [...tls.rootCertificates];
}

let contexts = new Map<string, tls.SecureContext>();

/** One secure context per extra CA file (parsing ~150 roots per connection would cost milliseconds each). */
export function secureContextWith(extraPem: string): tls.SecureContext {
  ensureTrust();
  const key = `${systemCa}\n${extraPem}`;
  let ctx = contexts.get(key);
  if (!ctx) {
    if (contexts.size > 64) contexts = new Map();
    ctx = tls.createSecureContext({ ca: [...defaultCaCertificates(), extraPem] });
    contexts.set(key, ctx);
  }
  return ctx;
}
