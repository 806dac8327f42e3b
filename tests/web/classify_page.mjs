// Loads the page at / in headless Chromium, picks a picture (with the keyboard-reachable file input), classifies,
// and prints what the page shows as JSON. A screenshot of the result is written to the path given.
// Usage: node classify_page.mjs URL PICTURE SCREENSHOT
import { chromium } from "playwright-core";

const [url, picture, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"],
});
const requests = [];
try {
  const page = await browser.newPage();
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(url, { waitUntil: "networkidle" });
  await page.waitForFunction(() => document.getElementById("service-status").dataset.backend);
  const status = await page.textContent("#service-status");

  // Keyboard: the order Tab walks through the controls from the top of the page.
  const tabOrder = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    tabOrder.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName));
  }
  await page.setInputFiles("#image-input", picture);
  await page.fill("#prompts", "a photo of a cat\na dog\na diagram");
  await page.fill("#top-k", "3");
  await page.focus("#classify");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#results li");
  const results = await page.$$eval("#results li", (items) => items.map((li) => ({
    text: li.querySelector(".label").textContent,
    score: li.querySelector(".score").textContent,
    label: li.getAttribute("aria-label"),
    width: li.querySelector(".bar > span").style.width,
  })));
  const timing = await page.textContent("#timing");
  const message = await page.textContent("#message");
  await page.screenshot({ path: screenshot, fullPage: true });
  const options = await page.$$eval("#prompt-set option", (o) => o.map((x) => x.value));
  console.log(JSON.stringify({ status, results, timing, message, options, requests, tabOrder }));
} finally {
  await browser.close();
}
