// The metrics listener: a small HTTP server of its own (apart from the gateway's API, and present
// in every service) that answers GET /metrics with the Prometheus text exposition format. It is
// read-only and holds no simulation data, so it asks for no token: bind it where the scraper is
// (--metrics-host), as docs/metrics.md says.

import { Server, createServer } from 'http';
import { AddressInfo } from 'net';
import type { ServiceMetrics } from './service-metrics';

export interface MetricsServer {
  readonly port: number;
  /** host:port it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  metrics: ServiceMetrics,
  port: number,
  host: string,
  onError?: (err: unknown) => void,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        onError?.(err);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    address: `${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
