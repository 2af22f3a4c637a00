import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cruise, picture } from '../../scripts/layers/picture';

test('docs/layers.md is the picture the imports draw today (npm run deps:picture redraws it)', () => {
  const drawn = picture(cruise());
  expect(readFileSync(join(__dirname, '..', '..', 'docs', 'layers.md'), 'utf8')).toBe(drawn);
  // No arrow may run up from the pure layer or the stores.
  expect(drawn).not.toMatch(/^ {2}lib (-->|-\.->)/m);
  expect(drawn).not.toMatch(/^ {2}store (-->|-\.->)\|\d+\| (activities|workflows|api|workers)/m);
});

test('an import that runs up the layers shows in the picture', () => {
  const drawn = picture({
    modules: [{ source: 'lib/x.ts', dependencies: [{ resolved: 'api/app.ts', dependencyTypes: ['local', 'import'] }] }],
  });
  expect(drawn).toContain('  lib -->|1| api');
});
