// Drives the local console in Chromium (playwright-core with the installed Chromium binary) after
// a demo run: the demo's todo rows, its log records and its invocations must show, and a fault set
// from the page must reach the cloud; with STACK set, that stack must show with its status and
// outputs (STACK_SERVICE is its ServiceName output). Run by tests/contract/test_console.py, which
// starts the cloud and checks afterwards that a login fails. Prints one line per check; exits
// non-zero on failure.
// With PICTURE_USER set (a sandbox user who uploaded a picture named PICTURE_NAME), the Users
// page's Files link of that user must show the picture by its name, its preview decoded.
//   CONSOLE_URL  the console's address      CHROMIUM  the browser binary
//   SCREENSHOT   where to save a screenshot of the Invocations page (optional)
import { chromium } from "playwright-core";

const url = process.env.CONSOLE_URL;
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WAIT = { timeout: 30000 };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: FLAGS });
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (error) => errors.push(String(error)));

  await page.goto(url + "#overview");
  await page.locator("#functions").getByText("db", { exact: true }).waitFor(WAIT);
  console.log("overview: functions listed");

  await page.goto(url + "#data?table=user_data");
  await page.locator("#rows").getByText("Write the mini program").waitFor(WAIT);
  console.log("data: the demo's todo row shows");
  await page.locator("#rows").getByText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/).first().waitFor(WAIT);
  await page.locator("#tallies").getByText("todos!").first().waitFor(WAIT);
  if (await page.locator("#rows").getByText("todos!").count() !== 0) throw new Error("a tally among the items");
  console.log("data: times as dates, tallies apart from the items");

  await page.goto(url + "#logs");
  await page.locator("#logs").getByText("event=login").first().waitFor(WAIT);
  console.log("logs: the demo's login record shows");

  await page.goto(url + "#invocations");
  const invocations = page.locator("#invocations");
  await invocations.getByText("add", { exact: true }).first().waitFor(WAIT);
  await invocations.getByText("POST /logout", { exact: true }).first().waitFor(WAIT);
  console.log("invocations: the demo's db add and logout show");
  if (process.env.SCREENSHOT) {
    await page.screenshot({ path: process.env.SCREENSHOT });
    console.log("screenshot saved");
  }

  // A request id in the logs opens its invocation.
  await page.goto(url + "#logs?query=" + encodeURIComponent("message.kind: audit and message.event: logout"));
  await page.locator("#logs a").first().click();
  await page.locator("#invocations tr.highlight").getByText("POST /logout").waitFor(WAIT);
  console.log("logs: a request id links to its invocation");

  if (process.env.STACK) {
    await page.goto(url + "#stacks");
    const stack = page.locator(`#stacks section[data-stack="${process.env.STACK}"]`);
    await stack.locator("h2").getByText("CREATE_COMPLETE", { exact: true }).waitFor(WAIT);
    await stack.locator(".outputs").getByText(process.env.STACK_SERVICE, { exact: true }).waitFor(WAIT);
    await stack.locator(".resources").getByText("ALIYUN::FC::Service", { exact: true }).first().waitFor(WAIT);
    await stack.locator(".resources").getByText("ALIYUN::KMS::Secret", { exact: true }).first().waitFor(WAIT);
    if (await stack.getByText("PRIVATE KEY").count()) throw new Error("a private key is shown");
    console.log("stacks: the deployed stack shows its status and outputs");
  }

  if (process.env.PICTURE_USER) {
    await page.goto(url + "#users");
    const row = page.locator("tr", { hasText: process.env.PICTURE_USER });
    await row.locator("a.user-files").click();
    const files = page.locator("#files");
    await files.getByText(process.env.PICTURE_NAME, { exact: true }).waitFor(WAIT);
    const preview = files.locator("img.preview").first();
    await preview.waitFor(WAIT);
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await preview.elementHandle(), WAIT);
    console.log("files: a user's picture shows by its name, previewed");
  }

  await page.goto(url + "#faults");
  await page.selectOption("select[name=service]", "alipay");
  await page.selectOption("select[name=kind]", "down");
  await page.click("#fault-form button[type=submit]");
  await page.locator("#faults").getByText("alipay down", { exact: true }).waitFor(WAIT);
  console.log("faults: alipay down set from the page");
} finally {
  await browser.close();
}
if (errors.length) {
  console.error("errors on the page:\n" + errors.join("\n"));
  process.exit(1);
}
