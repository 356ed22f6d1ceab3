/**
 * Whether the runner can listen on HOST:PORT, said in one sentence that names the variable to
 * change. Checked before anything slow: `npm start` may build lab images for minutes and the
 * runner adopts the labs of an earlier run before it listens, so a port another program holds
 * is reported first, not as a raw EADDRINUSE at the end.
 */
import net from 'node:net';

/** The sentence for an error from listen() on host:port. */
export function describeListenError(err: unknown, host: string, port: number): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch ((err as { code?: string } | undefined)?.code) {
    case 'EADDRINUSE':
      return `${where} is already in use (another program, or another runner): set PORT to a free port (for example PORT=${port + 1}) or HOST to another address, or stop what holds it.`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine: set HOST to one of its addresses (127.0.0.1, the default, or 0.0.0.0 for all).`;
    case 'EACCES':
      return `This user may not listen on ${where} (ports below 1024 need root): set PORT to 1024 or above.`;
    default:
      return `The lab server could not listen on ${where}: ${(err as Error).message}`;
  }
}

/** Null when host:port can be listened on now (the probe closes again), else the sentence. */
export function listenProblem(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err) => resolve(describeListenError(err, host, port)));
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
}
