import { readFileSync } from 'node:fs';
import type { Config } from './config';

/**
 * Connection options shared by the client (API, scripts) and the worker, so that
 * pointing the project at a cluster or Temporal Cloud is one set of env variables.
 */
export function temporalConnectionOptions(config: Pick<Config, 'temporal'>) {
  const t = config.temporal;
  const tls = t.tls
    ? {
        serverNameOverride: t.tls.serverName,
        serverRootCACertificate: t.tls.caPath ? readFileSync(t.tls.caPath) : undefined,
        clientCertPair:
          t.tls.certPath && t.tls.keyPath
            ? { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) }
            : undefined,
      }
    : undefined;
  return { address: t.address, tls, apiKey: t.apiKey };
}

export function workflowUiUrl(config: Pick<Config, 'temporal'>, workflowId: string, runId?: string): string {
  const base = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
