/**
 * A Layout (./layout.ts) as markup: the drawing as an SVG string and the text alternative as
 * nested lists. Strings, not DOM, so the server renders the lessons' goal maps with the same
 * code (src/components/LabMapGoal.astro) and the Map tab replaces a whole drawing in one
 * assignment. Every name in a LabMap came from a learner's lab: all of it is escaped here.
 * The look follows content/diagrams/*.svg: currentColor strokes, hosts as dashed frames,
 * the accent for what the learner made; colours come from the page's CSS variables (map.css),
 * so light and dark both work.
 */
import type { Layout, MapLine, MapNode, OutlineItem } from './layout.ts';

/** The attribute naming a node's key on its drawn group and its list item (the details panel and tests find nodes by it). */
export const NODE_ATTR = 'data-map-node';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Approximate advance of a character at the map's sizes (px): 16 px system-ui ~ 8.6, 14 px ~ 7.6. */
const CHAR_W = { title: 9, sub: 7.6 } as const;

/** Left inset of a frame's text. */
const G_TEXT = 20;

/** Cut `text` to fit `width` px, with an ellipsis: the full text is in the node's label. */
function fit(text: string, width: number, charW: number): string {
  const max = Math.max(3, Math.floor(width / charW));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function drawLine(l: MapLine): string {
  return `<path class="map-line map-line-${l.kind}" d="M${l.x1} ${l.y1}L${l.x2} ${l.y2}"/>`;
}

function drawNode(n: MapNode, interactive: boolean): string {
  const e = escapeHtml;
  let body: string;
  let shown: string[];
  if (n.shape === 'frame') {
    shown = [fit(n.title, n.w / 2, CHAR_W.title), fit(n.sub, n.w - 2 * G_TEXT, CHAR_W.sub)];
    body =
      `<rect class="map-frame" x="${n.x + 1}" y="${n.y + 1}" width="${n.w - 2}" height="${n.h - 2}" rx="14"/>` +
      // One text of two lines, the second starting with a space: its text reads "host1 10.0.0.2", as the name does.
      `<text x="${n.x + G_TEXT}" y="${n.y + 28}"><tspan class="map-title">${e(shown[0]!)}</tspan><tspan class="map-sub" x="${n.x + G_TEXT}" dy="20"> ${e(shown[1]!)}</tspan></text>`;
  } else if (n.shape === 'bar') {
    const title = fit(n.title, n.w * 0.4, CHAR_W.title);
    shown = [title, fit(n.sub, n.w - 24 - title.length * CHAR_W.title, CHAR_W.sub)];
    body =
      `<rect class="map-shape" x="${n.x}" y="${n.y}" width="${n.w}" height="${n.h}" rx="8"/>` +
      `<text x="${n.x + n.w / 2}" y="${n.y + 26}" text-anchor="middle"><tspan class="map-title">${e(shown[0]!)}</tspan> <tspan class="map-sub">${e(shown[1]!)}</tspan></text>`;
  } else {
    const mid = n.x + n.w / 2;
    shown = [fit(n.title, n.w - 12, CHAR_W.title), fit(n.sub, n.w - 12, CHAR_W.sub)];
    body =
      `<rect class="map-shape" x="${n.x}" y="${n.y}" width="${n.w}" height="${n.h}" rx="8"/>` +
      `<text class="map-name" x="${mid}" y="${n.y + (n.shape === 'chip' ? 17 : 22)}" text-anchor="middle">${e(shown[0]!)}</text>` +
      `<text class="map-sub" x="${mid}" y="${n.y + (n.shape === 'chip' ? 33 : 41)}" text-anchor="middle">${e(shown[1]!)}</text>`;
  }
  // The accessible name starts with the text as drawn (WCAG 2.5.3, label in name: a voice-control
  // user says what they see), then the full description.
  const name = `${shown.filter(Boolean).join(' ')}: ${n.label}`;
  const classes = `map-node map-${n.shape} map-${n.ref.kind} map-tone-${n.tone}`;
  if (!interactive) return `<g class="${classes}" ${NODE_ATTR}="${e(n.key)}">${body}</g>`;
  const button = `${NODE_ATTR}="${e(n.key)}" tabindex="0" role="button" aria-label="${e(name)}"`;
  // A host's frame holds other nodes; as one button, axe takes the text of everything drawn
  // inside it for its visible label. So a frame's button is its heading (the host's name and
  // address), and the frame itself is drawing.
  if (n.shape === 'frame') {
    const [rect, text] = body.split(/(?=<text)/);
    return `<g class="${classes}">${rect}<g class="map-frame-label" ${button}>${text}</g></g>`;
  }
  return `<g class="${classes}" ${button}>${body}</g>`;
}

/**
 * The drawing. `interactive`: nodes are focusable buttons (the Map tab); otherwise the SVG is
 * one image named by `label` (a lesson's goal map, whose list is beside it).
 */
export function drawSvg(layout: Layout, label: string, interactive: boolean): string {
  const role = `role="${interactive ? 'group' : 'img'}" aria-label="${escapeHtml(label)}"`;
  // Frames first, then the lines, then everything else over them (boxes are filled, so a stem
  // from a row above passes behind a lower row's box).
  const frames = layout.nodes.filter((n) => n.shape === 'frame');
  const rest = layout.nodes.filter((n) => n.shape !== 'frame');
  return (
    `<svg class="map-svg" xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 ${layout.width + 4} ${layout.height + 4}" width="${layout.width + 4}" height="${layout.height + 4}" style="max-width:${layout.width + 4}px" ${role}>` +
    frames.map((n) => drawNode(n, interactive)).join('') +
    layout.lines.map(drawLine).join('') +
    rest.map((n) => drawNode(n, interactive)).join('') +
    '</svg>'
  );
}

function listItems(items: readonly OutlineItem[]): string {
  return items
    .map((i) => `<li${i.key ? ` ${NODE_ATTR}="${escapeHtml(i.key)}"` : ''}>${escapeHtml(i.text)}${i.children.length ? `<ul>${listItems(i.children)}</ul>` : ''}</li>`)
    .join('');
}

/** The text alternative: hosts, then their networks, then what is on each. */
export function drawList(layout: Layout, label: string): string {
  return `<ul class="map-list" aria-label="${escapeHtml(label)}">${listItems(layout.outline)}</ul>`;
}
