import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import canonicalize from 'canonicalize';

export interface Signature {
  keyId: string;
  /** Ed25519 signature of the canonical JSON (RFC 8785) of the document without `signature`, base64url. */
  value: string;
}

export interface TrustedKey {
  id: string;
  /** Raw 32-byte Ed25519 public key, base64url. */
  key: string;
}

/** RFC 8785 canonical JSON: the same document always signs to the same bytes, whoever serialised it. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('cannot canonicalise an undefined value');
  return text;
}

function signedBytes(doc: Record<string, unknown>): Buffer {
  const { signature: _ignored, ...unsigned } = doc;
  return Buffer.from(canonicalJson(unsigned));
}

export function keyFingerprint(publicKey: string): string {
  return createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex').slice(0, 16);
}

export function generateSigningKey(): { id: string; publicKey: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x!;
  return {
    id: keyFingerprint(raw),
    publicKey: raw,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function loadPrivateKey(pem: string): { key: KeyObject; id: string } {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the signing key must be an Ed25519 private key');
  const raw = createPublicKey(key).export({ format: 'jwk' }).x!;
  return { key, id: keyFingerprint(raw) };
}

export function signDocument<T extends Record<string, unknown>>(
  doc: T,
  privateKey: KeyObject,
  keyId: string,
): T & { signature: Signature } {
  const value = sign(null, signedBytes(doc), privateKey).toString('base64url');
  return { ...doc, signature: { keyId, value } };
}

export type Verdict = { ok: true; keyId?: string } | { ok: false; reason: string };

/**
 * A signature, when present, must verify whatever `requireSigned` says: a bad signature means tampering.
 * An unsigned document passes only when signatures are not required.
 */
export function verifyDocument(
  doc: Record<string, unknown>,
  trusted: readonly TrustedKey[],
  requireSigned: boolean,
): Verdict {
  const signature = doc.signature as Partial<Signature> | undefined;
  if (signature === undefined) {
    return requireSigned
      ? { ok: false, reason: 'unsigned document (fleet.requireSigned is on)' }
      : { ok: true };
  }
  if (typeof signature?.keyId !== 'string' || typeof signature.value !== 'string') {
    return { ok: false, reason: 'malformed signature: expected {keyId, value}' };
  }
  const entry = trusted.find((k) => k.id === signature.keyId);
  if (!entry) return { ok: false, reason: `signed with unknown key "${signature.keyId}"` };
  let good = false;
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: entry.key }, format: 'jwk' });
    good = verify(null, signedBytes(doc), publicKey, Buffer.from(signature.value, 'base64url'));
  } catch (error) {
    return { ok: false, reason: `cannot verify signature: ${(error as Error).message}` };
  }
  return good ? { ok: true, keyId: entry.id } : { ok: false, reason: `bad signature (key "${entry.id}")` };
}
