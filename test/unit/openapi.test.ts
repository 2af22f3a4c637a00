import { openApiDocument } from '../../api/openapi';
import '../../api/routes/health';
import '../../api/routes/self-checks';
import '../../api/routes/workflows';
import '../../api/routes/cbb-orders';
import '../../api/routes/cbb-sweeps';
import '../../api/routes/batch-migrations';
import '../../api/routes/machine-templates';
import '../../api/routes/machines';
import '../../api/routes/rollouts';
import '../../api/routes/flags';
import { operationNames } from '../../lib/vm/contract';

describe('the OpenAPI document', () => {
  const doc = openApiDocument('1.2.3');

  test('documents the routes from their zod schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('1.2.3');
    expect(Object.keys(doc.paths ?? {})).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/api/v1/self-checks',
        '/api/v1/workflows',
        '/api/v1/workflows/{id}',
        '/api/v1/workflows/{id}/terminate',
        '/api/v1/workflows/{id}/updates/{name}',
        '/api/v1/orders',
        '/api/v1/orders/{id}/resync',
        '/api/v1/cbb/sweep',
        '/api/v1/machine-templates',
        '/api/v1/machines',
        '/api/v1/machines/{id}',
        '/api/v1/machines/{id}/actions/{action}',
        '/api/v1/rollouts',
        '/api/v1/rollouts/{id}',
        '/api/v1/rollouts/{id}/abort',
        '/api/v1/rollouts/{id}/promote-full',
        '/api/v1/flags',
        '/api/v1/flags/{key}',
        '/api/v1/flags/{key}/evaluate',
      ]),
    );
  });

  test('request bodies carry the validation rules', () => {
    const body = (doc.paths?.['/api/v1/workflows/{id}/terminate']?.post?.requestBody as any).content['application/json']
      .schema;
    expect(body.required).toEqual(['reason']);
    expect(body.properties.reason).toMatchObject({ type: 'string', minLength: 1, maxLength: 1000 });
    expect(body.additionalProperties).toBe(false);
  });

  test('the rollout spec is documented from its zod schema, bounds included', () => {
    const body = (doc.paths?.['/api/v1/rollouts']?.post?.requestBody as any).content['application/json'].schema;
    expect(body.required).toEqual(['target']);
    expect(body.properties.target.pattern).toBe('^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$');
    expect(body.properties.steps).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    expect(body.additionalProperties).toBe(false);
    const abort = (doc.paths?.['/api/v1/rollouts/{id}/abort']?.post?.requestBody as any).content['application/json']
      .schema;
    expect(abort.properties.reason).toMatchObject({ type: 'string', minLength: 1, maxLength: 500 });
  });

  test('errors are problem documents', () => {
    const bad = doc.paths?.['/api/v1/self-checks']?.post?.responses?.['400'] as any;
    expect(Object.keys(bad.content)).toEqual(['application/problem+json']);
  });

  test('machine routes document their validation: names, actions, run strategies', () => {
    const create = (doc.paths?.['/api/v1/machines']?.post?.requestBody as any).content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['name', 'templateId']));
    expect(create.properties.runStrategy.enum).toEqual(['Always', 'RerunOnFailure', 'Manual', 'Halted']);
    expect(create.additionalProperties).toBe(false);
    const params = doc.paths?.['/api/v1/machines/{id}/actions/{action}']?.post?.parameters as any[];
    // Every operation of the contract is an action, but delete, which is the DELETE method.
    expect(params.find((p) => p.name === 'action').schema.enum).toEqual(operationNames.filter((op) => op !== 'delete'));
    expect(Object.keys(doc.paths?.['/api/v1/machines/{id}'] ?? {}).sort()).toEqual(['delete', 'get']);
  });
});
