/**
 * Per-message state shared by the MIME walk and the enrichment pass: limits, the LimitHits reported so far,
 * the part counter and unique paths, the temporary store, the in-memory total and the container unpack budget.
 * Hostile input: none directly; this is where the limits that protect against it are counted.
 * Limits: parts per message (every node: MIME parts, archive members, uuencoded files, attached messages),
 * nesting depth, and at most 100 'malformed' LimitHits per message (the other kinds are always recorded).
 */
import type { LimitHit, Part } from '../types.ts';
import type { ModelLimits } from './mime.ts';
import { MemoryBudget, TempStore, type SinkEnv } from './sink.ts';

/** A part and its children while the tree is being built (flattened depth-first at the end). */
export interface TreeNode {
  part: Part;
  children: TreeNode[];
  /** MIME leaves only: what the enrichment pass needs from their headers. */
  mime?: { cte: string };
}

export const UNKNOWN_TYPE: Part['trueType'] = { category: 'other', label: 'unknown' };
const MAX_HITS = 100;

export class ModelContext implements SinkEnv {
  readonly limits: ModelLimits;
  readonly signal: AbortSignal;
  readonly temp: TempStore;
  readonly memory: MemoryBudget;
  readonly maxPartInMemory: number;
  /** One unpack budget for every container of the message. */
  readonly budget = { unpacked: 0 };
  readonly hits: LimitHit[] = [];
  private readonly hitKeys = new Set<string>();
  private readonly paths = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  private count = 0;

  constructor(limits: ModelLimits, signal: AbortSignal) {
    this.limits = limits;
    this.signal = signal;
    this.temp = new TempStore(limits.tempDir);
    this.memory = new MemoryBudget(limits.maxInMemoryTotal);
    this.maxPartInMemory = limits.maxPartInMemory;
  }

  /** Records a limit once per (limit, detail); 'malformed' details stop being added after MAX_HITS. */
  hit(limit: LimitHit['limit'], detail: string, part?: string): void {
    const key = `${limit}\0${detail}`;
    if (this.hitKeys.has(key) || (limit === 'malformed' && this.hits.length >= MAX_HITS)) return;
    this.hitKeys.add(key);
    this.hits.push(part === undefined ? { limit, detail } : { limit, part, detail });
  }

  /** True once the deadline has passed (recorded as a 'time' LimitHit). */
  get aborted(): boolean {
    if (!this.signal.aborted) return false;
    this.hit('time', 'deadline reached while building the message model');
    return true;
  }

  /** How many more parts the message may have. */
  get partsLeft(): number { return Math.max(0, this.limits.maxParts - this.count); }

  /**
   * A new part at `path` (made unique), or null when the depth or part limit forbids it (then recorded).
   * `where` names the nearest existing part for the LimitHit.
   */
  newPart(fields: Omit<Part, 'trueType'>, where: string): Part | null {
    if (fields.depth > this.limits.maxDepth) {
      this.hit('depth', `nesting deeper than ${this.limits.maxDepth} levels`, where);
      return null;
    }
    if (this.count >= this.limits.maxParts) {
      this.hit('parts', `more than ${this.limits.maxParts} parts`, where);
      return null;
    }
    this.count++;
    return { ...fields, path: this.uniquePath(fields.path), trueType: { ...UNKNOWN_TYPE } };
  }

  private uniquePath(path: string): string {
    let p = path;
    let i = this.nextSuffix.get(path) ?? 2;
    while (this.paths.has(p)) p = `${path}~${i++}`;
    if (p !== path) this.nextSuffix.set(path, i);
    this.paths.add(p);
    return p;
  }
}
