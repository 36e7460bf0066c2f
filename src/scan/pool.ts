/**
 * The scan worker pool: CPU-heavy work (MIME parsing, unpacking, signature matching) runs in worker threads,
 * never on the SMTP thread. Sized to the machine's cores; a task that fails in the worker (a bug, a crash)
 * rejects its promise and the caller treats the message's modules as `error`.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { ScanRequest, ScanResult } from './pipeline.ts';
import type { WorkerData } from './worker.ts';

export class ScanPool {
  private readonly pool: Piscina;

  /** `workerData`: handed to every worker (worker.ts), e.g. the shared anti-spam classifier. */
  constructor(opts: { threads?: number; workerData?: WorkerData } = {}) {
    const threads = opts.threads ?? Math.max(1, availableParallelism());
    this.pool = new Piscina({
      filename: new URL('./worker.ts', import.meta.url).href,
      minThreads: 1,
      maxThreads: threads,
      // A scan waits on I/O too (temporary files, clamd), so each worker takes a few at once.
      concurrentTasksPerWorker: 4,
      idleTimeout: 60_000,
      ...(opts.workerData ? { workerData: opts.workerData } : {}),
    });
  }

  scan(req: ScanRequest, signal?: AbortSignal): Promise<ScanResult> {
    return this.pool.run(req, { signal });
  }

  get queued(): number { return this.pool.queueSize; }

  async close(): Promise<void> { await this.pool.destroy(); }
}
