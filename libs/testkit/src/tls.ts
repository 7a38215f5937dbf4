// A throwaway certificate authority for TLS tests, made with the openssl CLI (Node can make keys
// but not X.509 certificates): a CA, and one certificate it signs for the given hosts (IP
// addresses or DNS names as subjectAltName), ECDSA P-256, valid one day.

import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import { join } from 'path';

/** The one line shown (or thrown) when the binary is missing. */
export const OPENSSL_MISSING = 'openssl not found; install it with: apt-get install -y openssl';

export interface TestCa {
  /** The directory holding ca.pem, cert.pem and key.pem (what `vsim up --tls-dir` takes). */
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes a CA and a certificate for `hosts` in `dir` (which must exist). */
export function makeTestCa(dir: string, hosts: readonly string[] = ['127.0.0.1', 'localhost']): TestCa {
  const p = (f: string) => join(dir, f);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=vsim throwaway test CA');
  ossl('req', ...ec, '-keyout', p('key.pem'), '-out', p('cert.csr'), '-subj', `/CN=${hosts[0]}`);
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(p('ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  ossl(
    'x509',
    '-req',
    '-in',
    p('cert.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('cert.pem'),
    '-days',
    '1',
    '-extfile',
    p('ext.cnf'),
  );
  return { dir, ca: p('ca.pem'), cert: p('cert.pem'), key: p('key.pem') };
}
