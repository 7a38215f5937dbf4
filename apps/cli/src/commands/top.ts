/**
 * `vsim top --http URL [--sim ID]`: a running simulation live in the terminal, like xentop — one
 * row per VM (state, vCPUs, CPU time, CPU % since the last refresh, share of its host), refreshed
 * from the gateway's live stream (GET /v1/simulations/:id/live, the dashboard's). On a terminal it
 * redraws the screen; otherwise it prints each frame as plain lines, a blank line between frames.
 * Ends when the simulation does, after --iterations frames, or on Ctrl-C.
 *
 * Exit status: 0 the stream ended; 2 usage error; 69 the gateway cannot be reached or refused.
 */

import { formatOptions, parseArgs, usageError } from '../args';
import { Command, EXIT } from '../command';
import { processIo } from '../io';
import { ACCESS_OPTIONS, AccessError, gatewayAccess } from '../gateway-access';
import { TopFrame, renderFrame } from '../top/render';

const EX_UNAVAILABLE = 69;

const OPTIONS = {
  http: { type: 'string', valueName: 'URL', description: "the gateway's HTTP URL (vsim up prints it; default $VSIM_GATEWAY_HTTP)" },
  sim: { type: 'string', valueName: 'ID', description: 'the simulation to follow (default: the newest running one)' },
  iterations: { type: 'integer', min: 1, short: 'n', valueName: 'N', description: 'stop after N frames (as xentop -i)' },
  ...ACCESS_OPTIONS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const HELP = `Usage: vsim top --http URL [--sim ID] [OPTIONS]

Follows a running simulation on a cluster, like xentop: one row per VM with
its host, state, vCPUs, CPU time, CPU % of the virtual time its host advanced
since the last refresh, and its share of the host so far; the header has each
host's virtual time and the traps per second. Refreshed twice a second from
the gateway's live stream (the dashboard's, GET /dashboard). On a terminal it
redraws; piped, it prints each refresh as plain lines. The token comes from
--credentials / $VSIM_CREDENTIALS, --token-file or $VSIM_TOKEN. Over HTTPS
(vsim up --tls-dir) give Node the cluster's CA: NODE_EXTRA_CA_CERTS=DIR/ca.pem.

Options:
${formatOptions(OPTIONS)}
`;

export const topCommand: Command = {
  name: 'top',
  summary: 'a running simulation live in the terminal, one row per VM (like xentop)',
  help: HELP,
  async run(argv, io) {
    const { options, positionals } = parseArgs(argv, OPTIONS, { command: 'vsim top' });
    if (options.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw usageError('vsim top', `unexpected argument '${positionals[0]}'`);
    const base = (options.http ?? process.env.VSIM_GATEWAY_HTTP ?? '').replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+$/.test(base)) throw usageError('vsim top', "--http URL: the gateway's HTTP URL, e.g. http://127.0.0.1:8080");
    let token: string | undefined;
    try {
      token = gatewayAccess(options).token;
    } catch (e) {
      if (e instanceof AccessError) {
        io.stderr.write(`vsim: ${e.message}\n`);
        return e.exitCode;
      }
      throw e;
    }
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const fail = (why: string) => (io.stderr.write(`vsim: ${why}\n`), EX_UNAVAILABLE);
    try {
      let sim = options.sim;
      if (sim === undefined) {
        const list = await get(`${base}/v1/simulations`, headers);
        const running = ((await list.json()) as { simulations: { sim: string; state: string }[] }).simulations.filter((s) => s.state === 'running');
        if (running.length === 0) return fail(`no running simulation on ${base}`);
        sim = running[running.length - 1].sim;
      }
      const res = await get(`${base}/v1/simulations/${encodeURIComponent(sim)}/live`, headers);
      const tty = process.stdout.isTTY === true && io === processIo;
      let prev: TopFrame | undefined;
      let count = 0;
      for await (const { event, data } of serverSentEvents(res.body!)) {
        if (event === 'end') {
          const end = JSON.parse(data) as { state: string; error: string };
          io.stdout.write(`vsim top: ${sim} ${end.state}${end.error ? `: ${end.error}` : ''}\n`);
          break;
        }
        if (event !== 'frame') continue;
        const frame = JSON.parse(data) as TopFrame;
        const lines = renderFrame(frame, prev);
        io.stdout.write(tty ? `\x1b[H\x1b[2J${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
        prev = frame;
        if (options.iterations !== undefined && ++count >= options.iterations) break;
      }
      return EXIT.ok;
    } catch (e) {
      return fail((e as Error).message);
    }
  },
};

async function get(url: string, headers: Record<string, string>): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw new Error(`cannot reach the gateway at ${url}: ${(e as Error).cause ?? (e as Error).message}`, { cause: e });
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new Error(`${url}: HTTP ${res.status}${body.error ? `: ${body.error}` : ''}`);
  }
  return res;
}

/** The events of a text/event-stream body: `event:` and `data:` lines, a blank line ends one. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      yield { event, data: data.join('\n') };
    }
  }
}
