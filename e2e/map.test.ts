/**
 * The lab panel's Map tab in headless Debian chromium against the built site and a real runner:
 * nothing of the map loads before its tab is opened; opened (by the keyboard), it follows what
 * is done in the lab within the times (chapter 5: a network and its container come and
 * go; chapter 1: a namespace and veth pair; chapter 7: one overlay spanning both hosts with its
 * VNI; chapter 8: a macvlan container on host1's eth0 with its own MAC); 50 containers made in a
 * loop leave the page responsive (no long task over 100 ms) and settle within 3 s of the last; a
 * map of another version is refused in words.
 * The container `a` is `a1` here: the lab hosts' Engine 20.10 wants names of two characters or more.
 * Changes are made with `docker exec` into the lab hosts, as the learner's shell would, so the
 * time from a change to the redrawn map is measured from the moment the command returned.
 * It prints: the map chunk's gzipped size, event-to-redraw median and p95, the longest task.
 * With UPDATE_SCREENSHOTS=1 it saves docs/images/map-chapter-5.png and map-chapter-7.png.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { LabCreated } from '../contract/api.ts';
import { labHostContainerName } from '../sandbox/src/names.ts';
import { docker, execIn, percentile, ROOT } from '../sandbox/test/harness.ts';
import { runnerAndBrowser } from './browser.ts';

/** The bounds: a change drawn within 2 s; 50 containers settled within 3 s of the last; no task over 100 ms. */
const CHANGE_DRAWN_MS = 2_000;
const SETTLED_MS = 3_000;
const LONG_TASK_MS = 100;
/** What the Map tab may load when opened, gzipped (docs/architecture.md states it). */
const MAP_JS_BUDGET = 30 * 1024;
/** Create/remove pairs timed for the event-to-redraw figures. */
const TIMED_CHANGES = 10;
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';

const node = (key: string) => `.lab-map-drawing [data-map-node="${key}"]`;

