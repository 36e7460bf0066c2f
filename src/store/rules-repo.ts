/**
 * Processing rules in the store (SPEC §2), shared by every node of a cluster. Positions are 1..n without gaps,
 * top to bottom; `Default` is always last. Every input is validated by policy/schema.ts before it is written.
 *
 * Presets: AllowList, DenyList and Default are created on first use (any method), idempotently, also when
 * several nodes or CLI commands start at once. None of them can be deleted or renamed: a disabled AllowList or
 * DenyList costs nothing and keeps the anchors the console, the docs and imports rely on. AllowList and DenyList
 * can be edited, moved, enabled and disabled like any rule. Default can have its mode, description and modules
 * edited; it cannot be moved, disabled or given senders or recipients.
 *
 * Concurrency: every change runs in one transaction that first takes the rules write lock (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: LOCK TABLE … SHARE ROW EXCLUSIVE, which readers do not wait for), reads the current
 * order under it and writes the new one, so two writers never interleave. `updated_at` only grows (at least
 * the previous maximum + 1), so changeStamp() tells a node that the rules changed.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Database, RuleTable } from './schema.ts';
import type { Rule } from '../policy/types.ts';
import { PRESETS, type Preset } from '../policy/types.ts';
import { defaultRules } from '../policy/presets.ts';
import { mergeRuleInput, newRuleDoc, validateRuleDoc, RuleValidationError, type RuleDoc } from '../policy/schema.ts';

/** A rule as stored: a policy Rule plus when it last changed (ms since the epoch). */
export interface StoredRule extends Rule { updatedAt: number }

/** A rule named by its id (a number, or a string of digits) or its name (exact, else ignoring case). */
export type RuleRef = number | string;

export type MoveTarget = { to: number } | { above: RuleRef } | { below: RuleRef };

export class RuleNotFoundError extends Error {
  constructor(ref: RuleRef) { super(`no rule ${typeof ref === 'number' || /^\d+$/.test(ref) ? `with id ${ref}` : JSON.stringify(ref)}`); }
}

/** A change the rules' invariants forbid (preset protections, duplicate names, impossible moves). */
export class RuleRefusedError extends Error {}

/** One difference an import makes (or would make). */
export interface RuleChange {
  kind: 'add' | 'delete' | 'change' | 'order';
  /** The rule's name ('' for `order`). */
  rule: string;
  /** For `change`: the path inside the rule, e.g. `modules.antispam.blocks.0.tag`. */
  path?: string;
  before?: unknown;
  after?: unknown;
}

type Row = RuleTable & { id: number };

function fromRow(r: Row): StoredRule {
  const rule: StoredRule = {
    id: r.id, name: r.name, description: r.description, enabled: Number(r.enabled) === 1, position: r.position, mode: r.mode as Rule['mode'],
    senders: JSON.parse(r.senders), recipients: JSON.parse(r.recipients), modules: JSON.parse(r.modules), updatedAt: Number(r.updated_at),
  };
  if (r.preset) rule.preset = r.preset as Preset;
  // Banner, disclaimer, BCC and header edits (migration 0010): one JSON object, null when none is set.
  if (r.extras) Object.assign(rule, pickExtras(JSON.parse(r.extras) as Partial<Rule>));
  return rule;
}

/** The per-rule settings kept in the `extras` column, only those that are set. */
function pickExtras(r: Partial<Rule>): Partial<Pick<Rule, 'banner' | 'disclaimer' | 'bcc' | 'headers'>> {
  return {
    ...(r.banner ? { banner: r.banner } : {}), ...(r.disclaimer ? { disclaimer: r.disclaimer } : {}),
    ...(r.bcc?.length ? { bcc: r.bcc } : {}), ...(r.headers ? { headers: r.headers } : {}),
  };
}

/** The exchangeable document of a rule (no id, position or time): what export writes and import reads. */
export function ruleToDoc(r: Rule): RuleDoc {
  return { name: r.name, ...(r.preset ? { preset: r.preset } : {}), description: r.description, enabled: r.enabled, mode: r.mode, senders: r.senders, recipients: r.recipients, modules: r.modules, ...pickExtras(r) };
}

