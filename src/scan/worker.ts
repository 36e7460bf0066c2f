/**
 * Scan worker thread entry point (see pool.ts): one task = one message scanned by scanMessage. At start, the
 * worker adopts what the pool hands every worker: the node's anti-spam classifier in shared memory (the main
 * thread applies learned examples to it; the workers only read it).
 */
import { workerData } from 'piscina';
import { scanMessage, type ScanRequest, type ScanResult } from './pipeline.ts';
import { classifierFromShared, type SharedClassifier } from './antispam/classifier.ts';
import { setSharedClassifier } from './antispam/scanner.ts';

export interface WorkerData { antispamClassifier?: SharedClassifier }

const data = workerData as WorkerData | undefined;
if (data?.antispamClassifier) setSharedClassifier(classifierFromShared(data.antispamClassifier));

export default function scan(req: ScanRequest): Promise<ScanResult> {
  return scanMessage(req);
}
