/**
 * The settings service: the settings document in force as an immutable snapshot, changes validated then stored
 * as a new version, and a watch that picks up versions written by other processes (the CLI, other nodes) within
 * a second. Readers take `snapshot()` once per unit of work (a session, a delivery) and keep it: a change never
 * mutates a snapshot someone holds.
 */
import { EventEmitter } from 'node:events';
import { settingsSchema, formatIssues, type Settings } from './settings-schema.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';

export class SettingsValidationError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid settings: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Validates a whole document; throws SettingsValidationError listing every problem with its path. */
export function validateSettings(doc: unknown): Settings {
  const r = settingsSchema.safeParse(doc ?? {});
  if (!r.success) throw new SettingsValidationError(formatIssues(r.error));
  return r.data;
}

function splitPath(path: string): string[] {
  const parts = path.split('.').filter(Boolean);
  if (!parts.length || parts.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) {
    throw new SettingsValidationError([`${path}: not a settings path`]);
  }
  return parts;
}

/** Reads `a.b.0.c` from a document; undefined when absent. */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const p of splitPath(path)) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** Returns a copy of `doc` with `path` set to `value`; the path must already exist up to its last segment. */
export function setPath(doc: unknown, path: string, value: unknown): unknown {
  const parts = splitPath(path);
  const root = structuredClone(doc) as Record<string, unknown>;
  let cur: Record<string, unknown> = root;
  for (const p of parts.slice(0, -1)) {
    const next = Object.hasOwn(cur, p) ? cur[p] : undefined;
    if (next === null || typeof next !== 'object') throw new SettingsValidationError([`${path}: no such settings path`]);
    cur = next as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (Array.isArray(cur) ? !/^\d+$/.test(last) || Number(last) > cur.length : !Object.hasOwn(cur, last)) {
    throw new SettingsValidationError([`${path}: no such settings path`]);
  }
  cur[last] = value;
  return root;
}

export interface Change { path: string; before: unknown; after: unknown }

/** Leaf-level differences between two documents (arrays of objects by index, arrays of scalars as a whole). */
export function diffSettings(before: unknown, after: unknown, prefix = ''): Change[] {
  const isObj = (v: unknown) => v !== null && typeof v === 'object';
  const scalarArray = (v: unknown) => Array.isArray(v) && v.every((x) => !isObj(x));
  if (isObj(before) && isObj(after) && !scalarArray(before) && !scalarArray(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = new Set([...Object.keys(before as object), ...Object.keys(after as object)]);
    const out: Change[] = [];
    for (const k of keys) {
      out.push(...diffSettings((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
    }
    return out;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: prefix || '(document)', before, after }];
}

export function formatChange(c: Change): string {
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return `${c.path}: ${show(c.before)} -> ${show(c.after)}`;
}

export class SettingsService extends EventEmitter<{ change: [Settings, number] }> {
  private readonly repo: SettingsRepo;
  private current: Settings;
  private currentVersion: number;
  /** The newest version in the store, when it (and maybe others) could not be used; new versions go on top. */
  private skippedVersion = 0;
  /** Why the newest stored version is not in force, when it is not. */
  problem: string | null = null;
  private timer: NodeJS.Timeout | undefined;

  private constructor(repo: SettingsRepo, settings: Settings, version: number) {
    super();
    this.repo = repo;
    this.current = deepFreeze(settings);
    this.currentVersion = version;
  }

  /** Loads the latest version; on an empty store validates and saves `seed` (or the defaults) as version 1. */
  static async open(repo: SettingsRepo, seed?: unknown, author = 'bootstrap'): Promise<SettingsService> {
    const latest = await repo.latest();
    if (latest) {
      // A newest version this code cannot use (written by a newer node, or by hand) must not stop the node: it
      // runs on the newest version that validates and says why; the next change is stored on top.
      for (let v = latest.version; v > 0; v--) {
        const doc = v === latest.version ? latest : await repo.get(v);
        if (!doc) continue;
        try {
          const svc = new SettingsService(repo, validateSettings(doc.document), doc.version);
          if (v !== latest.version) {
            svc.skippedVersion = latest.version;
            svc.problem = `settings version ${latest.version} is not valid here; running on version ${v}`;
          }
          return svc;
        } catch (err) {
          if (!(err instanceof SettingsValidationError)) throw err;
        }
      }
      throw new SettingsValidationError([`no stored settings version is valid (newest: ${latest.version})`]);
    }
    const settings = validateSettings(seed ?? {});
    try {
      const version = await repo.save(settings, author, 0);
      return new SettingsService(repo, settings, version);
    } catch {
      // Another node seeded the store at the same moment: take its version.
      const again = await repo.latest();
      if (!again) throw new Error('settings store is empty and could not be seeded');
      return new SettingsService(repo, validateSettings(again.document), again.version);
    }
  }

  snapshot(): Settings { return this.current; }
  get version(): number { return this.currentVersion; }

  /** Validates and stores a whole new document; returns the changes made (none stored when empty). */
  async replace(doc: unknown, author: string): Promise<Change[]> {
    const next = validateSettings(doc);
    const changes = diffSettings(this.current, next);
    if (!changes.length) return changes;
    const version = await this.repo.save(next, author, Math.max(this.currentVersion, this.skippedVersion));
    this.problem = null;
    this.apply(next, version);
    return changes;
  }

  async set(path: string, value: unknown, author: string): Promise<Change[]> {
    await this.refresh();
    return this.replace(setPath(this.current, path, value), author);
  }

  get(path: string): unknown {
    return getPath(this.current, path);
  }

  /** Reloads when the store holds a newer version than ours. */
  async refresh(): Promise<boolean> {
    const v = await this.repo.latestVersion();
    if (v === this.currentVersion || v === this.skippedVersion) return false;
    const latest = await this.repo.latest();
    if (!latest) return false;
    let next: Settings;
    try {
      next = validateSettings(latest.document);
    } catch (err) {
      // Reported once; the settings in force stay, and the next valid change goes on top of the bad version.
      this.skippedVersion = latest.version;
      this.problem = `settings version ${latest.version} is not valid here: ${(err as Error).message}`;
      throw err;
    }
    this.problem = null;
    this.apply(next, latest.version);
    return true;
  }

  /** Polls the store for versions written elsewhere; `onError` hears about an unreachable store. */
  watch(intervalMs = 1000, onError?: (err: unknown) => void): void {
    this.unwatch();
    this.timer = setInterval(() => { this.refresh().catch((err) => onError?.(err)); }, intervalMs);
    this.timer.unref();
  }

  unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private apply(settings: Settings, version: number): void {
    this.current = deepFreeze(settings);
    this.currentVersion = version;
    this.emit('change', this.current, version);
  }
}
