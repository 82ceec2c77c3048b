import type { RequestReader } from "./request.js";

/** Largest body the handlers read: credentials, an address or a token never need more. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** The string fields of a request body: each required one, and each optional one when given. */
export type BodyFields<K extends string, O extends string = never> = { [F in K]: string } & { [F in O]?: string };

/** The fields, or why the body was refused. */
export type BodyFieldsResult<K extends string, O extends string = never> = BodyFields<K, O> | "invalid" | "too_large";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Named string fields of a JSON or `application/x-www-form-urlencoded` body. A body the framework
 * already parsed is used as it is; otherwise the raw body is read, up to `BODY_LIMIT_BYTES`.
 * Every `required` field must be a string; an `optional` one may be missing, null or empty
 * (a form's blank input), and is then left out, or a JSON boolean, read as "true" or "false". A repeated form field is refused: it is
 * ambiguous which one counts.
 */
export async function readBodyFields<const K extends string, const O extends string = never>(
  reader: RequestReader<unknown>,
  req: unknown,
  required: readonly K[],
  optional: readonly O[] = [],
): Promise<BodyFieldsResult<K, O>> {
  const parsed = reader.parsedBody(req);
  if (parsed !== undefined) return fieldsOf(parsed, required, optional);
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
      return fieldsOf(JSON.parse(text), required, optional);
    } catch {
      return "invalid";
    }
  }
  const form = new URLSearchParams(text);
  const fields: Record<string, string> = {};
  for (const name of required) {
    const values = form.getAll(name);
    if (values.length !== 1) return "invalid";
    fields[name] = values[0]!;
  }
  for (const name of optional) {
    const values = form.getAll(name);
    if (values.length > 1) return "invalid";
    if (values.length === 1 && values[0] !== "") fields[name] = values[0]!;
  }
  return fields as BodyFields<K, O>;
}

function fieldsOf<K extends string, O extends string>(
  value: unknown,
  required: readonly K[],
  optional: readonly O[],
): BodyFieldsResult<K, O> {
  if (typeof value !== "object" || value === null) return "invalid";
  const record = value as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const name of required) {
    const field = record[name];
    if (typeof field !== "string") return "invalid";
    fields[name] = field;
  }
  for (const name of optional) {
    const field = record[name];
    if (field === undefined || field === null || field === "") continue;
    // A JSON checkbox (`"remember": true`) reads as its form counterpart would.
    if (typeof field === "boolean") fields[name] = String(field);
    else if (typeof field !== "string") return "invalid";
    else fields[name] = field;
  }
  return fields as BodyFields<K, O>;
}

function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(";");
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}
