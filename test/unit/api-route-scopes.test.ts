import { z } from 'zod';
import { apiRouter, declaredScope, registerRoute, undeclaredApiRoutes } from '../../api/access/routes';
import { openApiDocument, registry } from '../../api/openapi';

const ok = { 200: { description: 'OK', content: { 'application/json': { schema: z.object({}) } } } };

test('a route is mounted only where it was declared, with the scope the document carries', () => {
  registerRoute({ scope: 'orders:read', method: 'get', path: '/api/v1/probe/{id}', responses: ok });
  expect(declaredScope('GET', '/api/v1/probe/{id}')).toBe('orders:read');
  const doc = openApiDocument('test');
  expect(doc.paths?.['/api/v1/probe/{id}']?.get?.['x-required-scope']).toBe('orders:read');

  const router = apiRouter('/api/v1/probe');
  expect(() => router.get('/:id', (_req, res) => res.end())).not.toThrow();
  // Declared for GET only: another method, or another path, cannot be mounted.
  expect(() => router.post('/:id', (_req, res) => res.end())).toThrow(
    /POST \/api\/v1\/probe\/\{id\} has no declared scope/,
  );
  expect(() => router.get('/:id/more', (_req, res) => res.end())).toThrow(/no declared scope/);
});

test('an /api path put in the document without a scope is named, and the app refuses to start with it', () => {
  expect(undeclaredApiRoutes()).toEqual([]);
  registry.registerPath({ method: 'delete', path: '/api/v1/probe/{id}', responses: ok });
  expect(undeclaredApiRoutes()).toEqual(['DELETE /api/v1/probe/{id}']);
});
