// Opens the demo page in headless Chromium (playwright-core driving the system
// browser), chats over each transport, and prints what it saw as JSON.
// Usage: node demo_page.mjs BASE_URL API_KEY SCREENSHOT_PATH
// (the service runs fake_service.py, scripted here to echo the conversation).
// The browser reaches the service through a TCP relay of this script's own, so
// that it can cut the page's connections mid-answer the way a network does.
import net from "node:net";
import { chromium } from "playwright-core";

const [baseURL, apiKey, screenshot] = process.argv.slice(2);
const fake = (body) =>
  fetch(`${baseURL}/test/fake`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const upstream = new URL(baseURL);
const open = new Set();
const relay = net.createServer((client) => {
  const server = net.connect(Number(upstream.port), upstream.hostname);
  for (const socket of [client, server]) {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => {});
  }
  client.on("close", () => server.destroy());
  server.on("close", () => client.destroy());
  client.pipe(server);
  server.pipe(client);
});
await new Promise((resolve) => relay.listen(0, "127.0.0.1", resolve));
const pageURL = `http://127.0.0.1:${relay.address().port}`;
const cutEveryConnection = () => {
  for (const socket of open) socket.destroy();
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const report = { errors: [], transports: {} };
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  page.on("pageerror", (error) => report.errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") report.errors.push(message.text());
  });
  await page.goto(pageURL + "/");

  if (await page.locator("#login").count()) {
    await page.fill("#username", "demo");
    await page.fill("#password", "demo-password");
    await page.click("#login button");
    await page.waitForFunction(() => document.getElementById("credential").value.split(".").length === 3);
    report.loggedIn = true;
  } else {
    await page.fill("#credential", apiKey);
    report.loggedIn = false;
  }

  // Ask, watching every animation frame: how many different lengths did the
  // answer show while it streamed?
  const ask = async (text, { cancel = false, cut = false } = {}) => {
    const before = await page.locator("#conversation li.assistant").count();
    await page.evaluate(() => {
      window.seenLengths = new Set();
      window.watching = true;
      const tick = () => {
        const answers = document.querySelectorAll("#conversation li.assistant");
        const last = answers[answers.length - 1];
        if (last && last.dataset.state === "streaming" && last.textContent) {
          window.seenLengths.add(last.textContent.length);
        }
        if (window.watching) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.fill("#message", text);
    await page.click("#send");
    // Until the new answer shows at least `tokens` tokens.
    const tokensShown = (tokens) =>
      page.waitForFunction(
        ([n, tokens]) => {
          const answers = document.querySelectorAll("#conversation li.assistant");
          return answers.length > n && Number(answers[answers.length - 1].dataset.tokens || 0) >= tokens;
        },
        [before, tokens],
        { timeout: 20000 },
      );
    if (cancel) {
      await tokensShown(2);
      await page.click("#cancel");
    }
    if (cut) {
      await tokensShown(5);
      cutEveryConnection();
    }
    await page.waitForFunction(
      (n) => {
        const answers = document.querySelectorAll("#conversation li.assistant");
        return answers.length > n && answers[answers.length - 1].dataset.state !== "streaming";
      },
      before,
      { timeout: 30000 },
    );
    return page.evaluate(() => {
      window.watching = false;
      const answers = document.querySelectorAll("#conversation li.assistant");
      const last = answers[answers.length - 1];
      return {
        text: last.textContent,
        state: last.dataset.state,
        tokens: Number(last.dataset.tokens || 0),
        resumes: Number(last.dataset.resumes || 0),
        paints: window.seenLengths.size,
        ttft: document.getElementById("ttft").textContent,
        rate: document.getElementById("rate").textContent,
      };
    });
  };

  const transports = await page.$$eval("#transport option", (options) => options.map((o) => o.value));
  for (const transport of transports) {
    await page.selectOption("#transport", transport);
    await fake({ echo: true, delay_ms: 40 });
    const first = await ask("first question");
    const second = await ask("second question");
    await fake({ tokens: Array(2000).fill("tick "), delay_ms: 40 });
    const cancelled = await ask("a long answer", { cancel: true });
    report.transports[transport] = { first, second, cancelled };
    await page.screenshot({ path: screenshot.replace(".png", `-${transport}.png`), fullPage: true });
  }

  // A resumable answer whose connection is cut halfway is read to its end, no
  // token twice and none missing.
  // Chromium reports the cut body as a failed resource; keep those apart.
  const errorsBeforeTheCut = report.errors;
  report.errors = [];
  await page.selectOption("#transport", "sse");
  await page.check("#resumable");
  const words = Array.from({ length: 40 }, (_, index) => `w${index} `);
  await fake({ tokens: words, delay_ms: 40 });
  report.resumed = { expected: words.join(""), ...(await ask("a long walk", { cut: true })) };
  report.resumed.errors = report.errors;
  report.errors = errorsBeforeTheCut;
  report.counters = await (await fetch(`${baseURL}/test/fake`)).json();
} finally {
  await browser.close();
  relay.close();
}
console.log(JSON.stringify(report));
