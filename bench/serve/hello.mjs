// The ceiling: a bare Express app answering a small JSON body, on the same machine, same run.
import express from 'express';

const app = express();
app.use(express.json());
app.post('/v1/recommendations', (_req, res) => {
  res.json({ items: [{ itemId: 'i1', score: 1 }], model: { name: 'hello', version: 'v0' } });
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
