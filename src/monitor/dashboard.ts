/**
 * Dashboard statistics queries (SPEC §6 dashboard): processed messages by action, detections per module and
 * per-module status breakdowns, over a period, for one node or all, as totals or as a series over time.
 *
 * The bucket level comes from the period (buckets.ts levelFor: minutes up to 6 h, hours up to 31 days, days
 * beyond, and never a level whose retention no longer covers the start). A series step is a whole multiple of
 * the level's bucket (rounded up; default one bucket, widened so a series has at most 1,000 points); points are
 * aligned to the step from the epoch (UTC), and every point of the period is present (zeros included).
 *
 * Hostile input: queries come from the API's query strings; statsQuerySchema validates them (finite times,
 * from < to, a period of at most 10 years, node names of at most 255 characters).
 */
import { z } from 'zod';
import { MODULES, STATUSES, type ModuleName } from '../scan/types.ts';
import type { Clock } from '../platform/clock.ts';
import type { StatsRepo } from '../store/stats-repo.ts';
import { COUNTED_ACTIONS, DETECTION_STATUSES, LEVEL_MS, bucketStart, levelFor, parseKey, type Level } from './buckets.ts';

export const MAX_POINTS = 1000;

export const statsQuerySchema = z.object({
  /** Start of the period, ms since the epoch (inclusive). */
  from: z.number().int().min(0),
  /** End of the period, ms (exclusive); default now. */
  to: z.number().int().min(1).optional(),
  /** Only this node; default all nodes. */
  node: z.string().min(1).max(255).optional(),
  /** Series step in ms (rounded up to a whole number of buckets). */
  step: z.number().int().min(1).optional(),
  /** Force a bucket level instead of choosing it from the period. */
  level: z.enum(['minute', 'hour', 'day']).optional(),
}).strict().refine((q) => q.to === undefined || q.to > q.from, 'to must be after from')
  .refine((q) => (q.to ?? Date.now()) - q.from <= 10 * 366 * 86_400_000, 'period longer than 10 years');

export type StatsQuery = z.input<typeof statsQuerySchema>;

export type ActionCounts = Record<(typeof COUNTED_ACTIONS)[number], number>;
export type ModuleCounts = { [M in ModuleName]: Record<string, number> };

/** Counts of one period or one point of a series. */
export interface Counts {
  messages: number;
  bytes: number;
  actions: ActionCounts;
  /** Per module, every SPEC status (zeros included) plus `other` when something outside it was counted. */
  modules: ModuleCounts;
}

export interface ModuleSummary {
  /** Sum of the detection statuses (buckets.ts DETECTION_STATUSES). */
  detections: number;
  errors: number;
  notScanned: number;
  /** Everything counted for the module (one per traffic event). */
  total: number;
  statuses: Record<string, number>;
}

export interface Totals extends Counts {
  from: number;
  to: number;
  level: Level;
  node: string | null;
  detections: { [M in ModuleName]: ModuleSummary };
  /** The same counts per node (all nodes that counted anything in the period). */
  byNode: Record<string, Counts>;
}

export interface Series {
  from: number;
  to: number;
  level: Level;
  step: number;
  node: string | null;
  points: ({ time: number } & Counts)[];
}

export function emptyCounts(): Counts {
  const modules = {} as ModuleCounts;
  for (const m of MODULES) modules[m] = Object.fromEntries(STATUSES[m].map((s) => [s, 0]));
  return { messages: 0, bytes: 0, actions: Object.fromEntries(COUNTED_ACTIONS.map((a) => [a, 0])) as ActionCounts, modules };
}

function addKey(c: Counts, key: string, n: number): void {
  const k = parseKey(key);
  if (!k) return;
  if (k.kind === 'messages') c.messages += n;
  else if (k.kind === 'bytes') c.bytes += n;
  else if (k.kind === 'action') { if (k.action in c.actions) c.actions[k.action as keyof ActionCounts] += n; }
  else if (k.kind === 'module' && (MODULES as readonly string[]).includes(k.module)) {
    const m = c.modules[k.module as ModuleName];
    m[k.status] = (m[k.status] ?? 0) + n;
  }
}

export function summarize(c: Counts): { [M in ModuleName]: ModuleSummary } {
  const out = {} as { [M in ModuleName]: ModuleSummary };
  for (const m of MODULES) {
    const st = c.modules[m];
    out[m] = {
      detections: DETECTION_STATUSES[m].reduce((s, x) => s + (st[x] ?? 0), 0),
      errors: st.error ?? 0,
      notScanned: st.not_scanned ?? 0,
      total: Object.values(st).reduce((s, x) => s + x, 0),
      statuses: { ...st },
    };
  }
  return out;
}

export class DashboardStats {
  private readonly repo: Pick<StatsRepo, 'byBucket' | 'byNode' | 'nodes'>;
  private readonly clock: Clock;

  constructor(repo: Pick<StatsRepo, 'byBucket' | 'byNode' | 'nodes'>, clock: Clock = { now: () => Date.now() }) {
    this.repo = repo;
    this.clock = clock;
  }

  private resolve(input: StatsQuery): { from: number; to: number; node?: string; level: Level; step: number } {
    const q = statsQuerySchema.parse(input);
    const to = q.to ?? this.clock.now() + 1;
    if (to <= q.from) throw new z.ZodError([{ code: 'custom', path: ['from'], message: 'from must be in the past', input: q.from }]);
    const level = q.level ?? levelFor(q.from, to, this.clock.now());
    const w = LEVEL_MS[level];
    let step = Math.ceil((q.step ?? w) / w) * w;
    const span = to - Math.floor(q.from / step) * step;
    if (span / step > MAX_POINTS) step = Math.ceil(span / MAX_POINTS / w) * w;
    return { from: q.from, to, node: q.node, level, step };
  }

  /** Totals over the period, with per-module detections and the same counts per node. */
  async totals(input: StatsQuery): Promise<Totals> {
    const q = this.resolve(input);
    // Whole buckets: the bucket holding `from` counts, as does every bucket that starts before `to`.
    const rows = await this.repo.byNode({ level: q.level, from: bucketStart(q.level, q.from), to: q.to, node: q.node });
    const all = emptyCounts();
    const byNode: Record<string, Counts> = {};
    for (const r of rows) {
      addKey(all, r.key, r.count);
      addKey((byNode[r.node] ??= emptyCounts()), r.key, r.count);
    }
    return { from: q.from, to: q.to, level: q.level, node: q.node ?? null, ...all, detections: summarize(all), byNode };
  }

  /** Counts per step over the period (oldest first, every step present). */
  async series(input: StatsQuery): Promise<Series> {
    const q = this.resolve(input);
    const first = Math.floor(q.from / q.step) * q.step;
    const points: ({ time: number } & Counts)[] = [];
    for (let t = first; t < q.to; t += q.step) points.push({ time: t, ...emptyCounts() });
    const rows = await this.repo.byBucket({ level: q.level, from: first, to: q.to, node: q.node });
    for (const r of rows) {
      const i = Math.floor((r.bucket - first) / q.step);
      if (i >= 0 && i < points.length) addKey(points[i], r.key, r.count);
    }
    return { from: first, to: q.to, level: q.level, step: q.step, node: q.node ?? null, points };
  }

  /** Nodes with statistics in the last `days` days (for the dashboard's node filter). */
  nodes(days = 90): Promise<string[]> {
    return this.repo.nodes('day', this.clock.now() - days * 86_400_000);
  }
}
