import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { hash, verify, type Algorithm } from "@node-rs/argon2";
import { InvalidPasswordError } from "./errors.js";
import { Lane, type LaneTicket } from "./lane.js";
import type { ResolvedPasswordOptions } from "./options.js";
import { VerifyTimes } from "./password-timing.js";
import { codePointLength } from "./text.js";

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
 * Resolves once `performance.now()` reaches `deadline`. A timer alone may fire a millisecond
 * early (it counts whole milliseconds from the loop's cached time), which would leave a
 * measurable difference between padded and unpadded checks.
 */
async function waitUntil(deadline: number): Promise<void> {
  for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
}

/** The parameter set of a PHC string (`argon2id/19/19456/2/1`), or null when it is not one. */
function parametersOf(passwordHash: string): string | null {
  const match = PHC.exec(passwordHash);
  return match === null ? null : `${match[1]}/${match[2] ?? "16"}/${match[3]}/${match[4]}/${match[5]}`;
}

/**
 * Argon2id hashing behind a bounded lane. Every hash and verify, the dummy one included, takes a
 * place in the lane, so hashing never takes more cores than configured and a full queue is
 * refused with `ServiceBusyError` instead of growing.
 */
export class PasswordHasher {
  readonly #options: ResolvedPasswordOptions;
  readonly #current: string;
  readonly #lane: Lane;
  readonly #times = new VerifyTimes();
  #dummyHash: Promise<string> | null = null;

  constructor(options: ResolvedPasswordOptions) {
    this.#options = options;
    this.#current = `argon2id/19/${options.memoryCost}/${options.timeCost}/${options.parallelism}`;
    this.#lane = new Lane(options.concurrency, options.queueLimit);
  }

  /**
   * Takes a place in the hashing lane for a password check that will follow some database work,
   * so that the work is not done for a check the lane would refuse. Throws `ServiceBusyError`.
   */
  admit(): LaneTicket {
    return this.#lane.admit();
  }

  /** Hashes a normalized password with the configured parameters; `ServiceBusyError` when the lane is full. */
  hash(password: string): Promise<string> {
    const { memoryCost, timeCost, parallelism } = this.#options;
    return this.#lane.run(() => hash(password, { algorithm: ARGON2ID, memoryCost, timeCost, parallelism }));
  }

  /**
   * Checks a normalized password against a stored PHC string in the ticket's place (false for a
   * malformed hash), or, for `null` (no such user), against a dummy hash of the current
   * parameters. Every check is padded to the time the slowest recently seen parameter set takes,
   * so that a wrong password costs the same for an unknown user, a user whose hash has the
   * current parameters and one whose hash has others.
   */
  async check(ticket: LaneTicket, passwordHash: string | null, password: string): Promise<boolean> {
    let stored: string;
    try {
      stored = passwordHash ?? (await this.#dummy());
    } catch (error) {
      ticket.release();
      throw error;
    }
    const kind = parametersOf(stored) ?? this.#current;
    let started = 0;
    let ranMs = 0;
    const ok = await ticket.run(async () => {
      started = performance.now();
      try {
        return await verify(stored, password);
      } catch {
        return false;
      } finally {
        ranMs = performance.now() - started;
      }
    });
    this.#times.record(kind, ranMs, performance.now());
    // The wait happens outside the lane: padding costs no hashing slot and no CPU.
    await waitUntil(started + this.#times.target());
    return passwordHash !== null && ok;
  }

  /** True when a stored hash was made with other parameters than the configured ones. */
  needsRehash(passwordHash: string): boolean {
    return parametersOf(passwordHash) !== this.#current;
  }

  // A hash of a random password, made once with the current parameters, outside the lane's
  // queue limit: refusing it would refuse every unknown-user check until one got through.
  #dummy(): Promise<string> {
    const { memoryCost, timeCost, parallelism } = this.#options;
    this.#dummyHash ??= hash(randomBytes(32).toString("base64url"), { algorithm: ARGON2ID, memoryCost, timeCost, parallelism }).catch(
      (error: unknown) => {
        this.#dummyHash = null;
        throw error;
      },
    );
    return this.#dummyHash;
  }
}
