// A page on another origin attacks the local cloud's admin routes in Chromium (playwright-core
// with the installed Chromium binary), as any site the developer opens could: for each route, a
// `fetch(url, {method: "POST", mode: "no-cors"})` with a text/plain body and an HTML form post
// (urlencoded and text/plain). Prints one line per request the cloud answered:
//   <kind> <path> <status>
// Run by tests/contract/test_console.py, which checks every status is 403 and nothing changed.
//   CLOUD_URL  the FC endpoint (http://127.0.0.1:PORT)   CHROMIUM  the browser binary
//   ROUTES     the admin paths to attack, comma-separated
import http from "node:http";
import { chromium } from "playwright-core";

const cloud = process.env.CLOUD_URL;
const routes = process.env.ROUTES.split(",");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// The attacker's site: loopback too (so no private-network rule stops the browser first), but
// another port, hence another origin.
const attacker = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end(`<!doctype html><iframe name="sink"></iframe>`);
});
await new Promise((ready) => attacker.listen(0, "127.0.0.1", ready));
const origin = `http://127.0.0.1:${attacker.address().port}`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: FLAGS });
try {
  const page = await browser.newPage();
  await page.goto(origin + "/");
  const answered = (path) => page.waitForResponse((r) => r.url() === cloud + path, { timeout: 30000 });
  for (const path of routes) {
    let response = answered(path);
    await page.evaluate(([url, body]) => {
      fetch(url, { method: "POST", mode: "no-cors", body }).catch(() => {});
    }, [cloud + path, JSON.stringify({ service: "alipay", kind: "down", advance: 86400, mode: "open_id" })]);
    console.log(`fetch-no-cors ${path} ${(await response).status()}`);

    for (const enctype of ["application/x-www-form-urlencoded", "text/plain"]) {
      response = answered(path);
      await page.evaluate(([url, type]) => {
        const form = document.createElement("form");
        Object.assign(form, { method: "POST", action: url, enctype: type, target: "sink" });
        for (const [name, value] of [["service", "alipay"], ["kind", "down"], ["advance", "86400"]]) {
          const input = document.createElement("input");
          Object.assign(input, { type: "hidden", name, value });
          form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
      }, [cloud + path, enctype]);
      console.log(`form-${enctype.split("/")[1]} ${path} ${(await response).status()}`);
    }
  }
} finally {
  await browser.close();
  attacker.close();
}
