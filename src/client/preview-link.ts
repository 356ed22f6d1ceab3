/**
 * <lab-preview>: a link to a web preview in the lesson text ("open web1"), rendered by
 * src/components/Preview.astro. Inert text until the lab panel's state (LAB_STATE_EVENT) lists a
 * preview of its host and port, i.e. once a container in the running lab publishes that port;
 * then a link that opens it in a new tab, on the preview's own origin. Text again when the port
 * is no longer listed or the lab ends. Small on purpose: it is on the page before Start lab.
 */
import { LAB_STATE_EVENT, PREVIEW_ATTRS as P, PREVIEW_TAG } from '../../contract/dom.ts';
// Type-only: protocol.ts's values would pull the terminal protocol into every lesson page.
import type { LabEventState } from '../../contract/protocol.ts';
import { preview } from '../i18n/en/page.ts';
import { text } from '../i18n/page.ts';

/** Only http(s) addresses become links: a state is data from the network. */
const WEB_URL = /^https?:\/\//i;

class LabPreview extends HTMLElement {
  #link: HTMLAnchorElement | undefined;
  /** What the inert text's title says it waits for (Preview.astro), put back when it is inert again. */
  #waiting: string | undefined;
  readonly #onState = (e: Event) => this.#show((e as CustomEvent<LabEventState | null>).detail);

  connectedCallback() {
    document.addEventListener(LAB_STATE_EVENT, this.#onState);
  }

  disconnectedCallback() {
    document.removeEventListener(LAB_STATE_EVENT, this.#onState);
  }

  #show(state: LabEventState | null) {
    const port = Number(this.getAttribute(P.port));
    const host = this.getAttribute(P.host);
    const url = state?.previews.find((p) => p.host === host && p.port === port)?.url;
    if (url && WEB_URL.test(url)) {
      if (!this.#link) {
        this.#link = document.createElement('a');
        this.#link.target = '_blank';
        this.#link.rel = 'noopener';
        this.#link.title = text(preview, (m) => m.preview).newTab(host ?? '', port);
        this.#link.append(...this.childNodes);
        this.append(this.#link);
        this.#waiting = this.title;
        this.removeAttribute('title');
      }
      this.#link.href = url;
    } else if (this.#link) {
      this.#link.replaceWith(...this.#link.childNodes);
      this.#link = undefined;
      this.title = this.#waiting ?? '';
    }
    this.toggleAttribute(P.live, this.#link !== undefined);
  }
}

if (!customElements.get(PREVIEW_TAG)) customElements.define(PREVIEW_TAG, LabPreview);
