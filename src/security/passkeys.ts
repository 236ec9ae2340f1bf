// WebAuthn passkeys as a second factor (W3C Web Authentication Level 2, ceremonies 7.1 and 7.2,
// verified by @simplewebauthn/server): the challenge is kept in the caller's session row, used
// once, and the signature counter must grow (or stay 0 for authenticators without one).
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type AuthenticatorTransportFuture, type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { badRequest, RampartError } from '../errors.js';
import type { AuthStore } from '../store/index/auth-store.js';
import type { ActiveSession, SessionManager } from './sessions.js';

/** Where the browser talks to us: the relying party id (a host name) and the page origin. */
export interface RelyingParty { rpId: string; origin: string }

const MAX_CREDENTIALS_PER_USER = 20;
const TIMEOUT_MS = 120_000;

export class PasskeyService {
  constructor(
    private readonly store: AuthStore,
    private readonly sessions: SessionManager,
    private readonly rpName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Registration options for a signed-in user; the challenge is bound to this session. */
  async registrationOptions(a: ActiveSession, rp: RelyingParty): Promise<unknown> {
    const existing = await this.store.listPasskeys(a.user.id);
    if (existing.length >= MAX_CREDENTIALS_PER_USER) throw badRequest(`at most ${MAX_CREDENTIALS_PER_USER} passkeys per user`);
    const options = await generateRegistrationOptions({
      rpName: this.rpName, rpID: rp.rpId, userName: a.user.username, userID: new TextEncoder().encode(a.user.id),
      attestationType: 'none', timeout: TIMEOUT_MS,
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.sessions.setChallenge(a.session.id, options.challenge);
    return options;
  }

  async register(a: ActiveSession, rp: RelyingParty, response: unknown, name: string): Promise<void> {
    const challenge = await this.takeChallenge(a);
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpId,
        requireUserVerification: false,
      });
    } catch {
      throw badRequest('the passkey registration is not valid');
    }
    if (!verified.verified || !verified.registrationInfo) throw badRequest('the passkey registration is not valid');
    const c = verified.registrationInfo.credential;
    await this.store.addPasskey({
      credentialId: c.id, userId: a.user.id, publicKey: Buffer.from(c.publicKey).toString('base64url'), counter: c.counter,
      transports: (c.transports ?? []).slice(0, 8), name: name.slice(0, 64), createdAt: this.clock().toISOString(), lastUsedAt: null,
    });
  }

  /** Assertion options for a pending sign-in, allowing only this user's passkeys. */
  async authenticationOptions(pending: ActiveSession, rp: RelyingParty): Promise<unknown> {
    const keys = await this.store.listPasskeys(pending.user.id);
    if (keys.length === 0) throw badRequest('no passkey is registered');
    const options = await generateAuthenticationOptions({
      rpID: rp.rpId, timeout: TIMEOUT_MS, userVerification: 'preferred',
      allowCredentials: keys.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
    });
    await this.sessions.setChallenge(pending.session.id, options.challenge);
    return options;
  }

  /** True when the assertion is this user's passkey, for this session's challenge, with a counter that grew. */
  async authenticate(pending: ActiveSession, rp: RelyingParty, response: unknown): Promise<boolean> {
    const challenge = pending.session.challenge;
    await this.sessions.setChallenge(pending.session.id, null); // one attempt per challenge
    const r = response as AuthenticationResponseJSON;
    if (!challenge || !r || typeof r.id !== 'string' || r.id.length > 1024) return false;
    const key = await this.store.getPasskey(r.id);
    if (!key || key.userId !== pending.user.id) return false;
    try {
      const v = await verifyAuthenticationResponse({
        response: r, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpId, requireUserVerification: false,
        credential: { id: key.credentialId, publicKey: Buffer.from(key.publicKey, 'base64url'), counter: key.counter, transports: key.transports as AuthenticatorTransportFuture[] },
      });
      if (!v.verified) return false;
      return await this.store.updatePasskeyCounter(key.credentialId, v.authenticationInfo.newCounter, this.clock().toISOString());
    } catch {
      return false;
    }
  }

  async list(userId: string): Promise<{ id: string; name: string; createdAt: string; lastUsedAt: string | null }[]> {
    return (await this.store.listPasskeys(userId)).map((p) => ({ id: p.credentialId, name: p.name, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt }));
  }

  private async takeChallenge(a: ActiveSession): Promise<string> {
    const challenge = a.session.challenge;
    await this.sessions.setChallenge(a.session.id, null);
    if (!challenge) throw new RampartError('conflict', 'ask for passkey options first');
    return challenge;
  }
}
