/**
 * English words of the terminals (src/client/terminal/: a host's tab, its notices, the status line of a running lab):
 * loaded with them, after Start lab. See ./page.ts.
 */
export const terminal = {
  closed: 'The terminal was closed.',
  shellEnded: (host: string) => `The shell on ${host} ended.`,
  shellEndedWithCode: (host: string, code: number) => `The shell on ${host} ended (exit code ${code}).`,
  shellEndedTryAgain: (host: string) => `The shell on ${host} ended. Open a new shell and try again.`,
  hostFailed: (host: string) => `Lab host ${host} failed. Stop the lab and start a new one.`,
  refused: (host: string, code: number) =>
    `The lab server closed ${host}'s terminal because it refused a message from this page (close code ${code}). Reload the page; if it happens again, the site and the lab server may be different versions.`,
  gaveUp: (host: string) => `Lost the connection to ${host} and could not get it back. Check that the lab server is running, then press Reconnect.`,
  noSuchHost: (host: string) => `This lab has no host named ${host}.`,
  lostConnection: (host: string) => `Lost the connection to ${host}.`,
  hostMessage: (host: string, message: string) => `${host}: ${message}`,
  running: (hosts: string, count: number) => `Lab running: ${hosts} ${count === 1 ? 'is' : 'are'} ready.`,
  expiry: (minutes: number) => ` If no terminal is open for ${minutes} minute${minutes === 1 ? '' : 's'}, it is removed.`,
  /** The waiting hosts' parts of one sentence, joined by `waitingSeparator`; its first letter is capitalised. */
  waitingReconnecting: (host: string) => `lost the connection to ${host}, reconnecting…`,
  waitingExited: (host: string) => `the shell on ${host} ended.`,
  waitingConnecting: (host: string) => `connecting to ${host}…`,
  waitingSeparator: '; ',
  /** How a host's tab names its shell's state to a screen reader, after its name. */
  states: {
    connecting: ', connecting',
    ready: ', ready',
    reconnecting: ', reconnecting',
    exited: ', shell ended',
    gone: ', lab gone',
    failed: ', disconnected',
    closed: ', closed',
  },
  openNewShell: 'Open a new shell',
  reconnect: 'Reconnect',
  mapTab: 'Map',
  mapLoadFailed: 'The map could not be loaded (the connection dropped, or the site was rebuilt since this page was opened). Reload the page and try again.',
  /** A host's Files tab beside its terminal's. */
  filesTab: (host: string) => `${host} files`,
  filesLoadFailed: 'The files could not be loaded (the connection dropped, or the site was rebuilt since this page was opened). Reload the page and try again.',
};
