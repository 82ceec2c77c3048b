import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** A message as it reached the server: the envelope's recipients, subject and text. */
export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

/**
 * A real SMTP server on 127.0.0.1 that keeps what it receives, for tests that send mail through
 * an app's SMTP_URL. No TLS and no login: the mail never leaves the machine.
 */
export class SmtpInbox {
  readonly received: ReceivedMail[] = [];
  #server: SMTPServer;
  #waiting = new Set<() => void>();

  constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData: (stream, session, callback) => {
        const to = session.envelope.rcptTo.map((recipient) => recipient.address);
        simpleParser(stream)
          .then((parsed) => {
            this.received.push({ to, subject: parsed.subject ?? "", text: parsed.text ?? "" });
            for (const wake of this.#waiting) wake();
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
  }

  /** Listens on 127.0.0.1 and a free port; resolves to the URL to give nodemailer. */
  async start(): Promise<string> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server.server, "listening");
    return `smtp://127.0.0.1:${(this.#server.server.address() as AddressInfo).port}`;
  }

  /**
   * Takes out the first message received, or still to come, that `matches`; rejects after
   * `timeoutMs`, listing what did arrive.
   */
  take(matches: (mail: ReceivedMail) => boolean, timeoutMs = 10_000): Promise<ReceivedMail> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.received.findIndex(matches);
        if (index === -1) return false;
        clearTimeout(timer);
        this.#waiting.delete(wake);
        resolve(this.received.splice(index, 1)[0]!);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        this.#waiting.delete(wake);
        const seen = this.received.map((mail) => `${mail.to.join(",")}: ${mail.subject}`).join("; ") || "none";
        reject(new Error(`no matching mail within ${timeoutMs} ms (received: ${seen})`));
      }, timeoutMs);
      if (!check()) this.#waiting.add(wake);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
