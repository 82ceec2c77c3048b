// Mail for the example apps: the messages the account handlers hand to `sendEmail`, written out
// and sent through nodemailer to SMTP_URL, or, with no mail server configured, kept in a
// development outbox (printed to the console and shown on /dev/outbox).
import nodemailer from "nodemailer";

// The development outbox keeps the newest messages only.
const OUTBOX_SIZE = 50;

/**
 * The `sendEmail` the handlers take, and the development outbox (null when mail goes to SMTP).
 *
 * `smtpUrl`: a nodemailer SMTP URL (`smtps://user:password@smtp.example.com`), or null for the
 * outbox. `log`: where the outbox prints a line per message.
 */
export function createMailer({ smtpUrl, from, log = console.log }) {
  if (smtpUrl) {
    const transport = nodemailer.createTransport(smtpUrl);
    return {
      outbox: null,
      // A rejection (server down, login refused) becomes an `email_delivery_failed` event.
      async sendEmail(message) {
        await transport.sendMail({ from, to: message.to, ...composeEmail(message) });
      },
    };
  }
  const outbox = [];
  return {
    outbox,
    async sendEmail(message) {
      const email = composeEmail(message);
      const link = message.url ?? null;
      outbox.unshift({ to: message.to, sentAt: new Date(), link, ...email });
      outbox.length = Math.min(outbox.length, OUTBOX_SIZE);
      log(`[dev outbox] to ${message.to}: ${email.subject}${link === null ? "" : ` ${link}`}`);
    },
  };
}

/** The subject and text of one message the handlers ask for. */
export function composeEmail(message) {
  const name = message.user.username;
  switch (message.kind) {
    case "password_reset":
      return {
        subject: "Reset your password",
        text: `Hello ${name},

Someone asked to reset the password of your account. To choose a new password, open this link
${timeLeft(message.expiresAt)}:

${message.url}

Resetting signs you out everywhere. If you did not ask for this, ignore this message: your
password stays as it is.
`,
      };
    case "email_verification":
      return {
        subject: "Verify your email address",
        text: `Hello ${name},

To confirm that ${message.to} is your address, open this link ${timeLeft(message.expiresAt)}:

${message.url}
`,
      };
    case "email_change":
      return {
        subject: "Confirm your new email address",
        text: `Hello ${name},

To make ${message.to} the address of your account, open this link ${timeLeft(message.expiresAt)}:

${message.url}

Until then the account keeps its current address. If you did not ask for this, ignore this message.
`,
      };
    case "email_changed_notice":
      return {
        subject: "Your email address was changed",
        text: `Hello ${name},

The address of your account is now ${message.newEmail}; mail no longer comes to this one.
If you did not make this change, reset your password at once and contact us.
`,
      };
    default:
      throw new Error(`no mail written for ${message.kind}`);
  }
}

function timeLeft(expiresAt) {
  const minutes = Math.max(1, Math.round((expiresAt.getTime() - Date.now()) / 60_000));
  if (minutes < 120) return `within ${minutes} minutes`;
  return `within ${Math.round(minutes / 60)} hours`;
}

/** `onEvent` for the manager: a message that could not be sent is logged (without its link). */
export function logDeliveryFailures(event) {
  if (event.type === "email_delivery_failed") console.error(`mail: could not send ${event.emailKind}: ${event.reason}`);
}

/**
 * True for a connection from this machine. The outbox holds live reset links for every
 * account, so only a browser on the same machine may see it.
 */
export function isLoopback(address) {
  return address === "::1" || /^(::ffff:)?127\./.test(address ?? "");
}
