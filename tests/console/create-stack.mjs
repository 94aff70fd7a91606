// Drives the local console's Create stack page in Chromium (playwright-core with the installed
// browser) from the link `make release --local` printed, as someone deploying from the README's
// button would: the form drawn from the release template (groups, labels in English and
// Chinese, NoEcho as password fields, AllowedValues as selects, defaults), a value ROS refuses
// shown beside its field, then the sandbox's Alipay values filled in, the stack created and
// followed to CREATE_COMPLETE. Prints one line per check and, last, `OUTPUTS <json>`: the
// outputs as the page shows them to copy. Run by tests/e2e/test_release.py. Exits non-zero on
// failure.
//   LINK      the console link make release printed      CHROMIUM   the browser binary
//   BAD_LINK  a link whose template URL does not answer  STACK      the stack's name
//   VALUES    JSON object: parameter -> value to type    SCREENSHOT where to save the form
import { chromium } from "playwright-core";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WAIT = { timeout: 30000 };
const values = JSON.parse(process.env.VALUES);
const check = (ok, what) => { if (!ok) throw new Error(what); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: FLAGS });
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (error) => errors.push(String(error)));

  await page.goto(process.env.BAD_LINK);
  await page.locator("#create-error").getByText(/could not be read.*404/).waitFor(WAIT);
  console.log("a template URL that does not answer: ROS's answer shown");

  await page.goto(process.env.LINK);
  const form = page.locator("#create-form");
  await form.locator("section.group h2").getByText("Alipay app", { exact: true }).waitFor(WAIT);
  const groups = await form.locator("section.group h2").allTextContents();
  check(JSON.stringify(groups) === JSON.stringify(["Alipay app", "Security", "Limits", "Names"]), `groups ${groups}`);
  check(await page.inputValue("#stack-name") === "miniapp-todo", "the link's stack name");
  check(await page.getAttribute("#param-AlipayAppPrivateKey", "type") === "password", "NoEcho is a password field");
  check(await page.getAttribute("#param-DataKey", "type") === "password", "DataKey is a password field");
  check(await page.locator("select#param-AlipaySignMode option").allTextContents().then((o) => o.join()) === "key,cert", "AllowedValues as a select");
  check(await page.inputValue("#param-ItemQuota") === "10000", "a default is filled in");
  check(await page.locator("textarea#param-AlipayPublicKey").count() === 1, "TextArea is a text area");
  console.log("form: groups, password fields, selects and defaults as the template declares");

  await page.selectOption("#language", "zh-cn");
  await form.locator("section.group h2").getByText("支付宝应用", { exact: true }).waitFor(WAIT);
  await form.locator("label[for=param-AppId]").getByText("小程序 AppId").waitFor(WAIT);
  await page.selectOption("#language", "en");
  await form.locator("label[for=param-AppId]").getByText("Mini program AppId").waitFor(WAIT);
  console.log("labels in the chosen language, English and Chinese");

  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });

  await page.fill("#stack-name", process.env.STACK);
  for (const [key, value] of Object.entries(values)) {
    if (await page.locator(`select#param-${key}`).count()) await page.selectOption(`#param-${key}`, value);
    else await page.fill(`#param-${key}`, value);
  }
  await page.fill("#param-AppId", "2021");  // four digits: ROS refuses it, naming AppId
  await page.click("#create-submit");
  await page.locator('[data-parameter="AppId"] .problem').getByText(/AllowedPattern/).waitFor(WAIT);
  await page.locator("#create-error").getByText(/StackValidationFailed.*Parameters\.AppId/).waitFor(WAIT);
  console.log("a value breaking a constraint: ROS's refusal beside AppId, nothing created");

  await page.fill("#param-AppId", values.AppId);
  await page.click("#create-submit");
  await page.locator("#stack-status").getByText("CREATE_COMPLETE", { exact: true }).waitFor({ timeout: 240000 });
  console.log("stack: CREATE_COMPLETE");
  const outputs = await page.locator("#outputs-json").textContent();
  check(!outputs.includes("PRIVATE") && !outputs.includes(values.DataKey), "no secret among the outputs");
  console.log("OUTPUTS " + JSON.stringify(JSON.parse(outputs)));
} finally {
  await browser.close();
}
if (errors.length) {
  console.error("errors on the page:\n" + errors.join("\n"));
  process.exit(1);
}
