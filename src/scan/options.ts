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
  if (module === 'antispam') {
    const a = s.scan.antispam;
    const sa = a.spamassassin;
    return {
      thresholds: a.thresholds,
      maxSizeBytes: a.maxSize * 1024 * 1024,
      dnsServers: a.dnsServers,
      blocklists: a.blocklists,
      ptr: { enabled: a.ptrChecks, localNames: [s.mta.hostname], localDomains: s.mta.domains.filter((d) => d.local).map((d) => d.name) },
      rspamd: a.rspamd ? { url: a.rspamd.url, timeoutMs: a.rspamd.timeout * 1000, ...(a.rspamd.password ? { password: a.rspamd.password } : {}) } : null,
      spamassassin: sa ? { socket: sa.socket, host: sa.host, port: sa.port, timeoutMs: sa.timeout * 1000, user: sa.user } : null,
    };
  }
  return { ...(rule.modules[module]?.options ?? {}) };
}
