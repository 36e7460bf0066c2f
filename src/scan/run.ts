/**
 * Runs the enabled scanners over one message model, all at once, each under its own deadline: a scanner that
 * throws or misses its deadline becomes that module's `error` finding (DESIGN habit 6), never a crash or a
 * hang. Modules that are not requested get no finding at all; the caller reports them as `not_scanned`
 * (`disabled`). The order of findings follows MODULES, whatever order the scanners finish in.
 */
import { MODULES, type Finding, type MessageModel, type ModuleName, type Scanner } from './types.ts';

export function errorFinding(module: ModuleName, error: string, ms?: number): Finding {
  return { module, status: 'error', detections: [], details: { error }, ms };
}

export function notScanned(module: ModuleName, reason: Finding['reason']): Finding {
  return { module, status: 'not_scanned', reason, detections: [] };
}

/** Runs `scanners` over `model`; each gets `deadlineMs` (and the outer signal, if any). */
export async function runScanners(model: MessageModel, scanners: Scanner[], deadlineMs: number, outer?: AbortSignal): Promise<Finding[]> {
  const results = await Promise.all(scanners.map(async (sc) => {
    const started = performance.now();
    const ctl = new AbortController();
    const onOuter = () => ctl.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Finding>((resolve) => {
      timer = setTimeout(() => { ctl.abort(new Error('deadline')); resolve(errorFinding(sc.module, 'timeout', Math.round(performance.now() - started))); }, deadlineMs);
    });
    try {
      const f = await Promise.race([sc.scan(model, ctl.signal), deadline]);
      return { ...f, module: sc.module, ms: f.ms ?? Math.round(performance.now() - started) };
    } catch (err) {
      return errorFinding(sc.module, (err as Error)?.message ?? String(err), Math.round(performance.now() - started));
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }));
  const order = (m: ModuleName) => MODULES.indexOf(m);
  return results.sort((a, b) => order(a.module) - order(b.module));
}
