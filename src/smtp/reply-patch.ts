/**
 * Two adjustments to smtp-server's connection class, applied once at import:
 *
 * 1. Enhanced status codes. smtp-server adds a code of its own choosing (by reply number) to every reply,
 *    including the errors our handlers return. Ours already start with the precise code (e.g. `5.7.1` for relay
 *    denial, where the library would say `5.6.0`), so for those the library's code is left out. Its own replies
 *    keep its codes.
 * 2. Greeting pause. smtp-server always waits 100 ms before the 220 greeting to catch clients that talk first.
 *    That caps a one-message-per-connection client at 10 messages/s per session. Here the pause is the
 *    server option `greetPause(remoteAddress)` in ms (Moat: `mta.limits.greetPause` for untrusted clients,
 *    0 = greet at once); a client that talks during the pause still gets "421 You talk too soon".
 */
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED_RE = /^[245]\.\d{1,3}\.\d{1,3} /;

interface ConnectionInternals {
  send(code: number, data: unknown, context?: unknown): void;
  init(): void;
  connectionReady(): void;
  _setListeners(cb: () => void): void;
  _server: { options: { maxClients?: number; greetPause?: (ip: string) => number }; connections: Set<unknown> };
  remoteAddress: string;
  name: string;
  __moatPatched?: boolean;
}

const proto = SMTPConnection.prototype as unknown as ConnectionInternals;

if (!proto.__moatPatched) {
  const send = proto.send;
  proto.send = function (this: ConnectionInternals, code: number, data: unknown, context?: unknown) {
    if (typeof data === 'string' && ENHANCED_RE.test(data)) return send.call(this, code, data, false);
    return send.call(this, code, data, context);
  };
  proto.init = function (this: ConnectionInternals) {
    this._setListeners(() => {
      const opts = this._server.options;
      if (opts.maxClients && this._server.connections.size > opts.maxClients) {
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      }
      const pause = opts.greetPause?.(this.remoteAddress) ?? 0;
      if (pause > 0) setTimeout(() => this.connectionReady(), pause).unref();
      else setImmediate(() => this.connectionReady());
    });
  };
  proto.__moatPatched = true;
}
