/**
 * Scan worker thread entry point (see pool.ts): one task = one message scanned by scanMessage.
 */
import { scanMessage, type ScanRequest, type ScanResult } from './pipeline.ts';

export default function scan(req: ScanRequest): Promise<ScanResult> {
  return scanMessage(req);
}