describe('the lab map in a browser', () => {
  const t = runnerAndBrowser();
  const sh = async (container: string, script: string, timeoutMs = 60_000) => {
    const r = await execIn(container, ['sh', '-c', script], timeoutMs);
    expect(r.code, r.output).toBe(0);
    return r.output;
  };


  /** Open `lesson`, Start lab, wait for every host's engine; returns the page and the host containers' names. */
  async function startLab(lesson: string, hosts: string[]): Promise<{ page: Page; lab: LabCreated; host: Record<string, string> }> {
    const page = await t.browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.addInitScript(() => {
      const w = window as unknown as { longTasks: number[] };
      w.longTasks = [];
      new PerformanceObserver((list) => w.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${t.runner.url}/lessons/${lesson}/`, { waitUntil: 'networkidle' });
    const created = page.waitForResponse((r) => r.url().endsWith('/api/labs') && r.request().method() === 'POST');
    await page.click('[data-lab-start]');
    const lab = (await (await created).json()) as LabCreated;
    const host = Object.fromEntries(hosts.map((h) => [h, labHostContainerName(lab.id, h)]));
    for (const name of Object.values(host)) {
      for (const until = Date.now() + 60_000; !(await docker.getContainer(name).inspect().then((c) => c.State.Running, () => false)); ) {
        if (Date.now() > until) throw new Error(`${name} did not start`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await sh(name, 'until docker info >/dev/null 2>&1; do sleep 0.2; done');
    }
    return { page, lab, host };
  }

  /** Open the Map tab from the keyboard (End in the tab strip) and wait for the first drawing. */
  async function openMap(page: Page): Promise<void> {
    await page.locator('[role=tab][data-host=host1]').focus();
    await page.keyboard.press('End');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('lab-map-tab');
    await page.locator(node('host:host1')).waitFor({ timeout: 15_000 });
  }

  /** Run `script` in a host; the ms from its return until `selector` is (or, with `gone`, is no longer) on the map. */
  async function drawnAfter(page: Page, container: string, script: string, selector: string, gone = false): Promise<number> {
    await sh(container, script);
    const returned = Date.now();
    await page.locator(selector).first().waitFor({ state: gone ? 'detached' : 'attached', timeout: CHANGE_DRAWN_MS + 3_000 });
    return Date.now() - returned;
  }

  it('chapter 5: loads nothing of the map before its tab is opened; shows network app with its container and address within 2 s, and drops the container within 2 s of docker rm', async () => {
    const { page, host } = await startLab('05-user-defined-bridges', ['host1']);
    const scripts = () => page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.js')));
    await page.locator('#lab-map-tab').waitFor();
    expect((await scripts()).some((s) => /map-view/.test(s))).toBe(false);
    await openMap(page);
    const mapJs = (await scripts()).filter((s) => /map-view/.test(s));
    expect(mapJs).toHaveLength(1);
    const file = readdirSync(path.join(ROOT, 'dist/_astro')).find((f) => f === path.basename(new URL(mapJs[0]!).pathname))!;
    const gz = gzipSync(readFileSync(path.join(ROOT, 'dist/_astro', file))).length;
    console.log(`map: the Map tab loads ${file}, ${gz} bytes gzipped (budget ${MAP_JS_BUDGET})`);
    expect(gz).toBeLessThan(MAP_JS_BUDGET);

    const h1 = host.host1!;
    const shown = await drawnAfter(page, h1, 'docker network create app >/dev/null && docker run -d --name a1 --network app busybox sleep 1d >/dev/null', node('ctr:host1/a1@host1/app'));
    expect(shown).toBeLessThan(CHANGE_DRAWN_MS);
    await expect.poll(() => page.locator(node('net:host1/app')).count()).toBe(1);
    const ip = (await sh(h1, "docker inspect -f '{{.NetworkSettings.Networks.app.IPAddress}}' a1")).trim();
    expect(await page.locator(node('ctr:host1/a1@host1/app')).textContent()).toContain(ip);
    // The text alternative says the same.
    expect(await page.locator(`.lab-map-list li[data-map-node="ctr:host1/a1@host1/app"]`).textContent()).toContain(ip);
    // Chosen, it shows its address with a Copy button.
    await page.locator(node('ctr:host1/a1@host1/app')).click();
    await expect.poll(() => page.locator('.lab-map-details').textContent()).toContain(ip);
    await page.locator(`.lab-map-details button[aria-label="Copy ${ip}"]`).first().waitFor();
    // At phone width the list replaces the drawing.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.locator('.lab-map-drawing').isVisible()).toBe(false);
    expect(await page.locator('.lab-map-list').isVisible()).toBe(true);
    await page.setViewportSize({ width: 1440, height: 1000 });
    const removed = await drawnAfter(page, h1, 'docker rm -f a1 >/dev/null', node('ctr:host1/a1@host1/app'), true);
    expect(removed).toBeLessThan(CHANGE_DRAWN_MS);

    const times = [shown, removed];
    for (let i = 0; i < TIMED_CHANGES; i++) {
      times.push(await drawnAfter(page, h1, `docker run -d --name t${i} --network app busybox sleep 1d >/dev/null`, node(`ctr:host1/t${i}@host1/app`)));
      times.push(await drawnAfter(page, h1, `docker rm -f t${i} >/dev/null`, node(`ctr:host1/t${i}@host1/app`), true));
    }
    console.log(`map: event to redrawn map over ${times.length} changes: median ${percentile(times, 50)} ms, p95 ${percentile(times, 95)} ms, max ${Math.max(...times)} ms`);
    for (const t of times) expect(t).toBeLessThan(CHANGE_DRAWN_MS);

    if (SCREENSHOTS) {
      await sh(h1, 'docker network create mynet >/dev/null && docker run -d --name web1 --network mynet web >/dev/null && docker run -d --name web2 web >/dev/null && docker network connect mynet web2');
      await page.locator(node('ctr:host1/web2@host1/mynet')).waitFor({ timeout: 5_000 });
      await page.locator(node('ctr:host1/web2@host1/mynet')).click();
      await shoot(page, 'map-chapter-5.png');
    }

    // 50 containers in a loop: no long task over 100 ms while the map redraws, settled within 3 s of the last.
    // The observer does see long tasks: a 120 ms busy loop in a task of the page's is one.
    const longTasks = () => page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks.length);
    const seen = await longTasks();
    await page.evaluate(() => {
      setTimeout(() => {
        for (const t = performance.now(); performance.now() - t < 120; );
      });
    });
    await expect.poll(longTasks).toBe(seen + 1);
    const before = await longTasks();
    const started = Date.now();
    await sh(h1, 'for i in $(seq 1 50); do docker run -d --name c$i --network app busybox sleep 1d >/dev/null || exit 1; done', 240_000);
    const returned = Date.now();
    await page.locator(node('ctr:host1/c50@host1/app')).waitFor({ timeout: SETTLED_MS + 5_000 });
    await expect.poll(() => page.locator('.lab-map-drawing [data-map-node^="ctr:host1/c"]').count(), { timeout: SETTLED_MS }).toBe(50);
    const settled = Date.now() - returned;
    const tasks = await page.evaluate((n) => (window as unknown as { longTasks: number[] }).longTasks.slice(n), before);
    console.log(`map: 50 containers made in ${((returned - started) / 1000).toFixed(1)} s; all 50 drawn ${settled} ms after the last; ${tasks.length} long tasks meanwhile, longest ${Math.round(Math.max(0, ...tasks))} ms`);
    expect(settled).toBeLessThan(SETTLED_MS);
    expect(Math.max(0, ...tasks)).toBeLessThan(LONG_TASK_MS);
    await page.click('[data-lab-stop]');
    await page.close();
  }, 600_000);

  it('chapter 1: a namespace and a veth pair made by hand appear', async () => {
    const { page, host } = await startLab('01-network-namespaces', ['host1']);
    await openMap(page);
    const h1 = host.host1!;
    // A namespace alone changes no link the runner watches: it shows with the next change, the veth pair.
    await sh(h1, 'ip netns add red');
    expect(await drawnAfter(page, h1, 'ip link add veth-host type veth peer name veth-red', node('if:host1/veth-red'))).toBeLessThan(CHANGE_DRAWN_MS);
    await page.locator(node('ns:host1/red')).waitFor({ timeout: CHANGE_DRAWN_MS });
    await page.locator(node('if:host1/veth-host')).waitFor({ timeout: CHANGE_DRAWN_MS });
    // Moved into red, its end is drawn in red and the host's end says so.
    await sh(h1, 'ip link set veth-red netns red && ip -n red addr add 10.1.0.2/24 dev veth-red');
    await expect.poll(() => page.locator(node('ns:host1/red')).getAttribute('aria-label'), { timeout: CHANGE_DRAWN_MS + 1_000 }).toContain('10.1.0.2/24');
    await expect.poll(() => page.locator(node('if:host1/veth-host')).getAttribute('aria-label')).toContain('in namespace red');
    await page.click('[data-lab-stop]');
    await page.close();
  }, 300_000);

  it('chapter 7: after the swarm join and the overlay steps, the overlay appears once, spanning host1 and host2, with its VNI', async () => {
    const { page, host } = await startLab('10-overlay-networks', ['host1', 'host2']);
    await openMap(page);
    const address = (await sh(host.host1!, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")).trim();
    const token = (await sh(host.host1!, `docker swarm init --advertise-addr ${address} >/dev/null && docker swarm join-token -q worker`)).trim().split(/\s+/).at(-1)!;
    await sh(host.host2!, `docker swarm join --token ${token} ${address}:2377`);
    await sh(host.host1!, 'docker network create --driver overlay --attachable overnet >/dev/null && docker run -d --name web1 --network overnet web >/dev/null');
    await sh(host.host2!, 'docker run -d --name web2 --network overnet web >/dev/null');
    await page.locator(node('ctr:host2/web2@swarm/overnet')).waitFor({ timeout: CHANGE_DRAWN_MS + 3_000 });
    await page.locator(node('ctr:host1/web1@swarm/overnet')).waitFor({ timeout: CHANGE_DRAWN_MS });
    const bars = page.locator(node('net:swarm/overnet'));
    expect(await bars.count()).toBe(1);
    const vni = (await sh(host.host1!, `docker network inspect -f '{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}' overnet`)).trim();
    expect(await bars.textContent()).toContain(`VNI ${vni}`);
    const [bar, h1, h2] = await Promise.all([bars, page.locator(node('host:host1')), page.locator(node('host:host2'))].map((l) => l.boundingBox()));
    expect(bar!.x).toBeLessThan(h1!.x + h1!.width);
    expect(bar!.x + bar!.width).toBeGreaterThan(h2!.x);
    if (SCREENSHOTS) {
      await page.locator(node('net:swarm/overnet')).click();
      await shoot(page, 'map-chapter-7.png');
    }
    await page.click('[data-lab-stop]');
    await page.close();
  }, 300_000);

  it('chapter 8: the macvlan container appears on host1\'s eth0 with its own MAC', async () => {
    const { page, host } = await startLab('11-macvlan', ['host1', 'host2']);
    await openMap(page);
    const h1 = host.host1!;
    await sh(h1, 'docker network create --driver macvlan --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" --ip-range "$LAB_MACVLAN_RANGE" -o parent=eth0 lan >/dev/null && docker run -d --name web1 --network lan web >/dev/null');
    const web1 = page.locator(node('ctr:host1/web1@host1/lan'));
    await web1.waitFor({ timeout: CHANGE_DRAWN_MS + 3_000 });
    const mac = (await sh(h1, "docker inspect -f '{{.NetworkSettings.Networks.lan.MacAddress}}' web1")).trim();
    const eth0Mac = (await sh(h1, 'cat /sys/class/net/eth0/address')).trim();
    expect(mac).not.toBe(eth0Mac);
    expect(await web1.getAttribute('aria-label')).toMatch(new RegExp(`child of eth0.*MAC ${mac}`));
    const [box, eth0] = await Promise.all([web1.boundingBox(), page.locator(node('if:host1/eth0')).boundingBox()]);
    expect(box!.y + box!.height).toBeLessThan(eth0!.y);
    expect(box!.x).toBeGreaterThanOrEqual(eth0!.x - 1);
    await page.click('[data-lab-stop]');
    await page.close();
  }, 300_000);

  it('says in words, instead of drawing, when the runner sends a map of another version', async () => {
    const { page } = await startLab('05-user-defined-bridges', ['host1']);
    // Only this page's map socket is answered by the test; the terminals are the real runner's.
    await page.routeWebSocket(/\/api\/labs\/[^/]+\/map\?/, (ws) => ws.send(JSON.stringify({ type: 'map', map: { version: 99, at: '', hosts: [], networks: [] } })));
    await page.locator('#lab-map-tab').click();
    await expect.poll(() => page.locator('.lab-map-status').textContent()).toMatch(/cannot draw \(map version 99 is not 1\).*Reload the page/);
    expect(await page.locator('.lab-map-drawing [data-map-node]').count()).toBe(0);
    await page.click('[data-lab-stop]');
    await page.close();
  }, 120_000);
});

/** The lab panel, map drawn, as a picture for the docs. */
async function shoot(page: Page, name: string): Promise<void> {
  const dir = path.join(ROOT, 'docs/images');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), await page.locator('#lab').screenshot());
}
