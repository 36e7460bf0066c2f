/**
 * The console's API types come from the OpenAPI document: web/src/api/schema.d.ts must be exactly what
 * `npm run api:types` generates from the server's current routes. A route added or changed without running the
 * script fails here (the message says which command fixes it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateSchemaTypes, openApiDocument, SCHEMA_FILE } from '../../scripts/api-types.ts';

test('web/src/api/schema.d.ts matches the OpenAPI document of the server (else run npm run api:types)', async () => {
  const expected = await generateSchemaTypes();
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  if (committed !== expected) {
    const a = committed.split('\n'); const b = expected.split('\n');
    let i = 0; while (i < a.length && a[i] === b[i]) i++;
    assert.fail(`web/src/api/schema.d.ts is out of date with the server's routes: run \`npm run api:types\` and commit it.\nFirst difference at line ${i + 1}:\n  committed: ${a[i] ?? '(end)'}\n  generated: ${b[i] ?? '(end)'}`);
  }
});

test('every /api/v1 route of the document is in the generated types, and the console routes are not', async () => {
  const doc = await openApiDocument() as { paths: Record<string, unknown> };
  const text = readFileSync(SCHEMA_FILE, 'utf8');
  const paths = Object.keys(doc.paths);
  // The API under /api/v1 and GET /metrics (Prometheus); nothing of the console.
  assert.ok(paths.length > 20 && paths.every((p) => p.startsWith('/api/v1/') || p === '/metrics'), `the document lists only API routes: ${paths.filter((p) => !p.startsWith('/api/v1/')).join(', ')}`);
  for (const p of paths) assert.ok(text.includes(`"${p}": {`), `${p} is in schema.d.ts`);
  assert.ok(!/"\/\*"|"\/"\s*:/.test(text), 'the console routes are hidden from the document');
});
