/** Exit status of a start-up the configuration prevents (sysexits' EX_CONFIG): a bad config file, a port that cannot be had. */
export const EX_CONFIG = 78;

/** Writes one line, no stack trace, and exits: what to change is in the line. */
export function exitForConfig(message: string): never {
  process.stderr.write(`ai-gateway: ${message}\n`);
  process.exit(EX_CONFIG);
}

/** Why a listener could not bind, for the errors the configuration can fix. */
const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: 'is already in use',
  EACCES: 'needs privileges this process does not have',
  EADDRNOTAVAIL: 'names an address this machine does not have',
  ENOTFOUND: 'names a host that does not resolve',
  EAI_AGAIN: 'names a host DNS could not resolve now',
};

/**
 * Starts a listener; when its address cannot be had, exits as for a bad config with one line
 * naming the address and the variables that set it (PORT / HOST, METRICS_PORT / METRICS_HOST).
 */
export async function listenOrExit<T>(listen: () => Promise<T>, port: number, host: string, variables: string): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const why = LISTEN_FAILURES[(err as NodeJS.ErrnoException).code ?? ''];
    if (!why) throw err;
    exitForConfig(`cannot listen on ${host}:${port}: it ${why}; set ${variables} to another`);
  }
}
