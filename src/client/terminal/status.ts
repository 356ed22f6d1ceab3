/**
 * The lab panel's status line while a lab is running: one sentence for all hosts' shells
 * (the worst news first). A pure function of the hosts' states, so it touches no DOM and no
 * xterm; the panel (src/client/lab-panel.ts) shows the sentence, ui.ts decides when.
 */
import type { ConnectionState } from './session.ts';
import type { Messages } from '../../i18n/en.ts';
import { lab } from '../../i18n/en/page.ts';
import { terminal } from '../../i18n/en/terminal.ts';
import { text } from '../../i18n/page.ts';

/** What the summary needs to know of one host's shell. */
export interface HostStatus {
  readonly host: string;
  readonly state: ConnectionState;
  /** The last error sentence for this host (from the runner or the connection), if any. */
  readonly message: string | undefined;
}

export interface StatusLine {
  text: string;
  tone: 'info' | 'error';
  /** A host's error sentence the line quotes (without the host's name). */
  reason?: string;
}

/**
 * The sentence for the hosts' states, in `hosts` order: a lost connection, else an error
 * message, else who is still connecting or reconnecting, else that the lab is ready and how
 * long it lasts unattended.
 */
export function labStatus(
  hosts: readonly HostStatus[],
  idleTimeoutSeconds: number,
  m: Pick<Messages, 'terminal' | 'lab'> = { terminal: text(terminal, (c) => c.terminal), lab: text(lab, (c) => c.lab) },
): StatusLine {
  const t = m.terminal;
  const failed = hosts.find((v) => v.state === 'failed');
  if (failed) return { text: failed.message ?? t.lostConnection(failed.host), tone: 'error' };
  const errored = hosts.find((v) => v.message && v.state !== 'ready');
  if (errored?.message) return { text: t.hostMessage(errored.host, errored.message), tone: 'error', reason: errored.message };
  const waiting = hosts.filter((v) => v.state !== 'ready');
  if (waiting.length === 0) {
    const names = hosts.map((v) => v.host);
    return { text: `${t.running(names.join(m.lab.listSeparator), names.length)}${expiryNote(idleTimeoutSeconds, t)}`, tone: 'info' };
  }
  const words = waiting.map((v) =>
    v.state === 'reconnecting' ? t.waitingReconnecting(v.host) : v.state === 'exited' ? t.waitingExited(v.host) : t.waitingConnecting(v.host),
  );
  const sentence = words.join(t.waitingSeparator);
  return { text: sentence.charAt(0).toUpperCase() + sentence.slice(1), tone: 'info' };
}

/**
 * When the runner removes an unattended lab. From the lab's idle timeout, not its `expiresAt`:
 * at creation that is the idle deadline, which moves once a terminal is open.
 */
function expiryNote(idleTimeoutSeconds: number, t: Messages['terminal']): string {
  const minutes = Math.round(idleTimeoutSeconds / 60);
  return minutes > 0 ? t.expiry(minutes) : '';
}
