import { buf } from './helpers/buf';

it('buf lint passes (libs/proto/buf.yaml)', () => {
  const r = buf(['lint']);
  if (r.status !== 0) throw new Error(`buf lint (npm run -w libs/proto lint) found problems:\n${r.output}`);
});
