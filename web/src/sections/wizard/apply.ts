/**
 * What the wizard reads and writes, all through the REST API:
 * - reads GET /settings/mta (hostname, relay host, trusted networks), /settings/scan (auth.trustedRelays),
 *   /settings/notifications (admins) and /domains;
 * - writes PATCH /settings/mta, POST or PATCH /domains(/{name}) for each local domain (DELETE for a local domain
 *   the administrator removed), PATCH /settings/scan (auth.trustedRelays) and PATCH /settings/notifications
 *   (the first admin address). Each write is its own settings version, applied by the running node at once.
 * `onStep` reports each write (running → done / error) for the progress list; the first refusal stops and is
 * thrown (an ApiProblem) with the step and field it belongs to.
 */
import { api, ApiProblem, call } from '../../api/client';

export interface WizardDomain { name: string; route?: string | null }
export interface WizardValues {
  mode: 'edge' | 'behind';
  trustedRelays: string[];
  relayHost?: string | null;
  hostname: string;
  domains: WizardDomain[];
  trustedNetworks: string[];
  adminEmail?: string | null;
}

export interface Current extends WizardValues { admins: string[]; localDomains: string[]; allDomains: string[] }

export type StepKey = 'mode' | 'hostname' | 'domains' | 'networks' | 'admin' | 'review';
export interface ApplyStep { key: string; label: string; state: 'running' | 'done' | 'error'; step?: StepKey; field?: (string | number)[] }

/** The form fields of each step (validated before Next). */
export const STEP_FIELDS: Record<StepKey, (string | (string | number)[])[]> = {
  mode: ['mode', 'trustedRelays', 'relayHost'],
  hostname: ['hostname'],
  domains: ['domains'],
  networks: ['trustedNetworks'],
  admin: ['adminEmail'],
  review: [],
};

interface MtaSection { hostname: string; relayHost: string | null; trustedNetworks: string[] }
interface ScanSection { auth?: { trustedRelays?: string[] } }
interface NotificationsSection { admins?: string[] }

const key = (n: string) => n.trim().toLowerCase().replace(/\.$/, '');

export async function loadWizardValues(): Promise<Current> {
  const [mta, scan, notifications, domains] = await Promise.all([
    call(api.GET('/api/v1/settings/{section}', { params: { path: { section: 'mta' } } })),
    call(api.GET('/api/v1/settings/{section}', { params: { path: { section: 'scan' } } })),
    call(api.GET('/api/v1/settings/{section}', { params: { path: { section: 'notifications' } } })),
    call(api.GET('/api/v1/domains')),
  ]);
  const m = mta.settings as MtaSection;
  const relays = (scan.settings as ScanSection).auth?.trustedRelays ?? [];
  const admins = (notifications.settings as NotificationsSection).admins ?? [];
  const local = domains.items.filter((d) => d.local);
  return {
    mode: relays.length ? 'behind' : 'edge', trustedRelays: relays, relayHost: m.relayHost ?? '',
    hostname: m.hostname, trustedNetworks: m.trustedNetworks,
    domains: local.length ? local.map((d) => ({ name: d.name, route: d.route ?? '' })) : [{ name: '', route: '' }],
    adminEmail: admins[0] ?? '', admins, localDomains: local.map((d) => key(d.name)), allDomains: domains.items.map((d) => key(d.name)),
  };
}

const blank = (s: string | null | undefined) => (s && s.trim() ? s.trim() : null);

/** The field of the form a server-side field path points at (or undefined). */
function mtaField(p: ApiProblem): { step: StepKey; field: (string | number)[] } | undefined {
  const path = p.fields[0]?.path ?? '';
  if (/hostname/.test(path)) return { step: 'hostname', field: ['hostname'] };
  if (/trustedNetworks/.test(path)) return { step: 'networks', field: ['trustedNetworks'] };
  if (/relayHost/.test(path)) return { step: 'mode', field: ['relayHost'] };
  return undefined;
}

export async function applyWizard(v: WizardValues, cur: Current, onStep: (s: ApplyStep) => void): Promise<void> {
  const run = async (s: Omit<ApplyStep, 'state'>, fn: () => Promise<unknown>, where?: (p: ApiProblem) => { step: StepKey; field: (string | number)[] } | undefined) => {
    onStep({ ...s, state: 'running' });
    try {
      await fn();
      onStep({ ...s, state: 'done' });
    } catch (e) {
      const w = e instanceof ApiProblem ? where?.(e) : undefined;
      onStep({ ...s, state: 'error', ...(w ?? {}) });
      throw e;
    }
  };
  const behind = v.mode === 'behind';

  await run({ key: 'mta', label: 'Hostname, trusted networks and relay host', step: 'hostname' },
    () => call(api.PATCH('/api/v1/settings/{section}', { params: { path: { section: 'mta' } }, body: { settings: {
      hostname: v.hostname.trim(), trustedNetworks: v.trustedNetworks ?? [], relayHost: behind ? blank(v.relayHost) : null,
    } } })), mtaField);

  const wanted = (v.domains ?? []).filter((d) => d?.name?.trim());
  for (const [i, d] of wanted.entries()) {
    const name = key(d.name);
    const route = blank(d.route);
    const exists = cur.allDomains.includes(name);
    const where = (p: ApiProblem) => ({ step: 'domains' as const, field: ['domains', i, /route/.test(p.fields[0]?.path ?? '') ? 'route' : 'name'] });
    await run({ key: `domain:${name}`, label: `${exists ? 'Update' : 'Add'} the local domain ${name}`, step: 'domains', field: ['domains', i, 'name'] },
      () => exists
        ? call(api.PATCH('/api/v1/domains/{name}', { params: { path: { name } }, body: { local: true, route } }))
        : call(api.POST('/api/v1/domains', { body: { name, local: true, route } })), where);
  }
  const keep = new Set(wanted.map((d) => key(d.name)));
  for (const name of cur.localDomains.filter((n) => !keep.has(n))) {
    await run({ key: `domain-del:${name}`, label: `Remove the local domain ${name}`, step: 'domains' },
      () => call(api.DELETE('/api/v1/domains/{name}', { params: { path: { name }, query: {} } })));
  }

  const relays = behind ? v.trustedRelays ?? [] : [];
  await run({ key: 'scan', label: behind ? 'Edge gateway addresses (trusted relays)' : 'Edge mode: no trusted relays', step: 'mode', field: ['trustedRelays'] },
    () => call(api.PATCH('/api/v1/settings/{section}', { params: { path: { section: 'scan' } }, body: { settings: { auth: { trustedRelays: relays } } } })));

  const first = blank(v.adminEmail);
  const admins = [...(first ? [first] : []), ...cur.admins.slice(1).filter((a) => a.toLowerCase() !== first?.toLowerCase())];
  await run({ key: 'notifications', label: 'Administrator address for notifications', step: 'admin', field: ['adminEmail'] },
    () => call(api.PATCH('/api/v1/settings/{section}', { params: { path: { section: 'notifications' } }, body: { settings: { admins } } })));
}
