import { join } from 'node:path';
import { Router } from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';

/**
 * `/docs`: the API reference, rendered by Swagger UI from `/openapi.json`. Its files are
 * served from node_modules, so the page works on a machine with no internet access: the
 * few the page loads, by name, and nothing else of the package's folder.
 */
const assets = ['swagger-ui.css', 'swagger-ui.css.map', 'swagger-ui-bundle.js', 'swagger-ui-bundle.js.map'];
const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>orchestrator API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="reference"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

const init = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true });\n`;

export function docsRoutes(): Router {
  // Case-sensitive and strict like every router of the app: one spelling per path.
  const router = Router({ caseSensitive: true, strict: true });
  router.get('/docs', (_req, res) => {
    res.type('html').send(page);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(init);
  });
  const dir = getAbsoluteFSPath();
  for (const name of assets)
    router.get(`/docs/assets/${name}`, (_req, res, next) => {
      res.sendFile(join(dir, name), { maxAge: '1h' }, (err) => err && next(err));
    });
  return router;
}
