// Measures what a visitor's browser downloads for a page: bytes on the wire (headers and
// compressed bodies, as Chromium counts them) and requests, on a first visit (empty cache) and
// on a return visit (same browser profile). The live feed's event stream is left out: it is a
// connection that stays open, not part of the page's weight.
// Usage: node transfer.mjs BASE_URL PATH...   Prints one JSON line per path.
import { chromium } from "@playwright/test";

const [base, ...paths] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

async function visit(context, url) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map();
  let bytes = 0;
  let requests = 0;
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => {
    if ((urls.get(e.requestId) ?? "").endsWith("/events/live")) return;
    bytes += e.encodedDataLength;
    if (e.encodedDataLength > 0) requests += 1;
  });
  await page.goto(url, { waitUntil: "load" });
  // Let late requests (the app's wasm, if any) finish.
  await page.waitForTimeout(1500);
  const files = [...urls.values()].filter((u) => !u.endsWith("/events/live")).map((u) => new URL(u).pathname);
  await page.close();
  return { bytes, requests, files };
}

for (const path of paths) {
  const context = await browser.newContext();
  const first = await visit(context, base + path);
  const repeat = await visit(context, base + path);
  console.log(JSON.stringify({ path, first, repeat }));
  await context.close();
}
await browser.close();
