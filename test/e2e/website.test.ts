// The website in Debian's Chromium (playwright-core), against the sim, the jobserver and the bot:
// login through the sim's OAuth2, the server list, a backup followed live to completed and
// downloaded, a restore after its confirmation, a limit set on the page and enforced by the bot,
// an operator restarting a cluster, a non-operator refused. Screenshots of each page go to
// test-artifacts/screenshots/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from '../helpers/process';
import { startWebsiteStack, type WebsiteStack } from '../helpers/website';

const SHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MANAGE_CHANNELS = 1n << 4n;
/** What the page functions below use of the browser's document (this project's lib has no DOM types). */
type PageDocument = { getElementById(id: string): { click(): void } | null; querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>; documentElement: { scrollWidth: number }; cookie: string };
type InPage = { document: PageDocument };

describe('website in Chromium', () => {
  let s: WebsiteStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  /** A browser (desktop or phone width) logged in as `userId` by the site's own button and the sim's authorize page. */
  const loggedIn = async (userId: string, viewport = { width: 1200, height: 800 }): Promise<Page> => {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${s.api}/`);
    await page.getByRole('main').getByRole('link', { name: 'Log in with Discord' }).click();
    await page.waitForURL(/\/oauth2\/authorize/);
    // The sim's authorize page lists some users; its stand-in for "Authorize" is ?user_id=.
    const authorize = new URL(page.url());
    authorize.searchParams.set('user_id', userId);
    await page.goto(authorize.toString());
    await page.waitForURL(`${s.api}/`);
    return page;
  };
  /** Clicks the notice away (it would cover the screenshot); it may have gone by itself. */
  const dismissAlert = (page: Page) => page.evaluate(() => (globalThis as unknown as InPage).document.getElementById('alert')!.click());
  const simAct = async (userId: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.simUrl}/_sim/act`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, method, path, body }) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path} as ${userId}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as { id: string };
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [s, browser] = await Promise.all([startWebsiteStack(), chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })]);
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await s?.stop();
  });

  it('a server owner logs in, backs up, downloads, restores and sets a limit the bot enforces', async () => {
    const guild = s.guilds[0]!;
    // A mirror link from #general to the other server, as `/mirror join` would have made it.
    const pool = new pg.Pool({ connectionString: s.postgresUrl, max: 1 });
    await pool.query(
      `insert into mirror_links (source_guild_id, source_channel_id, target_guild_id, target_channel_id, webhook_id, webhook_token, created_by) values ($1, $2, $3, $4, '1234567890123456789', 'token', $5)`,
      [guild.id, guild.channels.find((c) => c.name === 'general')!.id, s.guilds[1]!.id, s.guilds[1]!.channels[0]!.id, s.owner],
    );
    await pool.end();
    const anonymous = await browser.newContext();
    contexts.push(anonymous);
    const landing = await anonymous.newPage();
    await landing.goto(`${s.api}/`);
    await shot(landing, '1-login');

    const page = await loggedIn(s.owner);
    const servers = page.getByRole('list', { name: 'Servers' });
    await servers.getByRole('heading', { name: guild.name }).waitFor();
    assert.equal(await servers.getByRole('listitem').count(), 1, 'only the server they manage');
    await shot(page, '2-servers');

    await page.getByRole('link', { name: `Manage ${guild.name}` }).click();
    await page.getByRole('heading', { level: 1, name: guild.name }).waitFor();
    await page.getByRole('button', { name: 'Start a backup' }).click();
    const tasks = page.getByRole('table', { name: 'Tasks' });
    await tasks.locator('tr', { hasText: 'create backup' }).locator('.state-completed').waitFor({ timeout: 60_000 });

    const [download] = await Promise.all([page.waitForEvent('download'), tasks.getByRole('button', { name: /^Download backup/ }).click()]);
    const file = JSON.parse(readFileSync(await download.path(), 'utf8')) as { format: string; backup: { guild: { id: string } } };
    assert.deepEqual([file.format, file.backup.guild.id], ['splashtail-backup/1', guild.id]);

    await tasks.getByRole('button', { name: /^Restore backup/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore this backup?' });
    await dialog.waitFor();
    await shot(page, '4-restore-confirmation');
    await dialog.getByRole('button', { name: 'Restore now' }).click();
    await tasks.locator('tr', { hasText: 'restore backup' }).locator('.state-completed').waitFor({ timeout: 60_000 });

    // A limit set on the page: more than 1 channel created within 60 s -> kick.
    const form = page.getByRole('form', { name: 'Add a limit' });
    await form.getByLabel('Action').selectOption('channel_create');
    await form.getByLabel('More than').fill('1');
    await form.getByLabel('Within (seconds)').fill('60');
    await form.getByLabel('Punishment').selectOption('kick');
    await form.getByRole('button', { name: 'Add limit' }).click();
    await page.getByRole('table', { name: 'Limit rules' }).getByText('more than 1 in 60 s').waitFor();
    // Revert is offered for deletes of channels and roles only, and saved with the rule.
    assert.ok(await form.getByLabel('Revert').isDisabled(), 'no revert for channel_create');
    await form.getByLabel('Action').selectOption('role_delete');
    await form.getByLabel('Punishment').selectOption('ban');
    await form.getByLabel('Revert').check();
    await form.getByRole('button', { name: 'Add limit' }).click();
    await page.getByRole('table', { name: 'Limit rules' }).getByText('ban and revert').waitFor();
    // The mod log and a command permission, picked from the server's channels and roles.
    const modlog = page.getByRole('form', { name: 'Moderation log' });
    await modlog.getByLabel('Mod-log channel').selectOption({ label: '#general' });
    await modlog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').getByText('Moderation log saved.').waitFor();
    const perms = page.getByRole('form', { name: 'Add a command permission' });
    await perms.getByLabel('Command').fill('ban');
    const roleName = (await perms.getByLabel('Role').locator('option').first().textContent())!;
    await perms.getByLabel('Rule').selectOption('false');
    await perms.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('table', { name: 'Command permissions' }).getByRole('row', { name: `/ban ${roleName} denied` }).waitFor();
    const general = guild.channels.find((c) => c.name === 'general')!.id;
    assert.equal(await modlog.getByLabel('Mod-log channel').inputValue(), general);

    // The bot enforces it: a member with Manage Channels creates 3 channels and is kicked.
    const raider = ((await (await fetch(`${s.simUrl}/_sim/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"raider"}' })).json()) as { id: string }).id;
    await fetch(`${s.simUrl}/_sim/guilds/${guild.id}/members`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: raider }) });
    const role = await simAct(s.owner, 'POST', `/guilds/${guild.id}/roles`, { name: 'channel-makers', permissions: MANAGE_CHANNELS.toString() });
    await simAct(s.owner, 'PUT', `/guilds/${guild.id}/members/${raider}/roles/${role.id}`);
    for (let i = 0; i < 3; i++) await simAct(raider, 'POST', `/guilds/${guild.id}/channels`, { name: `spam-${i}` });
    const member = async () => ((await (await fetch(`${s.simUrl}/_sim/guilds/${guild.id}/state`)).json()) as { members: { user: { id: string } }[] }).members.some((m) => m.user.id === raider);
    for (const deadline = Date.now() + 15_000; await member(); await sleep(200)) assert.ok(Date.now() < deadline, 'the raider was not kicked within 15 s');
    await dismissAlert(page);
    const link = page.getByRole('table', { name: 'Mirror links' }).getByRole('row').nth(1);
    assert.match((await link.textContent())!, /^#\d+#generalanother server \(\d+\)$/);
    await shot(page, '3-server');

    // At phone width the same page is one readable column.
    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(page.url());
    await phone.getByRole('table', { name: 'Tasks' }).waitFor();
    assert.ok(await phone.evaluate(() => (globalThis as unknown as InPage).document.documentElement.scrollWidth <= 390), 'no horizontal scrolling at 390 px');
    await shot(phone, '3-server-phone');

    // Not an operator: no control on the page, 403 from the API.
    await page.goto(`${s.api}/operator`);
    await page.getByText('Only operators may see the clusters.').waitFor();
    assert.equal(await page.getByRole('button', { name: /Restart/ }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Operator' }).count(), 0);
    const status = await page.evaluate(async () => (await fetch('/api/v1/clusters/0/restart', { method: 'POST', headers: { 'x-csrf-token': /csrf=([\w-]+)/.exec((globalThis as unknown as InPage).document.cookie)![1]! } })).status);
    assert.equal(status, 403);
    await shot(page, '6-operator-refused');
  });

  it('an operator restarts a cluster from the operator page and sees it come back', async () => {
    const page = await loggedIn(s.operator);
    await page.getByRole('link', { name: 'Operator' }).click();
    const clusters = page.getByRole('table', { name: 'Clusters' });
    const row = clusters.locator('tr[data-cluster="0"]');
    await row.locator('.state-up').waitFor();
    const pidBefore = await row.locator('td').nth(6).textContent();
    await row.getByRole('button', { name: 'Restart cluster 0' }).click();
    await page.getByRole('alert').getByText('Restart of cluster 0: done.').waitFor({ timeout: 60_000 });
    // Back: up again with its shard, as a new process (the page refreshes itself every 2 s).
    await page.waitForFunction((before) => {
      const cells = (globalThis as unknown as InPage).document.querySelectorAll('tr[data-cluster="0"] td');
      return cells[1]?.textContent === 'up' && cells[2]?.textContent?.startsWith('1/1') && cells[6]?.textContent !== before;
    }, pidBefore, { timeout: 60_000 });
    await page.getByRole('list', { name: 'Actions' }).getByText('restart', { exact: true }).waitFor();
    await dismissAlert(page);
    await shot(page, '5-operator');
  });
});
