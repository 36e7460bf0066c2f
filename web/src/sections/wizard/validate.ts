// Quick checks of the wizard's fields before they go to the server (which checks them again, and names the field).
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

export function isDomain(s: string): boolean {
  const d = s.trim().replace(/\.$/, '');
  return d.length > 0 && d.length <= 253 && d.includes('.') && d.split('.').every((l) => LABEL.test(l));
}

export function isHostPort(s: string): boolean {
  const m = /^(\[[^\]\s]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return false;
  if (m[2] && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return false;
  const host = m[1].replace(/^\[|\]$/g, '');
  return isIPv4(host) || isDomain(host) || host.includes(':') || /^[a-z0-9-]+$/i.test(host);
}

function isIPv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255 && !(x.length > 1 && x.startsWith('0')));
}

export function isCidr(s: string): boolean {
  const [addr, bits, ...rest] = s.trim().split('/');
  if (rest.length) return false;
  if (addr.includes(':')) return /^[0-9a-f:.]+$/i.test(addr) && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= 128));
  return isIPv4(addr) && (bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32));
}

export function isEmail(s: string): boolean {
  const m = /^([^\s@]{1,64})@([^\s@]+)$/.exec(s.trim());
  return !!m && isDomain(m[2]);
}
