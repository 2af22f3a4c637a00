import express from 'express';

/**
 * The flag benchmark's baseline: a bare Express app whose one handler parses the same JSON
 * body and answers the same shape as the evaluation endpoint, without Redis, hashing,
 * validation or the API's middleware. `tsx bench/servers/bare-express.ts <port>`.
 */
const app = express();
app.use(express.json());
app.post('/api/v1/flags/:key/evaluate', (req, res) => {
  const id = (req.body as { subject?: { id?: string } }).subject?.id ?? '';
  res.json({ key: req.params.key, variant: 'baseline', reason: 'percentage', bucket: id.length });
});
app.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
