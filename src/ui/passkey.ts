// Passkeys (WebAuthn) through the browser's own JSON helpers: the server's options come as JSON
// (base64url), and the credential goes back as JSON, for the sign-in step and for registration.

type PkStatic = typeof PublicKeyCredential & {
  parseRequestOptionsFromJSON(o: unknown): PublicKeyCredentialRequestOptions;
  parseCreationOptionsFromJSON(o: unknown): PublicKeyCredentialCreationOptions;
};
type JsonCredential = PublicKeyCredential & { toJSON(): unknown };

export function passkeysAvailable(): boolean {
  const pk = (window as { PublicKeyCredential?: PkStatic }).PublicKeyCredential;
  return typeof pk?.parseRequestOptionsFromJSON === 'function';
}

/** The assertion for the options the server gave, as JSON for POST /api/auth/mfa {passkey}. */
export async function assertPasskey(options: unknown): Promise<unknown> {
  const pk = PublicKeyCredential as PkStatic;
  const cred = await navigator.credentials.get({ publicKey: pk.parseRequestOptionsFromJSON(options) }) as JsonCredential | null;
  if (!cred) throw new Error('no passkey was used');
  return cred.toJSON();
}

/** A new credential for the registration options, as JSON for POST /api/auth/passkeys. */
export async function createPasskey(options: unknown): Promise<unknown> {
  const pk = PublicKeyCredential as PkStatic;
  const cred = await navigator.credentials.create({ publicKey: pk.parseCreationOptionsFromJSON(options) }) as JsonCredential | null;
  if (!cred) throw new Error('no passkey was made');
  return cred.toJSON();
}
