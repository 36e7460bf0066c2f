/**
 * Delivery status notifications (RFC 3464 multipart/report, RFC 3462 report-type=delivery-status) for recipients
 * that failed permanently or whose queue lifetime ran out. The original's header section is returned
 * (text/rfc822-headers), never its body. A DSN is sent from the null sender (RFC 5321 §4.5.5), so it can never
 * cause another bounce; no DSN goes to the null sender.
 */
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../smtp/received.ts';

export interface FailedRecipient { address: string; status: string; diagnostic: string; remoteMta?: string }

export interface DsnInput {
  hostname: string;
  queueId: string;
  originalSender: string;
  arrivalDate: Date;
  failed: FailedRecipient[];
  /** The original header section (CRLF line endings), already truncated by the caller. */
  headers: Buffer;
  /** failed: refused by the next hop; expired: queue lifetime over; rejected: refused by Moat's own policy
   *  after the session had ended. */
  reason: 'failed' | 'expired' | 'rejected';
  now?: Date;
}

/** Enhanced status from an SMTP reply, e.g. "550 5.1.1 no such user" → 5.1.1; otherwise x.0.0 by class. */
export function statusFromReply(code: number, text: string): string {
  const m = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  if (m && m[1] === String(code)[0]) return `${m[1]}.${m[2]}.${m[3]}`;
  return `${String(code)[0]}.0.0`;
}

function xtextSafe(s: string): string {
  return s.replace(/[^\x21-\x7e ]/g, '?').slice(0, 900);
}

export function buildDsn(d: DsnInput): Buffer {
  const now = d.now ?? new Date();
  const boundary = `=_moat_${randomBytes(12).toString('hex')}`;
  const msgId = `<${d.queueId}.${randomBytes(6).toString('hex')}@${d.hostname}>`;
  const why = {
    expired: 'could not be delivered within the time allowed and has been given up on',
    failed: 'could not be delivered to one or more recipients; the next server refused them',
    rejected: 'was not delivered to one or more recipients: the content policy of this mail system refused it',
  }[d.reason];
  const lines = d.failed.map((f) => `  <${f.address}>: ${f.diagnostic.replace(/[\r\n]+/g, ' ').slice(0, 500)}`);
  const human = [
    `This is the mail system at host ${d.hostname}.`,
    '',
    `Your message ${why}.`,
    '',
    ...lines,
    '',
    'The message headers are attached below.',
    '',
  ].join('\r\n');
  const perMessage = [
    `Reporting-MTA: dns; ${d.hostname}`,
    `X-Moat-Queue-ID: ${d.queueId}`,
    `Arrival-Date: ${rfc5322Date(d.arrivalDate)}`,
  ].join('\r\n');
  const perRecipient = d.failed.map((f) => [
    `Final-Recipient: rfc822; ${xtextSafe(f.address)}`,
    `Action: failed`,
    `Status: ${f.status}`,
    ...(f.remoteMta ? [`Remote-MTA: dns; ${xtextSafe(f.remoteMta)}`] : []),
    `Diagnostic-Code: smtp; ${xtextSafe(f.diagnostic.replace(/[\r\n]+/g, ' '))}`,
    `Last-Attempt-Date: ${rfc5322Date(now)}`,
  ].join('\r\n')).join('\r\n\r\n');
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${d.hostname}>`,
    `To: <${d.originalSender}>`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: ${msgId}`,
    `Auto-Submitted: auto-replied`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Description: Notification',
    '',
    human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    perMessage,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    'Content-Description: Undelivered message headers',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'utf8'), d.headers, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
