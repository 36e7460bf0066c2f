/**
 * Logging port: pino JSON lines on stdout (or a given destination).
 *
 * Every line about a message carries its queue id (`qid`) through a child logger, so one grep follows a message
 * from SMTP acceptance to delivery. Secrets (passwords, keys, tokens) are redacted by path and must never be
 * passed in other fields.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read lines back. */
  destination?: DestinationStream;
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      base: { pid: process.pid },
      redact: { paths: ['password', '*.password', 'pass', '*.pass', 'token', '*.token', 'key', '*.key'], censor: '[redacted]' },
    },
    opts.destination ?? bufferedStdout(),
  );
}

/**
 * stdout, written in batches of at least 4 KiB and at least every 250 ms (one thread-pool write per batch instead
 * of one per line). pino flushes what is left when the process exits; a `kill -9` loses at most that last batch.
 */
function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => { try { dest.flush(); } catch { /* busy or closed: next time */ } }, 250).unref();
  return dest;
}

/** A logger that drops everything: for CLI commands and unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
