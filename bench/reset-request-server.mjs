// The server of the password reset timing case: `node bench/reset-request-server.mjs DATABASE_URL [TABLE_PREFIX]`.
// An Express app with the package's passwordResetRequestHandler at POST /forgot-password, whose
// sendEmail does what a mail client does to the requester's time: waits on the network (a 20 ms
// timer). POST /control/token-first and /control/mail-first do the same work but answer later,
// as naive handlers would; the timing case must see the difference there. GET /__deliveries says
// how many mails were sent, so the case can check that every known identifier really issued one.
// Prints `{"port":N}` on its first line once listening.
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import express from "express";
import { SessionManager } from "session-manager";
import { passwordResetRequestHandler, sessionMiddleware } from "session-manager/express";

const SEND_DELAY_MS = 20;
const LINK = "https://app.example.com/reset-password";

const [database, tablePrefix = ""] = process.argv.slice(2);
let delivered = 0;
let deliveredBytes = 0;
// Why deliveries failed (`email_delivery_failed` events), by reason.
const failures = {};
const manager = new SessionManager({
  database,
  tablePrefix,
  autoMigrate: false,
  onEvent: (event) => {
    if (event.type === "email_delivery_failed") failures[event.reason] = (failures[event.reason] ?? 0) + 1;
  },
});

async function sendEmail(message) {
  // Building the message as a mail client would (the URL is read, the body rendered) and then
  // waiting on the network.
  const body = `Reset your password: ${message.url}\nThe link expires at ${message.expiresAt.toISOString()}.`;
  await sleep(SEND_DELAY_MS);
  delivered++;
  deliveredBytes += Buffer.byteLength(body);
}

/** The message the handler would send for a token issued outside it. */
function mail(issued) {
  const url = new URL(LINK);
  url.searchParams.set("token", issued.token);
  return sendEmail({
    kind: "password_reset",
    to: issued.email,
    user: issued.user,
    token: issued.token,
    url: url.href,
    expiresAt: issued.expiresAt,
  });
}

const app = express();
app.use(express.json());
app.use(sessionMiddleware({ manager }));
app.post("/forgot-password", passwordResetRequestHandler({ sendEmail, link: LINK }));
// The controls: the same work with the answer sent after the token is issued (a leak of a
// fraction of a millisecond), and after the mail is sent (a leak of the delivery's time).
app.post("/control/token-first", async (req, res) => {
  const issued = await manager.createPasswordResetToken(req.body.identifier);
  res.status(202).json({ status: "accepted" });
  if (issued !== null) await mail(issued);
});
app.post("/control/mail-first", async (req, res) => {
  const issued = await manager.createPasswordResetToken(req.body.identifier);
  if (issued !== null) await mail(issued);
  res.status(202).json({ status: "accepted" });
});
app.get("/__deliveries", (req, res) => res.json({ delivered, deliveredBytes, failures }));

const server = createServer(app);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  manager.close().finally(() => process.exit(0));
});
