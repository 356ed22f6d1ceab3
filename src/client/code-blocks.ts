/**
 * Copy buttons on every code block, Run buttons on ```` ```sh run ```` blocks. The buttons are
 * added here rather than at build time because neither works without JavaScript. Run talks
 * to the lab panel only through LabPanelApi (contract/dom.ts). A block for other Docker Engines
 * than the lab's (ENGINE_ATTRS, marked by engine-marks.ts) keeps its Run button disabled, its
 * title saying why.
 */
import { ENGINE_ATTRS, LAB_ATTRS, LAB_ENGINE_EVENT, LAB_PANEL_TAG, RUN_ATTRS, type LabPanelApi } from '../../contract/dom.ts';
import { code } from '../i18n/en/page.ts';
import { text, textReady } from '../i18n/page.ts';

/** The buttons' words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(code, (m) => m.code);

/** How long "Copied" / "Sent" stays on a button before it reads as before. */
const FEEDBACK_MS = 2000;

const announcer = document.createElement('p');
announcer.className = 'visually-hidden';
announcer.setAttribute('role', 'status');
document.body.append(announcer);

function say(text: string) {
  // Clearing first makes screen readers repeat an identical message ("Copied" twice).
  announcer.textContent = '';
  requestAnimationFrame(() => (announcer.textContent = text));
}

function codeText(pre: HTMLPreElement): string {
  return (pre.querySelector('code') ?? pre).textContent ?? '';
}

async function copy(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain-http workshop servers (not localhost) have no async clipboard API.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.cssText = 'position:fixed;opacity:0;pointer-events:none';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

/** A toolbar button; `data-label` keeps its label for when a flash or "Running…" is over. */
function button(label: string, className: string, ariaLabel?: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `code-button ${className}`;
  b.textContent = label;
  b.dataset.label = label;
  if (ariaLabel) b.setAttribute('aria-label', ariaLabel);
  return b;
}

function flash(b: HTMLButtonElement, text: string) {
  const original = b.dataset.label ?? b.textContent ?? '';
  b.dataset.label = original;
  b.textContent = text;
  clearTimeout(Number(b.dataset.timer));
  b.dataset.timer = String(setTimeout(() => (b.textContent = original), FEEDBACK_MS));
}

const panel = document.querySelector(LAB_PANEL_TAG) as (HTMLElement & Partial<LabPanelApi>) | null;
const labHosts = panel?.getAttribute(LAB_ATTRS.hosts)?.split(',').filter(Boolean) ?? [];

/** Each Run button with its block, for the engine marks. */
const runButtons = new Map<HTMLButtonElement, HTMLPreElement>();

/** Disable a Run button whose block is not for the lab's engine, its title saying why (aria-disabled keeps it focusable). */
function showEngineMark(b: HTMLButtonElement, pre: HTMLPreElement) {
  const why = pre.getAttribute(ENGINE_ATTRS.applies) === 'no' ? pre.getAttribute(ENGINE_ATTRS.why) : null;
  if (why === null) b.removeAttribute('aria-disabled');
  else b.setAttribute('aria-disabled', 'true');
  b.title = why ?? '';
}

document.addEventListener(LAB_ENGINE_EVENT, () => runButtons.forEach((pre, b) => showEngineMark(b, pre)));

async function runBlock(pre: HTMLPreElement, b: HTMLButtonElement, host: string) {
  if (!panel || b.getAttribute('aria-busy') === 'true' || b.getAttribute('aria-disabled') === 'true') return;
  await customElements.whenDefined(LAB_PANEL_TAG);
  const lines = codeText(pre)
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  b.setAttribute('aria-busy', 'true');
  b.textContent = T().running;
  try {
    await (panel as HTMLElement & LabPanelApi).run(lines, host);
    flash(b, T().sent); // and back to its label after a moment
    say(T().sentTo(host));
  } catch {
    // The panel's status already says what went wrong, in words; the button just resets.
    b.textContent = b.dataset.label ?? T().run;
  } finally {
    b.removeAttribute('aria-busy');
  }
}

/** Give every code block its toolbar: Copy, and Run on a run block when the page has a lab. */
function addToolbars() {
  for (const pre of document.querySelectorAll<HTMLPreElement>('.prose pre')) {
    const wrap = document.createElement('div');
    wrap.className = 'code-block';
    const bar = document.createElement('div');
    bar.className = 'code-toolbar';
    pre.replaceWith(wrap);
    wrap.append(bar, pre);

    if (pre.hasAttribute(RUN_ATTRS.run) && panel && labHosts.length > 0) {
      const host = pre.getAttribute(RUN_ATTRS.host) ?? labHosts[0]!;
      const hostLabel = document.createElement('span');
      hostLabel.className = 'code-host';
      hostLabel.textContent = host;
      hostLabel.title = T().runsOn(host);
      const run = button(T().run, 'code-run', T().runOn(host));
      run.dataset.host = host;
      run.addEventListener('click', () => void runBlock(pre, run, host));
      runButtons.set(run, pre);
      showEngineMark(run, pre);
      bar.append(hostLabel, run);
    }

    const copyButton = button(T().copy, 'code-copy', T().copyCode);
    copyButton.addEventListener('click', async () => {
      try {
        await copy(codeText(pre));
        flash(copyButton, T().copied);
        say(T().copiedSaid);
      } catch {
        flash(copyButton, T().copyFailed);
        say(T().copyFailedSaid);
      }
    });
    bar.append(copyButton);
  }
}

// Once the page's words are there: the buttons are labelled as they appear.
void textReady.then(addToolbars);
