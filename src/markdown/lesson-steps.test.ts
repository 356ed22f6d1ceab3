import { describe, expect, it } from 'vitest';
import { compileLesson } from './lesson-steps.ts';

/** Compile an MDX body the way Astro does (same processor, same plugin) and return the steps and JS. */
function compile(body: string, hosts: string[] | null = ['host1', 'host2']) {
  return compileLesson(body, new URL('file:///course/content/99-fixture.mdx'), hosts ? { lab: { hosts } } : {});
}

const exercise = (inner: string, attrs = 'id="make-net" title="Make a network"') => `
Intro.

\`\`\`sh run
docker network ls
\`\`\`

<Exercise ${attrs}>
  Create a network called \`backend\`.

${inner}
</Exercise>
`;

const CHECK = '```sh check\ndocker network inspect backend\n```';
const HINT = '<Hint>Use `docker network create`.</Hint>';
const SOLUTION = '<Solution>\n```sh run\ndocker network create backend\n```\n</Solution>';

describe('lesson steps plugin', () => {
  it('collects run blocks in reading order and the exercise with its check, host and timeout', async () => {
    const { steps } = await compile(exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`) + '\n```sh run host=host2 fails\nping -c1 nowhere\n```\n');
    expect(steps.exercises).toEqual([
      { id: 'make-net', title: 'Make a network', host: 'host1', check: 'docker network inspect backend', timeoutSeconds: 10, line: 8, wrong: [] },
    ]);
    expect(steps.blocks.map(({ line: _line, ...b }) => b)).toEqual([
      { host: 'host1', code: 'docker network ls', expect: 'success' },
      { host: 'host1', code: 'docker network create backend', expect: 'success', exercise: 'make-net' },
      { host: 'host2', code: 'ping -c1 nowhere', expect: 'failure' },
    ]);
  });

  it('removes the check from the page and puts the hint and solution in their slots', async () => {
    const { code } = await compile(exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`));
    expect(code).not.toContain('docker network inspect backend');
    expect(code).toMatch(/_jsxs?\(Hint, \{\s*slot: "hint"/);
    expect(code).toMatch(/_jsxs?\(Solution, \{\s*slot: "solution"/);
    expect(code).toContain('docker network create backend');
  });

  it("runs a solution without host= on the exercise's host, and marks the block for the Run button", async () => {
    const { steps, code } = await compile(exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`, 'id="make-net" title="T" host="host2" timeout="30"'));
    expect(steps.exercises[0]).toMatchObject({ host: 'host2', timeoutSeconds: 30 });
    expect(steps.blocks[1]).toMatchObject({ host: 'host2', exercise: 'make-net' });
    expect(code).toMatch(/host: "host2"/);
  });

  it('keeps setup, wrong and undo blocks off the page and lists them with their hosts for the runner and the verifier', async () => {
    const hidden = [
      '```sh setup\niptables -I FORWARD -j DROP\n```',
      '```sh wrong host=host2\ndocker network create frontend\n```',
      '```sh undo host=host2\ndocker network rm frontend\n```',
      '```sh wrong\ndocker network create backend2\n```',
    ].join('\n\n');
    const task = '```sh run\ncat /etc/hosts\n```';
    const { steps, code } = await compile(exercise(`${task}\n\n${CHECK}\n\n${hidden}\n\n${HINT}\n\n${SOLUTION}`));
    for (const text of ['iptables -I FORWARD', 'frontend', 'backend2']) expect(code).not.toContain(text);
    // A run block in the task is marked as the exercise's: the verifier starts the exercise before it.
    expect(steps.blocks.find((b) => b.code === 'cat /etc/hosts')).toMatchObject({ task: 'make-net' });
    expect(code).toMatch(/setup: "true"/);
    const [ex] = steps.exercises;
    expect(ex!.setup).toMatchObject({ host: 'host1', code: 'iptables -I FORWARD -j DROP' });
    expect(ex!.wrong).toMatchObject([
      { host: 'host2', code: 'docker network create frontend', undo: { host: 'host2', code: 'docker network rm frontend' } },
      { host: 'host1', code: 'docker network create backend2' },
    ]);
    expect(ex!.wrong[1]!.undo).toBeUndefined();
  });

  it("gives an exercise's engine range to its solution blocks and marks them for the page", async () => {
    const { steps, code } = await compile(
      exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`, 'id="make-net" title="T" since="28.0.1"') + '\n```sh run until=28.0\niptables -S DOCKER-ISOLATION-STAGE-1\n```\n',
    );
    expect(steps.exercises[0]).toMatchObject({ since: '28.0.1' });
    expect(steps.blocks[1]).toMatchObject({ exercise: 'make-net', since: '28.0.1' });
    expect(steps.blocks[2]).toMatchObject({ until: '28.0' });
    expect(steps.blocks[0]!.since).toBeUndefined();
    expect(code).toMatch(/since: "28\.0\.1"/);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['an undo without a wrong block before it', `${CHECK}\n\n\`\`\`sh undo\ndocker network rm x\n\`\`\`\n\n${HINT}\n\n${SOLUTION}`, /undo block in <Exercise id="make-net"> must come right after the wrong block/],
    ['two setup blocks', `${CHECK}\n\n\`\`\`sh setup\ntrue\n\`\`\`\n\n\`\`\`sh setup\ntrue\n\`\`\`\n\n${HINT}\n\n${SOLUTION}`, /has more than one setup block/],
    ['a wrong block for a host the lab lacks', `${CHECK}\n\n\`\`\`sh wrong host=host3\ntrue\n\`\`\`\n\n${HINT}\n\n${SOLUTION}`, /wrong block of <Exercise id="make-net"> is for host "host3"/],
    ['a misspelt flag on a block', `${CHECK}\n\n\`\`\`sh wrnog\ntrue\n\`\`\`\n\n${HINT}\n\n${SOLUTION}`, /has "wrnog" in its meta/],
    ['no check', `${HINT}\n\n${SOLUTION}`, /99-fixture\.mdx:8: <Exercise id="make-net"> has no check/],
    ['no hint', `${CHECK}\n\n${SOLUTION}`, /99-fixture\.mdx:8: <Exercise id="make-net"> needs exactly one <Hint>/],
    ['no solution', `${CHECK}\n\n${HINT}`, /needs exactly one <Solution>; it has 0/],
    ['a solution without run blocks', `${CHECK}\n\n${HINT}\n\n<Solution>\nJust do it.\n</Solution>`, /<Solution> has no ```sh run block/],
    ['a check with a hard-coded address', '```sh check\nwget -qO- 172.18.0.2\n```\n\n' + `${HINT}\n\n${SOLUTION}`, /99-fixture\.mdx:11: .*uses the address 172\.18\.0\.2.*docker inspect/],
  ];
  for (const [what, inner, message] of malformed) {
    it(`fails the build, naming file, line and problem, for an exercise with ${what}`, async () => {
      await expect(compile(exercise(inner))).rejects.toThrow(message);
    });
  }

  it('fails on a bad id, naming the attribute and the reason', async () => {
    await expect(compile(exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`, 'id="Make Net" title="T"'))).rejects.toThrow(
      /99-fixture\.mdx:8: <Exercise id="Make Net"> attribute id: an exercise id is 2-48 lowercase letters/,
    );
  });

  it('fails on an unknown attribute and on a host the lab lacks', async () => {
    await expect(compile(exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`, 'id="a1" title="T" hots="host2"'))).rejects.toThrow(/attribute hots: /);
    await expect(compile(exercise(`${CHECK}\n\n${HINT}\n\n${SOLUTION}`, 'id="a1" title="T" host="host3"'))).rejects.toThrow(
      /runs its check on "host3", but the lesson's lab only has host1, host2/,
    );
  });

  it('allows an address in a check when the task itself asks for it', async () => {
    const body = exercise(`Give it the subnet 10.10.0.0/24.\n\n\`\`\`sh check\ndocker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' backend | grep -qx 10.10.0.0/24\n\`\`\`\n\n${HINT}\n\n${SOLUTION}`);
    const { steps } = await compile(body);
    expect(steps.exercises[0]!.check).toContain('10.10.0.0/24');
  });

  it('fails on run blocks in a lesson without a lab, and on a hint outside an exercise', async () => {
    await expect(compile('```sh run\nls\n```\n', null)).rejects.toThrow(/no `lab:` in its frontmatter/);
    await expect(compile('<Hint>x</Hint>\n')).rejects.toThrow(/<Hint> belongs directly inside an <Exercise>/);
  });
});
