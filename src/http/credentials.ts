import type { RequestReader } from "./request.js";

/** Largest login or register body the handlers read: credentials never need more. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** The fields of a login or register request. */
export interface Credentials {
  username: string;
  password: string;
}

/** Credentials, or why the body was refused. */
export type CredentialsResult = Credentials | "invalid" | "too_large";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The `username` and `password` of a JSON or `application/x-www-form-urlencoded` body. A body
 * the framework already parsed is used as it is; otherwise the raw body is read, up to
 * `BODY_LIMIT_BYTES`.
 */
export async function readCredentials<R>(reader: RequestReader<R>, req: R): Promise<CredentialsResult> {
  const parsed = reader.parsedBody(req);
  if (parsed !== undefined) return fieldsOf(parsed);
  const type = mediaType(reader.header(req, "content-type"));
  if (type !== "application/json" && type !== "application/x-www-form-urlencoded") return "invalid";
  const length = reader.header(req, "content-length");
  if (length !== undefined && Number(length) > BODY_LIMIT_BYTES) return "too_large";
  const raw = await reader.readBody(req, BODY_LIMIT_BYTES);
  if (raw === null) return "too_large";
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return "invalid";
  }
  if (type === "application/json") {
    try {
      return fieldsOf(JSON.parse(text));
    } catch {
      return "invalid";
    }
  }
  const form = new URLSearchParams(text);
  // A repeated field is ambiguous: refuse it rather than pick one.
  if (form.getAll("username").length !== 1 || form.getAll("password").length !== 1) return "invalid";
  return { username: form.get("username")!, password: form.get("password")! };
}

function fieldsOf(value: unknown): CredentialsResult {
  if (typeof value !== "object" || value === null) return "invalid";
  const { username, password } = value as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string") return "invalid";
  return { username, password };
}

function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(";");
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}
