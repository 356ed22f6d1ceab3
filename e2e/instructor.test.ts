/**
 * The instructor dashboard and the learner's side of it, in headless Debian chromium against
 * the built site served by a real runner with LAB_INSTRUCTOR_CODE: a learner page and an
 * instructor page in two browser contexts (two people). The learner starts a lab, gives a name,
 * passes an exercise and asks for help; the instructor sees each within 2 s, watches the
 * learner's terminal (and cannot type into it), sends a message the learner sees, and ends the
 * lab, which the learner is told. In a workshop of two machines (cells) the dashboard lists both
 * machines and both cells' labs, and axe finds nothing on it in either theme. The runner-side
 * refusals are in sandbox/test/instructor.test.ts, the cells' side in sandbox/test/cells-instructor.test.ts.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTRUCTOR_COOKIE, INSTRUCTOR_ROUTES, type LabCreated } from '../contract/api.ts';
import { EXERCISE_ATTRS as X, EXERCISE_TAG, LAB_ATTRS as L, sel } from '../contract/dom.ts';
import { INSTRUCTOR_ATTRS as I } from '../contract/instructor-dom.ts';
import { api, startCells, startRunner, type RunningRunner } from '../sandbox/test/harness.ts';
import { axeViolations } from './axe.ts';
import { launchBrowser } from './browser.ts';

const CODE = 'teach-the-room-42';
const SLUG = '05-user-defined-bridges';
const LESSON = `/lessons/${SLUG}/`;
const EXERCISE = 'bridges-backend-by-name';
const LAB_START_MS = 45_000;
/** The promise: the instructor sees a learner's change within this long. */
const SEEN_WITHIN_MS = 2_000;

const terminal = (page: Page) => page.locator('[role=tabpanel][data-host=host1] .xterm-rows');
const row = (page: Page, labId: string) => page.locator(`tr${sel(I.labId, labId)}`);

/** Poll until `read` matches, and return how long after `since` it did (ms). */
async function seenAfter(since: number, read: () => Promise<string>, pattern: RegExp, timeout = SEEN_WITHIN_MS * 2): Promise<number> {
  await expect.poll(read, { timeout, interval: 50 }).toMatch(pattern);
  return performance.now() - since;
}

