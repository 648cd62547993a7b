// A page in a real headless Chromium connects to Starling over WebSocket with MQTT.js's
// browser bundle, subscribes to b/#, publishes b/browser, and reports what it receives.
// Usage: node browser.js <ws url> <count>; prints "subscribed", then each "topic payload".
const path = require("path");
const { chromium } = require("playwright-core");
const [url, count] = process.argv.slice(2);
(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new"],
  });
  const page = await browser.newPage();
  page.on("console", (m) => console.log(m.text()));
  await page.setContent("<html><body>starling</body></html>");
  await page.addScriptTag({ path: path.join(require.resolve("mqtt/package.json"), "..", "dist", "mqtt.min.js") });
  await page.evaluate(([u, n]) => new Promise((resolve, reject) => {
    const c = mqtt.connect(u, { clientId: "chromium", protocolVersion: 4, reconnectPeriod: 0 });
    let got = 0;
    c.on("error", (e) => reject(e.message));
    c.on("connect", () => c.subscribe("b/#", { qos: 1 }, (err) => {
      if (err) return reject(err.message);
      console.log("subscribed");
      c.publish("b/browser", "from-chromium", { qos: 1 });
    }));
    c.on("message", (t, p) => {
      console.log(t + " " + new TextDecoder().decode(p));
      if (++got >= n) { c.end(); resolve(); }
    });
  }), [url, Number(count)]);
  await browser.close();
})().catch((e) => { console.error("error: " + e); process.exit(2); });
