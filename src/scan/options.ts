/**
 * The options a module runs with for one rule: engine settings from `scan.*` (anti-virus), criteria from the
 * rule's module block (content and later modules). Shared by the SMTP path and `moat scan`, so both run the
 * very same configuration.
 */
import type { Settings } from '../config/settings-schema.ts';
import type { Rule } from '../policy/types.ts';
import type { ModuleName } from './types.ts';

export function moduleOptions(module: ModuleName, rule: Rule, s: Settings): Record<string, unknown> {
  if (module === 'antivirus') {
    const c = s.scan.antivirus.clamav;
    return {
      engines: {
        builtin: s.scan.antivirus.builtin,
        clamav: c ? { socket: c.socket, host: c.host, port: c.port, timeoutMs: c.timeout * 1000, maxStreamBytes: c.maxStreamSize * 1024 * 1024 } : null,
      },
      maxScanMs: s.scan.maxScanTime * 1000,
      reloadCheckMs: s.scan.antivirus.reloadCheck * 1000,
      ...(s.scan.antivirus.databases.length ? { databasePaths: s.scan.antivirus.databases } : {}),
    };
  }
  return { ...(rule.modules[module]?.options ?? {}) };
}
