import { describe, expect, it } from 'vitest';
import { inlineCodeHtml } from './inline-code.ts';

describe('inline code in frontmatter text', () => {
  it('turns backticked spans into <code> and escapes all other HTML', () => {
    expect(inlineCodeHtml('Enter a namespace with `ip netns exec <name>` & <b>more</b>')).toBe(
      'Enter a namespace with <code>ip netns exec &lt;name&gt;</code> &amp; &lt;b&gt;more&lt;/b&gt;',
    );
  });

  it('leaves a lone backtick as text', () => {
    expect(inlineCodeHtml('a ` b')).toBe('a ` b');
  });
});