describe('the instructor dashboard in a browser', () => {
  let browser: Browser;
  let runner: RunningRunner;
  let lab: LabCreated | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    runner = await startRunner({ LAB_INSTRUCTOR_CODE: CODE });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    if (lab) await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    for (const c of contexts) await c.close();
    await browser?.close();
    await runner?.stop();
  });

  async function person(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    return context.newPage();
  }

  it('refuses every instructor route before sign-in, refuses a wrong code, then throttles the tries', async () => {
    const page = await person();
    await page.goto(runner.url + '/instructor/');
    const status = page.locator(sel(I.status));
    await expect.poll(() => status.innerText()).toBe('Sign in with the instructor code.');
    // Every route refuses this browser before it signs in.
    const before = await page.evaluate(async (paths) => Promise.all(paths.map(async (p) => (await fetch(p)).status)), [INSTRUCTOR_ROUTES.events.path(), INSTRUCTOR_ROUTES.progress.path()]);
    expect(before).toEqual([401, 401]);

    await page.getByLabel('Instructor code').fill('not-the-code');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => status.innerText()).toBe('That is not the instructor code. Check LAB_INSTRUCTOR_CODE on the server and try again.');
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Instructor code').fill(`wrong-${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await expect.poll(() => status.innerText()).toMatch(/^Too many sign-in attempts from your address\. Wait \d+ seconds/);
  });

  it('keeps the session cookie out of page script\'s reach and shows the room live: a learner\'s lab, name, passed exercise and help request within 2 s; watch is read-only; the message reaches the learner; ending the lab tells them why; warming for the room and stopping it', async () => {
    // A runner of its own: the previous test used up this address's sign-in attempts.
    await runner.stop();
    runner = await startRunner({ LAB_INSTRUCTOR_CODE: CODE });

    const teacher = await person();
    await teacher.goto(runner.url + '/instructor/');
    await teacher.getByLabel('Instructor code').fill(CODE);
    await teacher.getByRole('button', { name: 'Sign in' }).click();
    const teacherStatus = teacher.locator(sel(I.status));
    await expect.poll(() => teacherStatus.innerText()).toBe('Live: 0 labs in the room.');
    // The machine's engine does not remap user namespaces: the dashboard says what that means.
    expect(await teacher.locator(sel(I.isolation)).innerText()).toBe('Labs are root-equivalent on this machine: use a dedicated machine.');
    // One machine: no Machines panel, and the warm form needs no word about machines.
    expect(await teacher.locator(sel(I.machines)).isVisible()).toBe(false);
    expect(await teacher.locator(sel(I.warmHere)).isVisible()).toBe(false);
    // The session cookie exists, but page script cannot see it.
    const cookies = await teacher.context().cookies();
    expect(cookies.find((c) => c.name === INSTRUCTOR_COOKIE)).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/instructor' });
    expect(await teacher.evaluate(() => document.cookie)).not.toContain(INSTRUCTOR_COOKIE);

    // The learner starts a lab.
    const learner = await person();
    await learner.goto(runner.url + LESSON);
    const created = learner.waitForResponse((r) => new URL(r.url()).pathname === '/api/labs' && r.request().method() === 'POST');
    let since = performance.now();
    await learner.click(sel(L.start));
    lab = (await (await created).json()) as LabCreated;
    const seenLab = await seenAfter(since, () => teacherStatus.innerText(), /^Live: 1 lab in the room\.$/, LAB_START_MS);
    await expect.poll(() => terminal(learner).innerText(), { timeout: LAB_START_MS }).toMatch(/root@host1:~#/);

    // A name, asked once.
    const nameField = learner.getByLabel('Your name for the instructor (optional)');
    await nameField.waitFor({ state: 'visible' });
    since = performance.now();
    await nameField.fill('Ada Lovelace');
    await learner.locator(sel(L.name)).getByRole('button', { name: 'Save' }).click();
    const seenName = await seenAfter(since, () => row(teacher, lab!.id).innerText(), /Ada Lovelace/);
    expect(await learner.locator(sel(L.name)).isVisible()).toBe(false);

    // An exercise passed in the lab.
    await learner.locator('[role=tabpanel][data-host=host1] .xterm').click();
    await learner.keyboard.type('docker network create backend && docker run -d --name api --network backend web\n');
    await expect.poll(() => terminal(learner).innerText(), { timeout: 30_000 }).toMatch(/^[0-9a-f]{64}$/m);
    const exercise = learner.locator(`${EXERCISE_TAG}${sel(X.id, EXERCISE)}`);
    await exercise.locator(sel(X.check)).click();
    await expect.poll(() => exercise.getAttribute(X.result), { timeout: 40_000 }).toBe('passed');
    since = performance.now();
    const seenPass = await seenAfter(since, () => row(teacher, lab!.id).innerText(), new RegExp(`1 of 3[\\s\\S]*${EXERCISE}: passed`));

    // Help.
    since = performance.now();
    await learner.getByRole('button', { name: 'Ask for help' }).click();
    const seenHelp = await seenAfter(since, () => row(teacher, lab!.id).innerText(), /Asking for/);
    expect(await row(teacher, lab.id).getAttribute(I.needsHelp)).toBe('');
    expect(await learner.getByRole('button', { name: 'Cancel help request' }).getAttribute('aria-pressed')).toBe('true');
    console.log(`instructor saw: the lab ${Math.round(seenLab)} ms after Start lab, the name ${Math.round(seenName)} ms, the pass ${Math.round(seenPass)} ms, the help request ${Math.round(seenHelp)} ms`);
    for (const ms of [seenName, seenPass, seenHelp]) expect(ms).toBeLessThan(SEEN_WITHIN_MS);

    // The instructor answers: the flag clears on both sides.
    await row(teacher, lab.id).getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => learner.getByRole('button', { name: 'Ask for help' }).getAttribute('aria-pressed')).toBe('false');

    // Watching: what the learner types appears; the learner is told; typing in the watch sends nothing.
    await row(teacher, lab.id).getByRole('button', { name: 'Watch Ada Lovelace on host1' }).click();
    const watchRows = teacher.locator(`${sel(I.watchTerminal)} .xterm-rows`);
    await expect.poll(() => watchRows.innerText()).toMatch(/root@host1:~#/);
    await expect.poll(() => learner.locator(sel(L.watching)).isVisible()).toBe(true);
    expect(await learner.locator(sel(L.watching)).innerText()).toBe('An instructor is watching your terminal (they can see it, not type in it).');
    await learner.locator('[role=tabpanel][data-host=host1] .xterm').click();
    since = performance.now();
    await learner.keyboard.type('echo typed-by-$((6*7))-the-learner\n');
    const seenTyping = await seenAfter(since, () => watchRows.innerText(), /typed-by-42-the-learner/);
    console.log(`the watch showed the learner's typing ${Math.round(seenTyping)} ms after it was typed`);
    await teacher.locator(sel(I.watchTerminal)).click();
    await teacher.keyboard.type('echo from-the-instructor\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(await terminal(learner).innerText()).not.toContain('from-the-instructor');
    await teacher.getByRole('button', { name: 'Stop watching' }).click();
    await expect.poll(() => learner.locator(sel(L.watching)).isVisible()).toBe(false);

    // A message to the room: a banner on the learner's page, which they can dismiss.
    await teacher.getByLabel('Message to every learner').fill('Break until 11:00');
    await teacher.getByRole('button', { name: 'Send' }).click();
    const banner = learner.locator(sel(L.notice));
    await expect.poll(() => banner.isVisible()).toBe(true);
    expect(await banner.innerText()).toMatch(/From the instructor:\s*Break until 11:00/);
    await banner.getByRole('button', { name: 'Dismiss' }).click();
    expect(await banner.isVisible()).toBe(false);

    // The CSV export has the learner's row.
    const csv = await teacher.evaluate(async (path) => (await fetch(path)).text(), INSTRUCTOR_ROUTES.progress.path());
    expect(csv).toContain(`${lab.id},Ada Lovelace,${SLUG},host1,`);

    // Ending the lab: the learner reads why.
    teacher.once('dialog', (d) => void d.accept());
    await row(teacher, lab.id).getByRole('button', { name: 'End' }).click();
    await expect.poll(() => learner.locator(sel(L.status)).innerText(), { timeout: 10_000 }).toMatch(/^The instructor ended this lab\. Start a new lab to continue/);
    await expect.poll(() => teacherStatus.innerText()).toBe('Live: 0 labs in the room.');
    lab = undefined;

    // Warming the pool for the room (on the engine that is not the default), and stopping it: the list says what the pool holds.
    await teacher.getByLabel('Learners expected').fill('1');
    await teacher.locator(sel(I.warmLesson)).selectOption(SLUG);
    await teacher.locator(sel(I.warmEngine)).selectOption('26');
    await teacher.getByRole('button', { name: 'Warm', exact: true }).click();
    const warmings = teacher.locator(sel(I.warmings));
    await expect.poll(() => warmings.innerText()).toMatch(/^Warm for 1 on “User-defined bridge networks” \(Docker Engine 26\.1\.5\): \d ready, \d starting, 0 taken; until /);
    await expect.poll(() => warmings.innerText(), { timeout: LAB_START_MS }).toMatch(/1 ready, 0 starting/);
    await warmings.getByRole('button', { name: 'Stop warming' }).click();
    await expect.poll(() => warmings.innerText()).toBe('');
  });
});

