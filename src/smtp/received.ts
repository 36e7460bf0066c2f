/**
 * The `Received` trace header (RFC 5321 §4.4) Moat prepends to every accepted message. Client-supplied values
 * (HELO) are reduced to printable ASCII so they cannot fold or inject header lines.
 */
export interface TraceInfo {
  helo: string;
  clientIp: string;
  hostname: string;
  protocol: 'SMTP' | 'ESMTP' | 'ESMTPS' | 'ESMTPA' | 'ESMTPSA';
  queueId: string;
  recipient?: string;
  tls?: { version?: string; cipher?: string } | null;
  date: Date;
}

function clean(s: string, max = 200): string {
  return s.replace(/[^\x21-\x7e]/g, '').replace(/[()\\]/g, '').slice(0, max) || 'unknown';
}

export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${days[d.getDay()]}, ${d.getDate()} ${months[d.getMonth()]} ${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
}

export function receivedHeader(t: TraceInfo): Buffer {
  const ip = t.clientIp.replace(/^::ffff:/, '');
  const literal = ip.includes(':') ? `IPv6:${ip}` : ip;
  let h = `Received: from ${clean(t.helo)} ([${literal}])\r\n\tby ${t.hostname} (Moat) with ${t.protocol} id ${t.queueId}`;
  if (t.tls?.version) h += `\r\n\t(using ${clean(t.tls.version, 20)} with cipher ${clean(t.tls.cipher ?? 'unknown', 80)})`;
  if (t.recipient) h += `\r\n\tfor <${clean(t.recipient, 300)}>`;
  h += `;\r\n\t${rfc5322Date(t.date)}\r\n`;
  return Buffer.from(h, 'utf8');
}