function columns(doc: RuleDoc): Omit<RuleTable, 'id' | 'position' | 'updated_at'> {
  const extras = pickExtras(doc);
  return {
    name: doc.name, description: doc.description, enabled: doc.enabled ? 1 : 0, mode: doc.mode,
    senders: JSON.stringify(doc.senders), recipients: JSON.stringify(doc.recipients), modules: JSON.stringify(doc.modules), preset: doc.preset ?? null,
    extras: Object.keys(extras).length ? JSON.stringify(extras) : null,
  };
}

/** Leaf differences between two JSON values (arrays of scalars compared whole). */
function diff(before: unknown, after: unknown, prefix: string, out: { path: string; before: unknown; after: unknown }[]): void {
  const obj = (v: unknown) => v !== null && typeof v === 'object';
  const scalars = (v: unknown) => Array.isArray(v) && v.every((x) => !obj(x));
  if (obj(before) && obj(after) && !scalars(before) && !scalars(after) && Array.isArray(before) === Array.isArray(after)) {
    for (const k of new Set([...Object.keys(before as object), ...Object.keys(after as object)])) {
      diff((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    out.push({ path: prefix, before, after });
  }
}

/** Leaf-level differences between two rule documents. */
export function diffRules(before: RuleDoc, after: RuleDoc): { path: string; before: unknown; after: unknown }[] {
  const out: { path: string; before: unknown; after: unknown }[] = [];
  diff(before, after, '', out);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export class RulesRepo {
  private readonly db: Kysely<Database>;
  private readonly postgres: boolean;
  private seeded: Promise<void> | undefined;

  constructor(db: Kysely<Database>) {
    this.db = db;
    this.postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  /** Runs `fn` in a transaction holding the rules write lock. */
  private async write<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.postgres) {
      return this.db.transaction().execute(async (tx) => {
        await sql`LOCK TABLE rules IN SHARE ROW EXCLUSIVE MODE`.execute(tx);
        return fn(tx);
      });
    }
    // Kysely's SQLite transactions start with a deferred BEGIN: two processes that both read and then write
    // fail with SQLITE_BUSY instead of waiting. BEGIN IMMEDIATE takes the write lock first (busy_timeout waits).
    return this.db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const r = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return r;
      } catch (err) {
        await sql`ROLLBACK`.execute(conn).catch(() => {});
        throw err;
      }
    });
  }

  private async rows(db: Kysely<Database>): Promise<StoredRule[]> {
    const rows = await db.selectFrom('rules').selectAll().orderBy('position').orderBy('id').execute();
    return (rows as Row[]).map(fromRow);
  }

  /** A time for this change: `now`, or later than every stored change. */
  private async stampTime(db: Kysely<Database>, now: number): Promise<number> {
    const r = await db.selectFrom('rules').select((eb) => eb.fn.max('updated_at').as('t')).executeTakeFirst();
    return Math.max(now, Number(r?.t ?? 0) + 1);
  }

  /** Writes positions 1..n in the given order (only rows whose position changes are touched). */
  private async renumber(db: Kysely<Database>, order: StoredRule[], t: number): Promise<void> {
    // Default last, whatever the caller built.
    const sorted = [...order.filter((r) => r.preset !== 'Default'), ...order.filter((r) => r.preset === 'Default')];
    for (const [i, r] of sorted.entries()) {
      if (r.position !== i + 1) await db.updateTable('rules').set({ position: i + 1, updated_at: t }).where('id', '=', r.id).execute();
      r.position = i + 1;
    }
  }

  private find(list: StoredRule[], ref: RuleRef): StoredRule | undefined {
    if (typeof ref === 'number' || /^\d+$/.test(ref)) return list.find((r) => r.id === Number(ref));
    return list.find((r) => r.name === ref) ?? list.find((r) => r.name.toLowerCase() === ref.toLowerCase());
  }

  private need(list: StoredRule[], ref: RuleRef): StoredRule {
    const r = this.find(list, ref);
    if (!r) throw new RuleNotFoundError(ref);
    return r;
  }

  private checkName(list: StoredRule[], name: string, self?: number): void {
    const other = list.find((r) => r.id !== self && r.name.toLowerCase() === name.toLowerCase());
    if (other) throw new RuleRefusedError(`a rule named ${JSON.stringify(other.name)} exists (id ${other.id})`);
  }

  private async insert(db: Kysely<Database>, doc: RuleDoc, position: number, t: number): Promise<number> {
    const r = await db.insertInto('rules').values({ ...columns(doc), position, updated_at: t }).returning('id').executeTakeFirstOrThrow();
    return Number(r.id);
  }

  /** Creates the missing presets (AllowList and DenyList at the top, Default last). Idempotent. */
  async ensurePresets(now = Date.now()): Promise<void> {
    const have = await this.db.selectFrom('rules').select((eb) => eb.fn.countAll().as('n')).where('preset', 'is not', null).executeTakeFirst();
    if (Number(have?.n ?? 0) === PRESETS.length) return;
    await this.write(async (tx) => {
      const list = await this.rows(tx);
      const missing = defaultRules().filter((p) => !list.some((r) => r.preset === p.preset));
      if (!missing.length) return;
      const t = await this.stampTime(tx, now);
      const top: StoredRule[] = [];
      for (const p of missing) {
        const { id: _id, position: _pos, ...doc } = p;
        const id = await this.insert(tx, doc, 0, t);
        const stored: StoredRule = { ...p, id, position: 0, updatedAt: t };
        if (p.preset === 'Default') list.push(stored); else top.push(stored);
      }
      await this.renumber(tx, [...top, ...list], t);
    });
  }

  private ready(): Promise<void> {
    this.seeded ??= this.ensurePresets().catch((err) => { this.seeded = undefined; throw err; });
    return this.seeded;
  }

  /** All rules, top to bottom (Default last). */
  async list(): Promise<StoredRule[]> {
    await this.ready();
    return this.rows(this.db);
  }

  async get(ref: RuleRef): Promise<StoredRule | undefined> {
    return this.find(await this.list(), ref);
  }

  /**
   * Something that changes whenever any rule is added, changed, moved or deleted: nodes poll it and reload
   * the list when it differs.
   */
  async changeStamp(): Promise<string> {
    await this.ready();
    const r = await this.db.selectFrom('rules')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('id').as('id'), eb.fn.max('updated_at').as('t')]).executeTakeFirst();
    return `${Number(r?.n ?? 0)}:${Number(r?.id ?? 0)}:${Number(r?.t ?? 0)}`;
  }

  /**
   * Creates a rule from input (a partial rule document over the shipped settings, see policy mergeRuleInput),
   * placed last above Default. Throws RuleValidationError or RuleRefusedError (name taken).
   */
  async create(input: unknown, now = Date.now()): Promise<StoredRule> {
    await this.ready();
    const doc = validateRuleDoc(mergeRuleInput(newRuleDoc(''), input));
    return this.write(async (tx) => {
      const list = await this.rows(tx);
      this.checkName(list, doc.name);
      const t = await this.stampTime(tx, now);
      const id = await this.insert(tx, doc, list.length + 1, t);
      const created: StoredRule = { ...doc, id, position: list.length + 1, updatedAt: t };
      await this.renumber(tx, [...list, created], t);
      return created;
    });
  }

  /**
   * Changes a rule: `input` (a partial rule document) is merged over the rule as stored. Returns the rule before
   * and after; nothing is written when nothing changes.
   */
  async update(ref: RuleRef, input: unknown, now = Date.now()): Promise<{ before: StoredRule; after: StoredRule; changed: boolean }> {
    await this.ready();
    return this.write(async (tx) => {
      const list = await this.rows(tx);
      const before = this.need(list, ref);
      const doc = validateRuleDoc(mergeRuleInput(ruleToDoc(before), input));
      if (!diffRules(ruleToDoc(before), doc).length) return { before, after: before, changed: false };
      this.checkName(list, doc.name, before.id);
      const t = await this.stampTime(tx, now);
      await tx.updateTable('rules').set({ ...columns(doc), updated_at: t }).where('id', '=', before.id).execute();
      return { before, after: { ...doc, id: before.id, position: before.position, updatedAt: t }, changed: true };
    });
  }

  /** Deletes a rule (never a preset); returns it. */
  async remove(ref: RuleRef, now = Date.now()): Promise<StoredRule> {
    await this.ready();
    return this.write(async (tx) => {
      const list = await this.rows(tx);
      const r = this.need(list, ref);
      if (r.preset) throw new RuleRefusedError(`the ${r.preset} rule cannot be deleted${r.preset === 'Default' ? '' : ' (disable it instead)'}`);
      await tx.deleteFrom('rules').where('id', '=', r.id).execute();
      await this.renumber(tx, list.filter((x) => x.id !== r.id), await this.stampTime(tx, now));
      return r;
    });
  }

  /**
   * Moves a rule to a position (1 = top; at most the last position above Default) or just above / below another
   * rule. Default cannot move and nothing goes below it. Returns the rule with its new position.
   */
  async move(ref: RuleRef, target: MoveTarget, now = Date.now()): Promise<StoredRule> {
    await this.ready();
    return this.write(async (tx) => {
      const list = await this.rows(tx);
      const r = this.need(list, ref);
      if (r.preset === 'Default') throw new RuleRefusedError('the Default rule cannot be moved: it is always last');
      const others = list.filter((x) => x.id !== r.id && x.preset !== 'Default');
      let index: number;
      if ('to' in target) {
        const last = others.length + 1;
        if (!Number.isInteger(target.to) || target.to < 1 || target.to > last) {
          throw new RuleRefusedError(`position must be 1..${last} (the Default rule stays last, at ${last + 1})`);
        }
        index = target.to - 1;
      } else {
        const anchorRef = 'above' in target ? target.above : target.below;
        const anchor = this.need(list, anchorRef);
        if (anchor.id === r.id) throw new RuleRefusedError('a rule cannot be moved relative to itself');
        if (anchor.preset === 'Default') {
          if ('below' in target) throw new RuleRefusedError('nothing can be below the Default rule');
          index = others.length;
        } else {
          index = others.findIndex((x) => x.id === anchor.id) + ('below' in target ? 1 : 0);
        }
      }
      const order = [...others.slice(0, index), r, ...others.slice(index), ...list.filter((x) => x.preset === 'Default')];
      if (order.every((x, i) => x.position === i + 1)) return r;
      const t = await this.stampTime(tx, now);
      await this.renumber(tx, order, t);
      return { ...r, updatedAt: t };
    });
  }

  /** Enables or disables a rule (Default cannot be disabled). Returns the rule and whether it changed. */
  async setEnabled(ref: RuleRef, enabled: boolean, now = Date.now()): Promise<{ rule: StoredRule; changed: boolean }> {
    await this.ready();
    return this.write(async (tx) => {
      const r = this.need(await this.rows(tx), ref);
      if (r.preset === 'Default' && !enabled) throw new RuleRefusedError('the Default rule cannot be disabled');
      if (r.enabled === enabled) return { rule: r, changed: false };
      const t = await this.stampTime(tx, now);
      await tx.updateTable('rules').set({ enabled: enabled ? 1 : 0, updated_at: t }).where('id', '=', r.id).execute();
      return { rule: { ...r, enabled, updatedAt: t }, changed: true };
    });
  }

  /**
   * Plans an import of `docs` (the `rules:` list of a settings document) over `current`: the non-preset rules
   * become exactly those of the list, in its order (a rule whose name is already used is changed in place and
   * keeps its id); presets, named by `preset:` or by their name, are changed in place (modules, and for
   * AllowList/DenyList also their criteria, mode, enabled flag and description); presets the list leaves out stay
   * as they are, AllowList and DenyList above the listed rules in their current order; Default stays last. Every problem is reported
   * with its path (`rules.2.senders.0: …`) before anything is written.
   */
  private plan(current: StoredRule[], docs: unknown): { order: (RuleDoc & { id?: number })[]; changes: RuleChange[] } {
    if (!Array.isArray(docs)) throw new RuleValidationError(['rules: expected a list of rules']);
    const problems: string[] = [];
    const seen = new Map<string, number>();
    const target: (RuleDoc & { id?: number })[] = [];
    docs.forEach((input, i) => {
      const given = isObject(input) ? input : {};
      const presetName = (typeof given.preset === 'string' ? given.preset : (PRESETS as readonly string[]).includes(given.name as string) ? given.name : undefined) as string | undefined;
      let doc: RuleDoc;
      try {
        if (presetName !== undefined) {
          const existing = current.find((r) => r.preset === presetName);
          if (!existing) throw new RuleValidationError([`preset: no preset rule ${JSON.stringify(presetName)} (AllowList, DenyList, Default)`]);
          doc = validateRuleDoc(mergeRuleInput(ruleToDoc(existing), input));
        } else {
          doc = validateRuleDoc(mergeRuleInput(newRuleDoc(''), input));
        }
      } catch (err) {
        if (!(err instanceof RuleValidationError)) throw err;
        problems.push(...err.problems.map((p) => (p.startsWith('(rule): ') ? `rules.${i}: ${p.slice(8)}` : `rules.${i}.${p}`)));
        return;
      }
      const key = doc.name.toLowerCase();
      if (seen.has(key)) { problems.push(`rules.${i}.name: ${JSON.stringify(doc.name)} is also rules.${seen.get(key)}`); return; }
      seen.set(key, i);
      const same = doc.preset ? current.find((r) => r.preset === doc.preset) : current.find((r) => !r.preset && r.name.toLowerCase() === key);
      target.push(same ? { ...doc, id: same.id } : doc);
    });
    if (problems.length) throw new RuleValidationError(problems);

    // AllowList / DenyList the list leaves out: unchanged, at the top, in their current order.
    const leftOut = current.filter((r) => (r.preset === 'AllowList' || r.preset === 'DenyList') && !target.some((x) => x.preset === r.preset));
    target.unshift(...leftOut.map((r) => ({ ...ruleToDoc(r), id: r.id })));
    const def = current.find((x) => x.preset === 'Default');
    const order = [...target.filter((x) => x.preset !== 'Default'), target.find((x) => x.preset === 'Default') ?? (def && { ...ruleToDoc(def), id: def.id })]
      .filter((x): x is RuleDoc & { id?: number } => x !== undefined);

    const changes: RuleChange[] = [];
    for (const d of order) {
      const before = d.id === undefined ? undefined : current.find((r) => r.id === d.id);
      if (!before) { changes.push({ kind: 'add', rule: d.name }); continue; }
      const { id: _id, ...doc } = d;
      for (const c of diffRules(ruleToDoc(before), doc)) changes.push({ kind: 'change', rule: before.name, ...c });
    }
    for (const r of current) if (!order.some((d) => d.id === r.id)) changes.push({ kind: 'delete', rule: r.name });
    const kept = (names: { id?: number; name: string }[]) => names.filter((x) => x.id !== undefined && current.some((r) => r.id === x.id) && order.some((d) => d.id === x.id));
    const beforeOrder = kept(current).map((x) => x.name);
    const afterOrder = kept(order).map((x) => current.find((r) => r.id === x.id)!.name);
    if (JSON.stringify(beforeOrder) !== JSON.stringify(afterOrder)) changes.push({ kind: 'order', rule: '', before: beforeOrder, after: afterOrder });
    return { order, changes };
  }

  /** The changes importing `docs` would make (see plan); nothing is written. */
  async planImport(docs: unknown): Promise<RuleChange[]> {
    return this.plan(await this.list(), docs).changes;
  }

  /** Imports `docs` (see plan) in one transaction; returns the changes made. */
  async importRules(docs: unknown, now = Date.now()): Promise<RuleChange[]> {
    await this.ready();
    // Validation before taking the lock, so a refused import waits for nobody; the plan is made again under it.
    this.plan(await this.rows(this.db), docs);
    return this.write(async (tx) => {
      const current = await this.rows(tx);
      const { order, changes } = this.plan(current, docs);
      if (!changes.length) return changes;
      const t = await this.stampTime(tx, now);
      const keep = new Set(order.map((d) => d.id).filter((id) => id !== undefined));
      for (const r of current) if (!keep.has(r.id)) await tx.deleteFrom('rules').where('id', '=', r.id).execute();
      // Kept rules are matched by name, so no name changes hands here (only its case may change).
      const placed: StoredRule[] = [];
      for (const d of order) {
        const { id, ...doc } = d;
        const before = id === undefined ? undefined : current.find((r) => r.id === id)!;
        if (!before) {
          const newId = await this.insert(tx, doc, 0, t);
          placed.push({ ...doc, id: newId, position: 0, updatedAt: t });
          continue;
        }
        if (diffRules(ruleToDoc(before), doc).length) await tx.updateTable('rules').set({ ...columns(doc), updated_at: t }).where('id', '=', before.id).execute();
        placed.push({ ...doc, id: before.id, position: before.position, updatedAt: t });
      }
      await this.renumber(tx, placed, t);
      return changes;
    });
  }
}
