/**
 * Removes secrets from audit before/after images: any property whose name looks like a secret (password, hash,
 * secret, token, private key, key, cert key…) is replaced by "[redacted]", at any depth. Callers should leave
 * secrets out themselves (AuditEntry's contract); this is the second line, applied to every entry recorded.
 * Depth is capped (32) and cycles are cut, so a hostile or odd object cannot hang or blow the stack.
 */
const SECRET_NAME = /pass(word)?|secret|token|hash|private|^key$|Key$|_key$|credential/i;

export function redactSecrets(v: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (depth > 32 || seen.has(v)) return '[…]';
  seen.add(v);
  if (Array.isArray(v)) return v.map((x) => redactSecrets(x, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = SECRET_NAME.test(k) && x !== null && x !== undefined ? '[redacted]' : redactSecrets(x, depth + 1, seen);
  return out;
}

/** Also for settings paths (`mta.tls.certificate.key`): the value is redacted when the last segment is secret. */
export function redactPath(path: string, v: unknown): unknown {
  const last = path.split('.').pop() ?? '';
  return SECRET_NAME.test(last) && v !== null && v !== undefined ? '[redacted]' : redactSecrets(v);
}
