/**
 * zod schemas shared by the accounts, auth and token routes (they also name the objects in the OpenAPI
 * document through `.meta({ id })`).
 */
import { z } from 'zod';
import { PERMISSIONS } from '../../accounts/permissions.ts';
import { errorSchema } from '../errors.ts';

export const permissionSchema = z.enum(PERMISSIONS);

export const accountSchema = z.object({
  username: z.string(),
  role: z.string(),
  source: z.string().describe('local (LDAP and OpenID Connect later)'),
  disabled: z.boolean(),
  locked: z.boolean(),
  lockedUntil: z.number().nullable().describe('ms since the epoch'),
  mustChangePassword: z.boolean(),
  passwordChangedAt: z.number(),
  lastLoginAt: z.number().nullable(),
  createdAt: z.number(),
  addresses: z.array(z.string()).describe('mail addresses the account acts for in personal mode'),
}).meta({ id: 'Account' });

export const meSchema = z.object({
  username: z.string(),
  role: z.string(),
  permissions: z.array(permissionSchema),
  personal: z.boolean(),
  addresses: z.array(z.string()),
  source: z.string(),
  via: z.enum(['session', 'token']),
  mustChangePassword: z.boolean(),
  csrfToken: z.string().nullable().describe('send as X-CSRF-Token with every state-changing request of this session'),
}).meta({ id: 'Me' });

export const roleSchema = z.object({
  name: z.string(),
  description: z.string(),
  fixed: z.boolean(),
  personal: z.boolean(),
  permissions: z.array(permissionSchema),
}).meta({ id: 'Role' });

export const tokenSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  username: z.string(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
}).meta({ id: 'Token' });

export const usernameParams = z.object({ username: z.string().min(1).max(128) });
export const password = z.string().min(1).max(1024);
export const addresses = z.array(z.string().max(320)).max(100);

/** The error answers a route may give, for the OpenAPI document. */
export function errors(...codes: (400 | 401 | 403 | 404 | 409 | 429)[]): Record<number, typeof errorSchema> {
  return Object.fromEntries([401, 403, ...codes].map((c) => [c, errorSchema]));
}
