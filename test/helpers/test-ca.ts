// A private CA made for one test with Debian's openssl, and a server certificate it signed for
// 127.0.0.1 and localhost: what a bastion's TLS listener and its clients' --cacert look like.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  /** The CA certificate clients trust (`trivy --cacert`). */
  caCert: string;
  /** The server's certificate and key (serve.tls). */
  cert: string;
  key: string;
}

/** `names`: the server certificate's DNS names beside localhost (e.g. a test-only 'upstream.test'). */
export async function makeTestCa(dir: string, names: string[] = []): Promise<TestCa> {
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { timeout: 30_000 });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=trivy-mirror test CA',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    p('tls.key'),
    '-out',
    p('tls.csr'),
  );
  await writeFile(
    p('tls.ext'),
    `subjectAltName=IP:127.0.0.1,DNS:localhost${names.map((n) => `,DNS:${n}`).join('')}\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    p('tls.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    p('tls.ext'),
    '-out',
    p('tls.crt'),
  );
  return { caCert: p('ca.pem'), cert: p('tls.crt'), key: p('tls.key') };
}
