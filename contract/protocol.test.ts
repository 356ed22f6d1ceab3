import { describe, expect, it } from 'vitest';
import { CLIENT_MESSAGES, FLOW, MAX_CLOSE_REASON_BYTES, RUNNER_NOTICES, TERMINAL_LIMITS, closeReason, parseClientMessage, parseLabEvent, parseServerMessage } from './protocol.ts';
import { ROUTES } from './api.ts';

describe('the wire protocol', () => {
  it('accepts a resize and clamps absurd sizes to the terminal limits', () => {
    expect(parseClientMessage('{"type":"resize","cols":65535,"rows":65535}')).toEqual({
      ok: true,
      message: { type: CLIENT_MESSAGES.resize, cols: TERMINAL_LIMITS.maxCols, rows: TERMINAL_LIMITS.maxRows },
    });
    expect(parseClientMessage('{"type":"resize","cols":-5,"rows":0}')).toMatchObject({ ok: true, message: { cols: 2, rows: 1 } });
  });

  it('rejects frames that are not JSON objects, unknown types and bad fields, saying why', () => {
    expect(parseClientMessage('not json')).toEqual({ ok: false, reason: 'control frame is not JSON' });
    expect(parseClientMessage('[1,2]')).toMatchObject({ ok: false });
    expect(parseClientMessage('null')).toMatchObject({ ok: false });
    expect(parseClientMessage('{"type":"exec","cmd":"rm -rf /"}')).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown message type/) });
    expect(parseClientMessage('{"type":"resize","cols":"80","rows":24}')).toMatchObject({ ok: false });
    expect(parseClientMessage('{"type":"resize","cols":1e400,"rows":24}')).toMatchObject({ ok: false });
    expect(parseClientMessage('{"type":"ack","bytes":-1}')).toMatchObject({ ok: false });
  });

  it('never throws on arbitrary input', () => {
    const samples = ['', '{', '"x"', '{"type":null}', '{"type":{"a":1}}', '\u0000\uffff', '{"__proto__":{"type":"ack"}}'];
    for (let i = 0; i < 500; i++) samples.push(String.fromCharCode(...Array.from({ length: i % 40 }, (_, j) => (i * 31 + j * 7) % 256)));
    for (const s of samples) {
      expect(() => parseClientMessage(s)).not.toThrow();
      expect(() => parseServerMessage(s)).not.toThrow();
    }
  });

  it('parses the messages the runner sends', () => {
    expect(parseServerMessage('{"type":"exit","code":null}')).toEqual({ ok: true, message: { type: 'exit', code: null } });
    expect(parseServerMessage('{"type":"error","message":"gone"}')).toMatchObject({ ok: true });
    expect(parseServerMessage('{"type":"error"}')).toMatchObject({ ok: false });
  });

  it("keeps a runner notice's code on an error or ended frame, and drops a code it does not know", () => {
    expect(parseServerMessage('{"type":"error","message":"gone","code":"host_gone"}')).toEqual({
      ok: true,
      message: { type: 'error', message: 'gone', code: RUNNER_NOTICES.hostGone },
    });
    expect(parseServerMessage('{"type":"error","message":"gone","code":"__proto__"}')).toEqual({ ok: true, message: { type: 'error', message: 'gone' } });
    expect(parseServerMessage('{"type":"error","message":"gone","code":{"x":1}}')).toEqual({ ok: true, message: { type: 'error', message: 'gone' } });
    expect(parseLabEvent('{"type":"ended","reason":"bye","code":"idle"}')).toEqual({ ok: true, message: { type: 'ended', reason: 'bye', code: RUNNER_NOTICES.idle } });
    expect(parseLabEvent('{"type":"ended","reason":"bye","code":"nope"}')).toEqual({ ok: true, message: { type: 'ended', reason: 'bye' } });
  });

  it('reads the hosts still starting from a lab state, taking a missing or malformed list as none', () => {
    const state = (extra: string) => `{"type":"state","state":{"learner":{"name":null,"help":false},"watchers":0,"notice":null,"previews":[]${extra}}}`;
    const starting = (text: string) => {
      const parsed = parseLabEvent(text);
      return parsed.ok && parsed.message.type === 'state' ? parsed.message.state.starting : 'not a state';
    };
    expect(starting(state(',"starting":["host1","host2"]'))).toEqual(['host1', 'host2']);
    expect(starting(state(''))).toEqual([]);
    expect(starting(state(',"starting":"host1"'))).toEqual([]);
    expect(starting(state(',"starting":["host1",7,{"x":1}]'))).toEqual(['host1']);
  });

  it('keeps the high watermark well above the acknowledgement batch, so output never stalls', () => {
    expect(FLOW.HIGH_WATERMARK).toBeGreaterThanOrEqual(4 * FLOW.ACK_BATCH);
    expect(FLOW.LOW_WATERMARK).toBeLessThan(FLOW.HIGH_WATERMARK);
  });

  it('builds terminal paths that escape their parts', () => {
    expect(ROUTES.terminal.path('abc', 'host1', 'a+b/c')).toBe('/api/labs/abc/hosts/host1/terminal?token=a%2Bb%2Fc');
  });

  it('cuts a close reason to 123 UTF-8 bytes without splitting a character, and quotes only the start of an unknown type', () => {
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    expect(closeReason('short')).toBe('short');
    const cut = closeReason('熊'.repeat(120));
    expect(bytes(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    expect(cut).toBe('熊'.repeat(41));
    expect(closeReason('😀'.repeat(40))).toBe('😀'.repeat(30));
    const parsed = parseClientMessage(JSON.stringify({ type: '熊'.repeat(120) }));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason.length).toBeLessThan(80);
  });
});
