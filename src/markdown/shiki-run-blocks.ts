/**
 * Shiki transformer: marks runnable shell blocks so the page script can add a Run button.
 * It only writes data attributes; the buttons themselves are added in the browser
 * (src/client/code-blocks.ts) because they only make sense when JavaScript runs.
 */
import type { ShikiTransformer } from 'shiki';
import { ENGINE_ATTRS, RUN_ATTRS } from '../../contract/dom.ts';
import { parseRunMeta } from './run-meta.ts';

export function runBlocks(): ShikiTransformer {
  return {
    name: 'dnl:run-blocks',
    pre(node) {
      const meta = parseRunMeta(this.options.meta?.__raw, this.options.lang);
      if (!meta.run) return;
      node.properties[RUN_ATTRS.run] = '';
      if (meta.host) node.properties[RUN_ATTRS.host] = meta.host;
      if (meta.since) node.properties[ENGINE_ATTRS.since] = meta.since;
      if (meta.until) node.properties[ENGINE_ATTRS.until] = meta.until;
    },
  };
}
