/**
 * DKIM keys: generation, import of an administrator's PEM file, and the DNS TXT record that publishes the public
 * half (RFC 6376 §3.6.1; Ed25519 per RFC 8463).
 *
 *   rsa-sha256      RSA of 1024 to 8192 bits (RFC 8301: signers MUST use at least 1024, SHOULD use 2048); the
 *                   record's `p=` is the DER SubjectPublicKeyInfo in base64.
 *   ed25519-sha256  the record's `p=` is the raw 32-byte public key in base64.
 * Private keys are kept as unencrypted PKCS#8 PEM (what the store holds); they are secrets and never appear in an
 * error message or a log line.
 *
 * Hostile input: imported files come from administrators and may be anything (certificates, public keys,
 * encrypted or EC keys, binary junk, huge files): at most 64 KiB is read, and anything but an RSA (≥ 1024 bits)
 * or Ed25519 private key is refused with one line saying why. Domains and selectors are checked against the DNS
 * label syntax before they are stored or printed in a record.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { promisify } from 'node:util';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';
export type KeyType = 'rsa' | 'ed25519';

export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 8192;
export const MAX_KEY_FILE = 64 * 1024;

/** A key refused (bad file, unsupported type, bad name): the message is one line, safe to show. */
export class DkimKeyError extends Error {}

export interface KeyMaterial {
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM, unencrypted. Secret. */
  privateKeyPem: string;
  /** The `p=` value of the DNS record. */
  publicKey: string;
  /** RSA modulus length; 256 for Ed25519. */
  bits: number;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A domain as stored and signed (`d=`): lowercase A-labels, no trailing dot. Throws DkimKeyError when invalid. */
export function normaliseDomain(input: string): string {
  const raw = input.trim().replace(/\.$/, '');
  const ascii = raw && /^[\x21-\x7e]+$/.test(raw) ? raw.toLowerCase() : domainToASCII(raw.toLowerCase());
  if (!ascii || ascii.length > 253 || !ascii.includes('.') || !ascii.split('.').every((l) => LABEL.test(l))) {
    throw new DkimKeyError(`not a valid domain name: ${JSON.stringify(input.slice(0, 100))}`);
  }
  return ascii;
}

/** A selector (`s=`): one or more DNS labels, lowercased. Throws DkimKeyError when invalid. */
export function normaliseSelector(input: string): string {
  const s = input.trim().toLowerCase();
  // RFC 6376 §3.1: sub-domain *( "." sub-domain ); the whole record name must stay within 253 characters.
  if (!s || s.length > 63 * 2 || !s.split('.').every((l) => LABEL.test(l))) {
    throw new DkimKeyError(`not a valid selector: ${JSON.stringify(input.slice(0, 100))} (DNS labels: letters, digits, hyphens)`);
  }
  return s;
}

const generate = promisify(generateKeyPair);

/** Generates a key pair: RSA of `bits` (1024–8192, default 2048) or Ed25519. */
export async function generateKey(type: KeyType, bits = 2048): Promise<KeyMaterial> {
  if (type === 'rsa') {
    if (!Number.isInteger(bits) || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 !== 0) {
      throw new DkimKeyError(`RSA key size must be a multiple of 8 from ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits (2048 recommended)`);
    }
    const { privateKey } = await generate('rsa', { modulusLength: bits, publicExponent: 0x10001 });
    return material(privateKey);
  }
  if (type === 'ed25519') {
    const { privateKey } = await generate('ed25519');
    return material(privateKey);
  }
  throw new DkimKeyError(`key type must be rsa or ed25519, not ${JSON.stringify(type)}`);
}

/**
 * Reads a private key from PEM text: PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`), RSA of at
 * least 1024 bits or Ed25519. Throws DkimKeyError with a one-line reason otherwise.
 */
export function importKey(pem: string | Buffer): KeyMaterial {
  const text = (Buffer.isBuffer(pem) ? pem.subarray(0, MAX_KEY_FILE + 1).toString('latin1') : pem.slice(0, MAX_KEY_FILE + 1));
  if (text.length > MAX_KEY_FILE) throw new DkimKeyError(`too large for a key file (more than ${MAX_KEY_FILE / 1024} KiB)`);
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (!begin) throw new DkimKeyError('not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)');
  const label = begin[1];
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/i.test(text)) {
    throw new DkimKeyError('the private key is encrypted: decrypt it first (openssl pkey -in FILE -out PLAIN.pem)');
  }
  if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY' || label === 'CERTIFICATE') {
    throw new DkimKeyError(`this is a ${label.toLowerCase()}, not a private key`);
  }
  if (label !== 'PRIVATE KEY' && label !== 'RSA PRIVATE KEY') {
    throw new DkimKeyError(`unsupported PEM block "${label}": only RSA (PKCS#1 or PKCS#8) and Ed25519 (PKCS#8) private keys can sign DKIM`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text.slice(begin.index), format: 'pem' });
  } catch {
    // OpenSSL's message may quote the input; say only what is wrong.
    throw new DkimKeyError('not a readable PEM private key (damaged or truncated)');
  }
  return material(key);
}

function material(key: KeyObject): KeyMaterial {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS) throw new DkimKeyError(`RSA key of ${bits} bits is too weak: DKIM needs at least ${RSA_MIN_BITS} (RFC 8301), 2048 recommended`);
    if (bits > RSA_MAX_BITS) throw new DkimKeyError(`RSA key of ${bits} bits is larger than ${RSA_MAX_BITS}: verifiers will not handle it`);
    return { algorithm: 'rsa-sha256', privateKeyPem: pkcs8(key), publicKey: publicKeyValue(key), bits };
  }
  if (type === 'ed25519') return { algorithm: 'ed25519-sha256', privateKeyPem: pkcs8(key), publicKey: publicKeyValue(key), bits: 256 };
  throw new DkimKeyError(`${type ?? 'this'} keys cannot sign DKIM: use RSA (at least ${RSA_MIN_BITS} bits) or Ed25519`);
}

function pkcs8(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** The record's `p=` for a private or public key. */
export function publicKeyValue(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  // An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte prefix and the 32-byte key; RFC 8463 publishes the key.
  return (pub.asymmetricKeyType === 'ed25519' ? der.subarray(der.length - 32) : der).toString('base64');
}

export interface TxtRecord {
  /** `selector._domainkey.domain.` (absolute). */
  name: string;
  /** The record's text, e.g. `v=DKIM1; k=rsa; p=MIIB…`. */
  value: string;
  /** The text cut into character-strings of at most 255 bytes (a DNS TXT limit), in order. */
  strings: string[];
  /** One zone-file line: `name IN TXT "…" "…"`. */
  zoneLine: string;
}

/** The DNS TXT record that publishes a key (RFC 6376 §3.6.1). */
export function txtRecord(domain: string, selector: string, algorithm: DkimAlgorithm, publicKey: string): TxtRecord {
  const name = `${selector}._domainkey.${domain}.`;
  const value = `v=DKIM1; k=${algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa'}; p=${publicKey}`;
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += 255) strings.push(value.slice(i, i + 255));
  return { name, value, strings, zoneLine: `${name} IN TXT ${strings.map((s) => `"${s}"`).join(' ')}` };
}

/** The size of a published key, from its p= value: the RSA modulus length, 256 for Ed25519, 0 if unreadable. */
export function publicKeyBits(algorithm: DkimAlgorithm, publicKey: string): number {
  if (algorithm === 'ed25519-sha256') return 256;
  try {
    return createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength ?? 0;
  } catch {
    return 0;
  }
}
