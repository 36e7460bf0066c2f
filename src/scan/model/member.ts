/**
 * Container members and the limits that guard their extraction: the shared unpacked-bytes budget, the member
 * counts, the per-entry compression ratio, the deadline (AbortSignal) and the in-memory cap per member.
 *
 * Hostile input: every byte a decompressor or an external tool produces. `collect()` is the one place that turns
 * such a stream into a member, and it counts each chunk as it arrives (never a declared size), so a zip bomb is
 * stopped after at most one chunk past the budget, and memory stays at `maxMemberInMemory` per member plus one
 * chunk: bigger members are spilled to a temporary file with a random name in `tempDir` (never a member name).
 * Temporary files of returned members (also of `ContainerLimitError.partial`) belong to the caller, whose model
 * dispose removes `tempDir`; a file being written when a limit hits is removed here.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Content } from './source.ts';

export interface Member {
  /** Member name as stored (decoded to a string); may contain `..`, `/`, control characters: it is only a label. */
  name: string;
  content: Content;
  /** Bytes in `content`; for encrypted members (content empty) the size the archive declares. */
  size: number;
  encrypted: boolean;
  /**
   * Set when the member's data could not be (fully) read: an unsupported compression method, corrupt or
   * truncated data, an extraction tool failure. `content` then holds what was recovered (possibly nothing).
   * Treat it as a `malformed` limit for that member.
   */
  error?: string;
}

export interface ExpandLimits {
  /** Members per container (this level). */
  maxMembers: number;
  /** Total bytes produced, shared through the budget across nested levels. */
  maxUnpackedBytes: number;
  /** Members up to this size stay in memory; bigger ones go to a temporary file. */
  maxMemberInMemory: number;
  /** Directory for temporary member files (created if missing). */
  tempDir: string;
  /** Abort = deadline passed: expansion stops with ContainerLimitError('time'). */
  signal: AbortSignal;
  /**
   * Per-entry cap on unpacked/packed size where the packed size is known (zip, gzip); checked once an entry
   * passes 1 MiB. Default 1000 (deflate cannot exceed ~1032:1, so only runs of one byte trip it); 0 disables.
   */
  maxRatio?: number;
  /** Members across all levels sharing the budget (counted in `budget.members`). Default: no total cap. */
  maxTotalMembers?: number;
  /** Path of the `7z` program for 7z/rar/cab/iso/bzip2/xz; default: `7z` found on PATH; '' disables. */
  sevenZip?: string;
}

/** Shared counters for nested expansion: pass the same object to every level of one message. */
export interface Budget {
  unpacked: number;
  members?: number;
}

/** `unsupported`: a format only the external `7z` program opens, and it is not installed (or cannot run). */
export type ContainerLimit = 'members' | 'unpacked_bytes' | 'time' | 'malformed' | 'unsupported';

export class ContainerLimitError extends Error {
  readonly limit: ContainerLimit;
  /** Members completed before the limit was hit (still worth scanning; their temporary files are the caller's). */
  partial: Member[];
  constructor(limit: ContainerLimit, message: string, partial: Member[] = []) {
    super(message);
    this.name = 'ContainerLimitError';
    this.limit = limit;
    this.partial = partial;
  }
}

export const DEFAULT_MAX_RATIO = 1000;
const RATIO_FLOOR = 1024 * 1024;

/** State of one expand() call. */
export class ExpandContext {
  readonly limits: ExpandLimits;
  readonly budget: Budget;
  readonly members: Member[] = [];
  private dirReady = false;
  constructor(limits: ExpandLimits, budget: Budget) {
    this.limits = limits;
    this.budget = budget;
  }

  checkAbort(): void {
    if (this.limits.signal.aborted) throw new ContainerLimitError('time', 'deadline passed while expanding', this.members);
  }

  /** Reserve a member slot before reading it; throws when a member limit is reached. */
  reserve(): void {
    this.checkAbort();
    if (this.members.length + 1 > this.limits.maxMembers) {
      throw new ContainerLimitError('members', `more than ${this.limits.maxMembers} members`, this.members);
    }
    const total = (this.budget.members ?? 0) + 1;
    if (this.limits.maxTotalMembers !== undefined && total > this.limits.maxTotalMembers) {
      throw new ContainerLimitError('members', `more than ${this.limits.maxTotalMembers} members in all`, this.members);
    }
    this.budget.members = total;
  }