describe('the instructor dashboard of a workshop on two machines', () => {
  const CELLS = ['cella', 'cellb'] as const;
  let runners: Record<(typeof CELLS)[number], RunningRunner>;
  let browser: Browser;
  const labs: LabCreated[] = [];
  beforeAll(async () => {
    // One lab each: the two labs created through cella land one on each machine.
    runners = await startCells(CELLS, { secret: 'a-secret-for-the-dashboard-test-0123456789', firstSubnet: 237, env: { LAB_INSTRUCTOR_CODE: CODE, LAB_MAX_LABS: '1' } });
    browser = await launchBrowser();
    for (let i = 0; i < 2; i++) labs.push(await runners.cella.client.create(SLUG));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(CELLS.map((c) => runners?.[c]?.stop()));
  });

  it('lists both machines and both machines\' labs, says the warm form warms this machine, and axe finds no violation, light and dark', async () => {
    expect(labs.map((l) => l.id.split('-')[0]).sort()).toEqual([...CELLS]);
    for (const theme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ bypassCSP: true, colorScheme: theme, viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      await page.goto(runners.cella.url + '/instructor/');
      await page.getByLabel('Instructor code').fill(CODE);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.locator(sel(I.status)).innerText()).toBe('Live: 2 labs in the room.');
      for (const lab of labs) await row(page, lab.id).waitFor();
      const machines = page.locator(`${sel(I.machineList)} li`);
      await expect.poll(() => machines.allInnerTexts()).toEqual([
        expect.stringMatching(/^cella \(this one\): 1 of 1 labs · [\d.]+ GiB free · warm pool 0 ready · takes new labs$/),
        expect.stringMatching(/^cellb: 1 of 1 labs · [\d.]+ GiB free · warm pool 0 ready · takes new labs$/),
      ]);
      expect(await page.locator(sel(I.capacity)).innerText()).toMatch(/^This machine: Labs: 1 of 1 · /);
      expect(await page.locator(sel(I.warmHere)).innerText()).toBe('Warms this machine\'s pool only: each machine of the workshop keeps its own.');
      expect(await axeViolations(page), `the dashboard on two machines, ${theme}`).toEqual([]);
      await context.close();
    }
  }, 120_000);
});
