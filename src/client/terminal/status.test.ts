import { describe, expect, it } from 'vitest';
import { labStatus, type HostStatus } from './status.ts';
import { messages } from '../../i18n/index.ts';

const host = (name: string, state: HostStatus['state'], message?: string): HostStatus => ({ host: name, state, message });

describe('the status line of a running lab', () => {
  it('says the lab is ready, and when an unattended lab is removed', () => {
    expect(labStatus([host('host1', 'ready'), host('host2', 'ready')], 1800)).toEqual({
      text: 'Lab running: host1, host2 are ready. If no terminal is open for 30 minutes, it is removed.',
      tone: 'info',
    });
    expect(labStatus([host('host1', 'ready')], 0).text).toBe('Lab running: host1 is ready.');
  });

  it('puts a lost connection before an error message, and both before who is connecting', () => {
    const waiting = [host('host1', 'connecting'), host('host2', 'reconnecting'), host('host3', 'exited')];
    expect(labStatus(waiting, 60).text).toBe('Connecting to host1…; lost the connection to host2, reconnecting…; the shell on host3 ended.');
    expect(labStatus([...waiting, host('host4', 'connecting', 'No shell.')], 60)).toEqual({ text: 'host4: No shell.', tone: 'error', reason: 'No shell.' });
    expect(labStatus([host('host4', 'connecting', 'No shell.'), host('host5', 'failed')], 60)).toEqual({ text: 'Lost the connection to host5.', tone: 'error' });
  });

  it("says it in the page's language: Chinese lists hosts with 、 and has no plural", () => {
    const zh = messages('zh');
    expect(labStatus([host('host1', 'ready'), host('host2', 'ready')], 1800, zh).text).toBe('实验运行中：host1、host2 已就绪。如果 30 分钟内没有打开任何终端，实验环境会被删除。');
    expect(labStatus([host('host1', 'connecting'), host('host2', 'reconnecting')], 60, zh).text).toBe('正在连接 host1…；与 host2 的连接已断开，正在重新连接…');
    expect(labStatus([host('host4', 'connecting', '没有 shell。')], 60, zh)).toEqual({ text: 'host4：没有 shell。', tone: 'error', reason: '没有 shell。' });
  });
});