  add(member: Member): void {
    this.members.push(member);
  }

  async tempPath(): Promise<string> {
    if (!this.dirReady) {
      await mkdir(this.limits.tempDir, { recursive: true, mode: 0o700 });
      this.dirReady = true;
    }
    return join(this.limits.tempDir, `member-${randomUUID()}`);
  }

  /** Re-throw limit errors with the partial list; anything else becomes `malformed`. */
  wrap(err: unknown, what: string): ContainerLimitError {
    if (err instanceof ContainerLimitError) {
      err.partial = this.members;
      return err;
    }
    if (this.limits.signal.aborted) return new ContainerLimitError('time', 'deadline passed while expanding', this.members);
    return new ContainerLimitError('malformed', `${what}: ${errorText(err)}`, this.members);
  }
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** A failure of our own temporary storage (disk full, permissions): not the message's fault, so it is re-thrown as is. */
class LocalIoError extends Error {
  constructor(cause: unknown) {
    super('temporary file write failed', { cause });
  }
}

export interface Collected {
  content: Content;
  size: number;
  /** Set when the source failed after a partial read (the content is what arrived). */
  error?: string;
}

/**
 * Drain `src` into a member's content, counting every byte against the budget and the ratio cap.
 * Limit and deadline errors throw (the source is destroyed). A source error is returned as `error` with the bytes
 * received so far, since a truncated member is still worth scanning.
 */
/** A byte stream: node:stream Readables, streamx readables (tar-stream) and child process pipes all qualify. */
export type ByteStream = AsyncIterable<Buffer> & { destroy(err?: Error): unknown };

export async function collect(ctx: ExpandContext, src: ByteStream, packedSize?: number): Promise<Collected> {
  const { limits, budget } = ctx;
  const ratio = limits.maxRatio ?? DEFAULT_MAX_RATIO;
  const ratioCap = ratio > 0 && packedSize !== undefined ? Math.max(RATIO_FLOOR, packedSize * ratio) : Infinity;
  let chunks: Buffer[] = [];
  let size = 0;
  let fh: FileHandle | undefined;
  let path: string | undefined;
  let sourceError: string | undefined;
  const onAbort = () => src.destroy(new ContainerLimitError('time', 'deadline passed while expanding'));
  limits.signal.addEventListener('abort', onAbort, { once: true });
  try {
    ctx.checkAbort();
    try {
      for await (const chunk of src) {
        size += chunk.length;
        budget.unpacked += chunk.length;
        if (budget.unpacked > limits.maxUnpackedBytes) {
          throw new ContainerLimitError('unpacked_bytes', `more than ${limits.maxUnpackedBytes} unpacked bytes`);
        }
        if (size > ratioCap) {
          throw new ContainerLimitError('unpacked_bytes', `entry expands more than ${ratio}:1`);
        }
        if (!fh && size <= limits.maxMemberInMemory) {
          chunks.push(chunk);
          continue;
        }
        try {
          if (!fh) {
            path = await ctx.tempPath();
            fh = await open(path, 'wx', 0o600);
            for (const c of chunks) await writeAll(fh, c);
            chunks = [];
          }
          await writeAll(fh, chunk);
        } catch (err) {
          throw new LocalIoError(err);
        }
      }
    } catch (err) {
      if (err instanceof ContainerLimitError || err instanceof LocalIoError || limits.signal.aborted) throw err;
      sourceError = errorText(err);
    }
    ctx.checkAbort();
  } catch (err) {
    src.destroy();
    if (fh) await fh.close().catch(() => {});
    fh = undefined;
    if (path) await unlink(path).catch(() => {});
    if (err instanceof LocalIoError) throw err.cause;
    throw err instanceof ContainerLimitError ? err : new ContainerLimitError('time', 'deadline passed while expanding');
  } finally {
    limits.signal.removeEventListener('abort', onAbort);
    if (fh) await fh.close();
  }
  const content: Content = path ? { kind: 'file', path } : { kind: 'buffer', data: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) };
  return sourceError === undefined ? { content, size } : { content, size, error: sourceError };
}

export const EMPTY_CONTENT: Content = { kind: 'buffer', data: Buffer.alloc(0) };
