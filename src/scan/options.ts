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
      dnsServers: a.dnsServers.length ? a.dnsServers : s.scan.dnsServers,
      blocklists: a.blocklists,
      ptr: { enabled: a.ptrChecks, localNames: [s.mta.hostname], localDomains: s.mta.domains.filter((d) => d.local).map((d) => d.name) },
      rspamd: a.rspamd ? { url: a.rspamd.url, timeoutMs: a.rspamd.timeout * 1000, ...(a.rspamd.password ? { password: a.rspamd.password } : {}) } : null,
      spamassassin: sa ? { socket: sa.socket, host: sa.host, port: sa.port, timeoutMs: sa.timeout * 1000, user: sa.user } : null,
    };
  }
  if (module === 'links' || module === 'antiphishing') {
    const l = s.scan.links;
    const databases = l.databases.length ? { databases: l.databases } : {};
    if (module === 'links') {
      return { ...databases, reloadCheckMs: l.reloadCheck * 1000, categories: l.categories, blocklists: l.blocklists, dnsServers: s.scan.dnsServers, timeoutMs: l.timeout * 1000 };
    }
    const a = s.scan.antiphishing;
    // `urlDatabase` is read by the registry (the links module's database, shared), not by the scanner.
    return {
      threshold: a.threshold, localDomains: s.mta.domains.filter((d) => d.local).map((d) => d.name), protectedDomains: a.protectedDomains,
      protectedPeople: a.protectedPeople, ...(a.brandsFile ? { brandsPath: a.brandsFile } : {}), weights: a.weights,
      urlDatabase: { ...databases, reloadCheckMs: l.reloadCheck * 1000 },
    };
  }
  if (module === 'auth') {
    // The rule's auth toggles (temperror/permerror as violations, DMARC decides) are policy's, not the scanner's.
    return {
      hostname: s.mta.hostname,
      ...(s.scan.auth.authservId ? { authservId: s.scan.auth.authservId } : {}),
      dnsServers: s.scan.dnsServers,
      dnsTimeoutMs: s.scan.auth.dnsTimeout * 1000,
      trustedNetworks: s.mta.trustedNetworks,
      trustedRelays: s.scan.auth.trustedRelays,
    };
  }
  return { ...(rule.modules[module]?.options ?? {}) };
}
