// The node's Ed25519 audit signing key: the operator's own (audit.signingKey), or one made on
// first start in DATA/audit (0600). The public half is always written beside the trail for verifiers.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RampartError } from '../../errors.js';
import { PRIVATE_KEY, PUBLIC_KEY } from './files.js';
import { privateKeyFromPem } from './chain.js';

export async function loadSigningKey(dir: string, operatorKeyFile: string | null): Promise<KeyObject> {
  let key: KeyObject;
  if (operatorKeyFile) {
    key = privateKeyFromPem(await readFile(operatorKeyFile));
  } else {
    const file = join(dir, PRIVATE_KEY);
    try {
      key = privateKeyFromPem(await readFile(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      key = generateKeyPairSync('ed25519').privateKey;
      // 'wx': never overwrite a key another process just made.
      await writeFile(file, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      await chmod(file, 0o600);
    }
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new RampartError('bad-request', 'audit signing key must be an Ed25519 private key');
  await writeFile(join(dir, PUBLIC_KEY), createPublicKey(key).export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return key;
}

export async function loadPublicKey(dir: string, file?: string): Promise<KeyObject> {
  return createPublicKey(await readFile(file ?? join(dir, PUBLIC_KEY)));
}
