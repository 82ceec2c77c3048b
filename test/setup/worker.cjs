// A separate app process for the multi-process tests: one SessionManager driven by JSON lines on stdin.
const { createInterface } = require("node:readline");
const { SessionManager } = require("../../dist/cjs/src/index.js");

const [database, tablePrefix] = process.argv.slice(2);
const sm = new SessionManager({
  database,
  tablePrefix,
  password: { memoryCost: 256, timeCost: 1, parallelism: 1 },
});

const operations = {
  migrate: () => sm.migrate(),
  createUser: (name, password, email) => sm.createUser(name, password, { email }),
  createPasswordResetToken: (identifier) => sm.createPasswordResetToken(identifier),
  resetPassword: (token, password) => sm.resetPassword(token, password),
  requestEmailChange: (userId, email) => sm.requestEmailChange(userId, email),
  confirmEmailChange: (token) => sm.confirmEmailChange(token),
  login: (name, password) => sm.login(name, password),
  loginFrom: (name, password, ip) => sm.login(name, password, { ip }),
  authenticate: (name, password) => sm.authenticateUser(name, password),
  validate: (token) => sm.validateSession(token),
  revoke: (token) => sm.revokeSession(token),
  revokeAll: (userId) => sm.revokeSessions(userId),
};

createInterface({ input: process.stdin })
  .on("line", async (line) => {
    const { id, op, args } = JSON.parse(line);
    try {
      const result = await operations[op](...args);
      process.stdout.write(JSON.stringify({ id, result: result ?? null }) + "\n");
    } catch (error) {
      process.stdout.write(JSON.stringify({ id, error: { code: error.code ?? null, message: String(error.message) } }) + "\n");
    }
  })
  .on("close", () => sm.close());
