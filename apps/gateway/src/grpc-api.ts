// vsim.v1.Gateway over gRPC: Submit, Start, Pause, Resume, Status, StreamEvents, Results, and the
// run-time scheduler calls SetSchedParams, GetSchedParams, SwapScheduler, and the listings
// ListSimulations, ListDomains (listing.ts). With credentials the
// service shell has checked the caller's bearer token before any of these runs (@vsim/security
// guardService); every call naming a simulation is then held to the caller's own (authorize).

import { ServerWritableStream, handleUnaryCall, status } from '@grpc/grpc-js';
import {
  Event,
  EventMessage,
  GatewayServer,
  ListSimulationsRequest,
  MigrateVmRequest,
  SetSchedParamsRequest,
  SimulationRef,
  SwapSchedulerRequest,
} from '@vsim/proto';
import { isControlError, simulationResultMessage } from '@vsim/control';
import { principalOf } from '@vsim/security';
import { Logger } from '@vsim/service';
import { Gateway } from './gateway';
import { listDomains, simulationSummary } from './listing';

/** The API principal of a call ('' without credentials). */
function callerOf(call: object): string {
  return principalOf(call) ?? '';
}

function unary<Req, Res>(rpc: string, log: Logger, gw: Gateway, f: (req: Req, caller: string) => Res | Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const caller = callerOf(call);
    Promise.resolve()
      .then(() => {
        const sim = (call.request as { sim?: unknown }).sim;
        if (typeof sim === 'string') gw.authorize(sim, caller);
        return f(call.request, caller);
      })
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const code = isControlError(err) ? err.code : status.INTERNAL;
          if (code === status.INTERNAL) log.error({ rpc, err }, 'gateway call failed');
          else log.info({ rpc, code, err: (err as Error).message }, 'gateway call refused');
          callback({ code, details: oneLine(err instanceof Error ? err.message : String(err)) });
        },
      );
  };
}

export function gatewayServer(gw: Gateway, log: Logger): GatewayServer {
  return {
    submit: unary('Submit', log, gw, (req, caller) => ({
      sim: gw.submit(
        req.scenarioYaml,
        req.images,
        req.seed,
        req.scheduler ?? '',
        caller,
        req.resumeSim ? { sim: req.resumeSim, index: req.resumeIndex || undefined } : undefined,
      ),
    })),
    start: unary('Start', log, gw, async (req: SimulationRef) => {
      await gw.start(req.sim);
      return {};
    }),
    pause: unary('Pause', log, gw, async (req: SimulationRef) => {
      await gw.pause(req.sim);
      return {};
    }),
    resume: unary('Resume', log, gw, async (req: SimulationRef) => {
      await gw.resume(req.sim);
      return {};
    }),
    status: unary('Status', log, gw, (req: SimulationRef) => gw.status(req.sim)),
    setSchedParams: unary('SetSchedParams', log, gw, async (req: SetSchedParamsRequest) => {
      await gw.setSchedParams(req);
      return {};
    }),
    getSchedParams: unary('GetSchedParams', log, gw, (req: SimulationRef) => gw.getSchedParams(req.sim)),
    swapScheduler: unary('SwapScheduler', log, gw, async (req: SwapSchedulerRequest) => {
      await gw.swapScheduler(req);
      return {};
    }),
    migrateVm: unary('MigrateVm', log, gw, async (req: MigrateVmRequest) => {
      await gw.migrateVm(req);
      return {};
    }),
    listSimulations: unary('ListSimulations', log, gw, (_req: ListSimulationsRequest, caller) => ({
      simulations: gw.simulationsOf(caller).map(simulationSummary),
    })),
    listDomains: unary('ListDomains', log, gw, (req: SimulationRef) => listDomains(gw.get(req.sim))),
    results: unary('Results', log, gw, (req: SimulationRef) => {
      const { wallSeconds, ...result } = gw.resultDocument(req.sim);
      return simulationResultMessage(req.sim, result, wallSeconds);
    }),
    streamEvents: (call: ServerWritableStream<SimulationRef, EventMessage>) => {
      let stop = () => undefined as unknown;
      try {
        gw.authorize(call.request.sim, callerOf(call));
        stop = gw.watch(call.request.sim, {
          events: (events) => {
            for (const e of events) call.write(Event.toMessage(e));
          },
          end: (state, error) => {
            // grpc-js ends a server stream with an error status on an 'error' event.
            if (state === 'failed') call.emit('error', { code: status.ABORTED, details: oneLine(error) });
            else call.end();
          },
        });
      } catch (err) {
        call.emit('error', { code: isControlError(err) ? err.code : status.INTERNAL, details: oneLine((err as Error).message) });
        return;
      }
      call.on('cancelled', () => stop());
    },
  };
}

/** Status details travel in an HTTP/2 trailer: no line breaks. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' | ');
}
