import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { InvalidOptionsError, TotpKeyError } from "./errors.js";

/**
 * TOTP secrets at rest: AES-256-GCM under a key of the `totp.secretKey` option, with a random
 * 96-bit IV per encryption and the user id as additional authenticated data, so that a
 * ciphertext copied into another user's row fails to decrypt instead of giving that user the
 * secret. Stored as `v1.<key id>.<iv>.<ciphertext and tag>` (base64url), where the key id (the
 * first 8 bytes of the key's SHA-256) picks the key out of a rotation list; a missing or wrong
 * key is a `TotpKeyError`, never a wrong code.
 */

/** One key of `totp.secretKey`, checked. */
export interface TotpKey {
  /** base64url of the first 8 bytes of the key's SHA-256: names the key in ciphertexts, reveals nothing of it. */
  readonly id: string;
  readonly key: Buffer;
}

const VERSION = "v1";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/**
 * The keys of `totp.secretKey`, the first one the key new secrets are encrypted under. Each is 32
 * bytes: a Buffer or Uint8Array, or a string of 64 hex digits or of base64 / base64url.
 */
export function parseSecretKeys(value: unknown): readonly TotpKey[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new InvalidOptionsError("totp.secretKey must hold at least one key");
  const keys = list.map((item, index) => parseKey(item, Array.isArray(value) ? `totp.secretKey[${index}]` : "totp.secretKey"));
  const ids = new Set(keys.map((k) => k.id));
  if (ids.size !== keys.length) throw new InvalidOptionsError("totp.secretKey lists the same key twice");
  return Object.freeze(keys);
}

function parseKey(value: unknown, name: string): TotpKey {
  let key: Buffer | null = null;
  if (value instanceof Uint8Array) key = Buffer.from(value);
  else if (typeof value === "string" && HEX_KEY.test(value)) key = Buffer.from(value, "hex");
  else if (typeof value === "string" && BASE64_KEY.test(value))
    key = Buffer.from(value.replace(/\+/g, "-").replace(/\//g, "_"), "base64url");
  if (key === null || key.length !== KEY_BYTES) {
    throw new InvalidOptionsError(
      `${name} must be a 32-byte key: a Buffer, or a string of 64 hex digits or 44 base64 characters (openssl rand -base64 32)`,
    );
  }
  const id = createHash("sha256").update(key).digest().subarray(0, 8).toString("base64url");
  return Object.freeze({ id, key });
}

function additionalData(userId: number): Buffer {
  return Buffer.from(`session-manager totp secret of user ${userId}`, "utf8");
}

/** Encrypts a user's secret under the first key. */
export function encryptSecret(keys: readonly TotpKey[], userId: number, secret: Uint8Array): string {
  const { id, key } = keys[0]!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(additionalData(userId));
  const sealed = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${id}.${iv.toString("base64url")}.${sealed.toString("base64url")}`;
}

/** True when the stored secret is encrypted under the first key (no re-encryption needed). */
export function isUnderFirstKey(keys: readonly TotpKey[], stored: string): boolean {
  return stored.startsWith(`${VERSION}.${keys[0]!.id}.`);
}

/**
 * The secret of a user, decrypted with whichever key of the list its key id names. Throws
 * `TotpKeyError` when no key has that id, or when the ciphertext does not authenticate (wrong key,
 * altered, or another user's).
 */
export function decryptSecret(keys: readonly TotpKey[], userId: number, stored: string): Uint8Array {
  const parts = stored.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION)
    throw new TotpKeyError(`the TOTP secret of user ${userId} is not in a format this version reads`);
  const [, keyId, ivText, sealedText] = parts as [string, string, string, string];
  const found = keys.find((k) => k.id === keyId);
  if (found === undefined) {
    throw new TotpKeyError(
      `the TOTP secret of user ${userId} was encrypted under key ${keyId}, which totp.secretKey does not hold (it holds ${keys.map((k) => k.id).join(", ")}): add that key back to the list`,
    );
  }
  const iv = Buffer.from(ivText, "base64url");
  const sealed = Buffer.from(sealedText, "base64url");
  if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) throw new TotpKeyError(`the TOTP secret of user ${userId} is damaged`);
  try {
    const decipher = createDecipheriv("aes-256-gcm", found.key, iv);
    decipher.setAAD(additionalData(userId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]));
  } catch {
    throw new TotpKeyError(
      `the TOTP secret of user ${userId} does not decrypt under key ${keyId}: the stored value was altered or belongs to another user`,
    );
  }
}
