/**
 * The terminals' words in the page's language (src/i18n/page.ts), read when said: a host's tab and
 * notices, the connection's sentences, the status line of a running lab. Loaded with the terminals.
 */
import { terminal } from '../../i18n/en/terminal.ts';
import { text } from '../../i18n/page.ts';

export const terminalText = () => text(terminal, (m) => m.terminal);
