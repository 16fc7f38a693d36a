// End-to-end check of the dashboard in a real Chromium against a running
// deployment (nginx + Django API).
//
//   BASE_URL=https://127.0.0.1:8443 TOKEN=... npm run e2e
//
// Env: BASE_URL, TOKEN (required); EXPECT_ENVIRONMENT, EXPECT_RELEASE,
// SCREENSHOT (path, default: a file in the system temp dir), CHROMIUM_PATH
// (default /usr/bin/chromium), TRUSTED_SPKI (base64 SHA-256 of the server's
// public key: accepted although the system does not trust its CA, as for an
// environment's own CA; any other certificate still fails). Exits non-zero
// with a message on any failure.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const RUN_DEADLINE_MS = 55_000;
const STEP_TIMEOUT_MS = 10_000;
const BAD_TOKEN = 'e2e-deliberately-invalid-token';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const {
  BASE_URL,
  TOKEN,
  EXPECT_ENVIRONMENT,
  EXPECT_RELEASE,
  SCREENSHOT = join(tmpdir(), 'cams-dashboard-e2e.png'),
  CHROMIUM_PATH = '/usr/bin/chromium',
  TRUSTED_SPKI,
} = process.env;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function step(description) {
  console.log(`- ${description}`);
}

async function signIn(page, token) {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function runChecks(page) {
  step(`open ${BASE_URL}`);
  const response = await page.goto(BASE_URL, { waitUntil: 'domcontentloaded' });
  check(response?.ok(), `GET ${BASE_URL} answered ${response?.status() ?? 'nothing'}`);

  step('sign-in form is shown');
  await page.getByTestId('sign-in-form').waitFor();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();

  step('a bad token is rejected');
  await signIn(page, BAD_TOKEN);
  const notice = page.getByTestId('sign-in-notice');
  await notice.waitFor();
  const noticeText = await notice.innerText();
  check(noticeText.startsWith('Your token was rejected:'), `unexpected sign-in notice: "${noticeText}"`);

  step('the real token opens the dashboard');
  // Once the overview is requested the form (and the old notice) is gone, so
  // a notice seen after that is a new rejection.
  const overviewRequested = page.waitForRequest((request) => request.url().includes('/api/overview/'));
  await signIn(page, TOKEN);
  await overviewRequested;
  const badge = page.getByTestId('environment-badge');
  const banner = page.getByTestId('error-banner');
  // Wait for whichever outcome comes first so a failure is reported precisely.
  await badge.or(banner).or(notice).first().waitFor();
  if (await notice.isVisible()) throw new Error(`TOKEN was rejected: "${await notice.innerText()}"`);
  if (await banner.isVisible()) throw new Error(`dashboard shows an error: "${await banner.innerText()}"`);

  const environment = (await badge.textContent()).trim(); // innerText would apply the CSS uppercase
  console.log(`  environment: ${environment}`);
  if (EXPECT_ENVIRONMENT) {
    check(
      environment.toLowerCase() === EXPECT_ENVIRONMENT.toLowerCase(),
      `environment is "${environment}", expected "${EXPECT_ENVIRONMENT}"`,
    );
  }

  const release = (await page.getByTestId('release-id').textContent()).trim();
  console.log(`  release: ${release}`);
  if (EXPECT_RELEASE) {
    check(release === EXPECT_RELEASE, `release is "${release}", expected "${EXPECT_RELEASE}"`);
  }

  step('deployments are listed');
  const table = page.getByTestId('deployments-table');
  const empty = page.getByTestId('deployments-empty');
  await table.or(empty).first().waitFor();
  check(await table.isVisible(), 'the deployments table is missing (no deployments recorded)');
  console.log(`  deployment rows: ${await page.getByTestId('deployment-row').count()}`);

  step(`screenshot -> ${SCREENSHOT}`);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
}

async function main() {
  if (!BASE_URL || !TOKEN) {
    console.error('usage: BASE_URL=http://host:port TOKEN=<valid token> npm run e2e');
    return 2;
  }
  check(TOKEN !== BAD_TOKEN, 'TOKEN must not be the deliberately invalid e2e token');

  // A fresh profile per run: no sessionStorage, cache or cookies from earlier runs.
  const userDataDir = await mkdtemp(join(tmpdir(), 'cams-e2e-profile-'));
  let context;
  const deadline = setTimeout(() => {
    console.error(`FAIL: the e2e run exceeded ${RUN_DEADLINE_MS / 1000}s`);
    process.exit(1);
  }, RUN_DEADLINE_MS);

  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      // Chromium honours the pin only with a --user-data-dir, which a persistent context has.
      args: TRUSTED_SPKI
        ? [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${TRUSTED_SPKI}`]
        : CHROMIUM_ARGS,
      timeout: STEP_TIMEOUT_MS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await runChecks(page);
    check(pageErrors.length === 0, `the page threw: ${pageErrors.join('; ')}`);
    console.log('PASS: dashboard e2e');
    return 0;
  } catch (error) {
    console.error(`FAIL: ${error.message ?? error}`);
    return 1;
  } finally {
    clearTimeout(deadline);
    await context?.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
