/**
 * The lab panel's web previews: one link per port a container publishes on a lab host
 * ("host1:8080"), opening the preview in a new tab on its own origin (the runner's
 * previews.ts), hidden while there is none. The room strip (./room.ts) hands it every state the
 * lab's event socket pushes, the same state the panel dispatches as LAB_STATE_EVENT for the
 * lesson's own preview links; not the event itself, whose name lives in contract/dom.ts (see
 * the note there on chunks).
 */
import type { PreviewLink } from '../../../contract/protocol.ts';

export interface PreviewListParts {
  /** Shown while the list has links. */
  previews: HTMLElement;
  previewList: HTMLElement;
}

/** Only http(s) addresses become links: a state is data from the network. */
const WEB_URL = /^https?:\/\//i;

/** Show `links` (none: hide the list). A list that did not change is left alone, so focus and hover stay. */
export function showPreviews(parts: PreviewListParts, links: readonly PreviewLink[]): void {
  const shown = links.filter((l) => WEB_URL.test(l.url));
  const key = shown.map((l) => `${l.host}:${l.port} ${l.url}`).join('\n');
  if (parts.previewList.dataset.shown === key) return;
  parts.previewList.dataset.shown = key;
  parts.previewList.replaceChildren(
    ...shown.map((link) => {
      const a = document.createElement('a');
      a.href = link.url;
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = `${link.host}:${link.port}`;
      const li = document.createElement('li');
      li.append(a);
      return li;
    }),
  );
  parts.previews.hidden = shown.length === 0;
}
