// GET /v1/simulations/:id/live: the live view of a simulation as server-sent events — one `frame`
// event (a LiveFrame, JSON) every FRAME_MS of wall time while it runs, a last frame and an `end`
// event when it ends. The dashboard page (EventSource) and `vsim top` read it.

import type { ServerResponse } from 'http';
import type { Gateway } from '../gateway';
import { LiveFrames } from './live-frames';

export const FRAME_MS = 500;

export function streamLive(gw: Gateway, id: string, res: ServerResponse, frameMs = FRAME_MS): void {
  const sim = gw.get(id);
  const frames = new LiveFrames(id, sim.spec);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let ended = false;
  const finish = (state: string, error: string) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    send('frame', frames.frame(state));
    send('end', { state, error });
    res.end();
  };
  const timer = setInterval(() => send('frame', frames.frame(gw.status(id).state)), frameMs);
  const stop = gw.watch(id, { events: (events) => frames.add(events), end: finish });
  frames.startRates(); // watch() handed over the history first
  if (!ended) send('frame', frames.frame(gw.status(id).state));
  res.on('close', () => {
    clearInterval(timer);
    stop();
  });
}
