/**
 * smtp-server adds an enhanced status code of its own choosing (by reply number) to every reply, including the
 * errors our handlers return. Ours already start with the precise code (e.g. `5.7.1` for relay denial, where the
 * library would say `5.6.0`), so for those the library's code is left out. Its own replies keep its codes.
 */
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED_RE = /^[245]\.\d{1,3}\.\d{1,3} /;
type Send = (code: number, data: unknown, context?: unknown) => void;
const proto = SMTPConnection.prototype as unknown as { send: Send; __moatPatched?: boolean };

if (!proto.__moatPatched) {
  const original = proto.send;
  proto.send = function (this: unknown, code: number, data: unknown, context?: unknown) {
    if (typeof data === 'string' && ENHANCED_RE.test(data)) return original.call(this, code, data, false);
    return original.call(this, code, data, context);
  };
  proto.__moatPatched = true;
}
