// grpc-js end to end with the generated service definition and client: a server on 127.0.0.1:0
// serving HealthStatus, called from the generated HealthClient.
import { Metadata, Server, ServerCredentials, ServiceError, credentials, status } from '@grpc/grpc-js';
import {
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus as S,
  HealthClient,
  HealthListResponse,
  HealthService,
  HealthStatus,
} from '@vsim/proto';

let server: Server;
let client: HealthClient;
const health = new HealthStatus({ '': S.SERVING, 'vsim.v1.Scheduler': S.NOT_SERVING });

beforeAll(async () => {
  server = new Server();
  server.addService(HealthService, health.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  health.shutdown();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

const deadline = () => ({ deadline: Date.now() + 5000 });

function check(service: string): Promise<HealthCheckResponse> {
  return new Promise((resolve, reject) =>
    client.check({ service }, new Metadata(), deadline(), (err: ServiceError | null, res: HealthCheckResponse) => (err ? reject(err) : resolve(res))),
  );
}

it('Check: the server, a service, an unknown service', async () => {
  await expect(check('')).resolves.toEqual({ status: S.SERVING });
  await expect(check('vsim.v1.Scheduler')).resolves.toEqual({ status: S.NOT_SERVING });
  await expect(check('nope')).rejects.toMatchObject({ code: status.NOT_FOUND });
});

it('List', async () => {
  const res = await new Promise<HealthListResponse>((resolve, reject) => client.list({}, (err, r) => (err ? reject(err) : resolve(r))));
  expect(res).toEqual({ statuses: { '': { status: S.SERVING }, 'vsim.v1.Scheduler': { status: S.NOT_SERVING } } });
});

it('Watch: the current status at once, then each change', async () => {
  const stream = client.watch({ service: 'vsim.v1.Vmm' });
  const seen: S[] = [];
  const next = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => seen.length >= n && (stream.off('data', check), resolve());
      stream.on('data', check);
      stream.once('error', reject);
      check();
    });
  stream.on('data', (r: HealthCheckResponse) => seen.push(r.status));
  await next(1);
  health.set('vsim.v1.Vmm', S.SERVING);
  await next(2);
  health.set('vsim.v1.Vmm', S.SERVING); // unchanged: no message
  health.set('vsim.v1.Vmm', S.NOT_SERVING);
  await next(3);
  expect(seen).toEqual([S.SERVICE_UNKNOWN, S.SERVING, S.NOT_SERVING]);
  stream.cancel();
});
