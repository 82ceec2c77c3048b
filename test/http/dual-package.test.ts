import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(__dirname, "..", "..");
const APP = join(ROOT, "test/setup/dual-package-app.mjs");

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/cjs/src/index.js")) || !existsSync(join(ROOT, "dist/esm/src/index.js"))) {
    throw new Error("this test runs the built package: run `npm run build` first (npm test does)");
  }
});

// An app may load the core with require and an adapter with import (or the reverse): two builds,
// two SessionManager classes, two sets of error classes. Nothing may depend on instanceof.
describe.each([
  ["the ESM Express adapter with a CommonJS SessionManager", "esm"],
  ["the CommonJS Express adapter with an ESM SessionManager", "cjs"],
])("%s", (_, adapterFormat) => {
  it("registers, signs in, renews, throttles with 429, refuses CSRF, answers 503 when busy and signs out", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [APP, adapterFormat], { cwd: ROOT, timeout: 30_000 });
    const steps = JSON.parse(stdout) as Record<string, unknown>;
    expect(steps).toEqual({
      register: 201,
      me: 200,
      registerTaken: 409,
      registerShortPassword: 400,
      loginWrong: 401,
      loginThrottled: [429, expect.stringMatching(/^\d+$/), '{"error":"too_many_attempts"}'],
      meRenewed: [200, true],
      logoutCrossSite: 403,
      loginBusy: [503, "5", '{"error":"service_busy"}'],
      logout: 204,
      meAfterLogout: 401,
      events: expect.arrayContaining(["user_created", "csrf_rejected", "logout"]),
    });
  });
});
