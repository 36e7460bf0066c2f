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
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything: for CLI commands and unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
