import { randomBytes } from "node:crypto";
import { hash, verify, type Algorithm } from "@node-rs/argon2";
import { InvalidPasswordError } from "./errors.js";
import { Lane } from "./lane.js";
import type { ResolvedPasswordOptions } from "./options.js";
import { codePointLength } from "./usernames.js";

const MIN_LENGTH = 8;
const MAX_LENGTH = 1024;
// `Algorithm` is a const enum, which isolated modules cannot read; 2 is its Argon2id member.
const ARGON2ID = 2 as Algorithm;

/**
 * A PHC string of argon2i, argon2d or argon2id: `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`,
 * salt and hash in unpadded base64. Anything else (bcrypt, scrypt, plain text) is refused.
 */
const PHC = /^\$(argon2(?:i|d|id))\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{16,})$/;

/** NFKC-normalizes a password and checks its length; `null` when it cannot be a valid password. */
export function normalizePassword(input: unknown): string | null {
  // The raw bound refuses megabytes of input before normalization spends time on them.
  if (typeof input !== "string" || input.length > MAX_LENGTH * 4) return null;
  const password = input.normalize("NFKC");
  const length = codePointLength(password);
  if (length < MIN_LENGTH || length > MAX_LENGTH || !password.isWellFormed()) return null;
  return password;
}

/** As `normalizePassword`, but throws `InvalidPasswordError` where that returns null. */
export function requirePassword(input: unknown): string {
  const password = normalizePassword(input);
  if (password === null) throw new InvalidPasswordError();
  return password;
}

/** True for an argon2 PHC string that `verify` can check. */
export function isArgon2Hash(value: unknown): value is string {
  return typeof value === "string" && value.length <= 512 && PHC.test(value);
}

/**
 * Argon2id hashing behind a bounded lane. Every hash and verify, the dummy one included, waits
 * for a place, so hashing never takes more cores than configured.
 */
export class PasswordHasher {
  readonly #options: ResolvedPasswordOptions;
  readonly #lane: Lane;
  #dummyHash: Promise<string> | null = null;

  constructor(options: ResolvedPasswordOptions) {
    this.#options = options;
    this.#lane = new Lane(options.concurrency);
  }

  /** Hashes a normalized password with the configured parameters. */
  hash(password: string): Promise<string> {
    const { memoryCost, timeCost, parallelism } = this.#options;
    return this.#lane.run(() => hash(password, { algorithm: ARGON2ID, memoryCost, timeCost, parallelism }));
  }

  /** Checks a normalized password against a stored PHC string; false for a malformed hash. */
  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.#lane.run(async () => {
      try {
        return await verify(passwordHash, password);
      } catch {
        return false;
      }
    });
  }

  /**
   * Verifies against a hash of a random password made with the same parameters, so that an
   * unknown username costs what a wrong password costs.
   */
  async verifyDummy(password: string): Promise<void> {
    this.#dummyHash ??= this.hash(randomBytes(32).toString("base64url"));
    await this.verify(await this.#dummyHash, password);
  }

  /** True when a stored hash was made with other parameters than the configured ones. */
  needsRehash(passwordHash: string): boolean {
    const match = PHC.exec(passwordHash);
    if (!match) return true;
    const { memoryCost, timeCost, parallelism } = this.#options;
    return (
      match[1] !== "argon2id" ||
      match[2] !== "19" ||
      Number(match[3]) !== memoryCost ||
      Number(match[4]) !== timeCost ||
      Number(match[5]) !== parallelism
    );
  }
}
