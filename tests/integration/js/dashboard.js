// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, playwright-core):
// logs in, waits for the nodes, finds a client by id and kicks it out, sets a bad and a good
// log level, a bad and a good config change, and opens every other page; a screenshot of each goes to <dir>.
// Usage: node dashboard.js <base url> <user> <password> <client id> <nodes> <dir>
// Prints one line per step ("nodes 3", "kicked", "bad level: <message>", ...).
const path = require("path");
const { chromium } = require("playwright-core");
const [base, user, password, clientId, nodes, dir] = process.argv.slice(2);
const shot = (page, name) => page.screenshot({ path: path.join(dir, name + ".png"), fullPage: true });
(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => console.log("page error: " + e.message));
  await page.goto(base + "/");
  await page.waitForSelector("#login");
  await shot(page, "login");
  await page.fill("#login input[name=username]", user);
  await page.fill("#login input[name=password]", password);
  await page.click("#login button[type=submit]");
  await page.waitForFunction((n) => document.querySelectorAll("#nodes tbody tr").length === n,
                             Number(nodes), { timeout: 30000 });
  console.log("nodes " + await page.locator("#nodes tbody tr").count());
  await page.waitForFunction(() => document.querySelectorAll("#figures .card").length > 0);
  await shot(page, "overview");

  await page.goto(base + "/#/clients");
  await page.waitForSelector("#client-search");
  await page.fill("#client-search", clientId);
  await page.click("#client-search-go");
  const link = page.locator("#client-list a", { hasText: clientId });
  await link.waitFor();
  await shot(page, "clients");
  await link.click();
  await page.waitForSelector("#kick");
  await shot(page, "client");
  await page.click("#kick");
  await page.waitForFunction(() => document.querySelector("#kick-status").textContent !== "");
  console.log(await page.textContent("#kick-status") === "Kicked out." ? "kicked"
              : "kick failed: " + await page.textContent("#kick-status"));

  await page.goto(base + "/#/settings");
  await page.waitForSelector("#log-level");
  for (const [level, good] of [["verbose", false], ["info", true]]) {
    await page.fill("#log-level", level);
    await page.click("#settings-save");
    await page.waitForFunction(([l, g]) => { // the answer to this save (the page clears the last)
      const s = document.querySelector("#settings-status");
      return g ? s.className === "ok" && s.textContent.includes(l) : s.className === "error";
    }, [level, good]);
    const s = page.locator("#settings-status");
    console.log((await s.getAttribute("class") === "error" ? "bad level: " : "level: ") +
                await s.textContent());
    await shot(page, "settings-" + level);
  }

  // the config editor: a bad value shows the schema's message, a good one goes to the cluster
  await page.goto(base + "/#/config/mqtt");
  await page.waitForFunction(() => (document.querySelector("#config-text") || {}).value
                                   ?.includes("max_inflight"));
  await shot(page, "config");
  for (const [text, good] of [["mqtt {\n  max_inflight = lots\n}\n", false],
                              ["mqtt {\n  max_mqueue_len = 500\n}\n", true]]) {
    await page.fill("#config-text", text);
    await page.click("#config-save");
    await page.waitForFunction((g) => {
      const s = document.querySelector("#config-status");
      return s.className === (g ? "ok" : "error");
    }, good);
    console.log((good ? "config: " : "bad config: ") + await page.textContent("#config-status"));
    await shot(page, good ? "config-saved" : "config-error");
  }

  // access: a ban, an API key, a user and an ACL rule made from the page, and taken back
  const row = (text) => page.locator("main tr", { hasText: text });
  async function access(formId, fill, seen, what) {
    await page.goto(base + "/#/access");
    await page.waitForSelector("#" + formId);
    for (const [name, value] of Object.entries(fill)) {
      const f = page.locator("#" + formId + " [name=" + name + "]");
      if (await f.evaluate((e) => e.tagName) === "SELECT") await f.selectOption(value);
      else await f.fill(value);
    }
    await page.click("#" + formId + " button[type=submit]");
    await page.waitForFunction(([id, s]) => {
      const st = document.querySelector("#" + id + "-status");
      return (st && st.className === "error") || document.querySelector("main").innerText.includes(s);
    }, [formId, seen]);
    const st = page.locator("#" + formId + "-status");
    if (await st.count() && await st.getAttribute("class") === "error")
      console.log(what + " failed: " + await st.textContent());
    else console.log(what + " made");
  }
  async function takeBack(path, gone, what) {
    await page.goto(base + "/#/access");
    await page.reload(); /* the page as the API has it now */
    await page.waitForSelector("#ban-add");
    await page.click("button.del[data-path='" + path + "']");
    await page.waitForFunction((g) => !document.querySelector("main").innerText.includes(g) &&
                               document.querySelector("#ban-add"), gone);
    console.log(what + " taken back");
  }
  await access("ban-add", { as: "clientid", who: "dash-banned", reason: "from the page" },
               "dash-banned", "ban");
  await shot(page, "access-ban");
  await takeBack("/banned/clientid/dash-banned", "dash-banned", "ban");
  await access("key-add", { name: "dashkey" }, "shown once", "key");
  await takeBack("/api_key/dashkey", "dashkey", "key");
  await access("user-add", { username: "dash-ops", password: "Ops-pass-1" }, "dash-ops", "user");
  await takeBack("/users/dash-ops", "dash-ops", "user");
  await access("acl-add", { username: "dash-user", topic: "t/#", permission: "deny",
                            action: "publish" }, "deny publish t/#", "acl rule");
  await shot(page, "access-acl");

  for (const name of ["subscriptions", "topics", "retained", "listeners", "access", "alarms"]) {
    await page.goto(base + "/#/" + name);
    await page.waitForFunction((n) => {
      const h = document.querySelector("main h2");
      return h && document.querySelector("main table, main .error") &&
             location.hash === "#/" + n;
    }, name);
    const err = await page.locator("main .error").count();
    console.log("page " + name + (err ? " error: " + await page.textContent("main .error") : " ok"));
    await shot(page, name);
  }
  await browser.close();
})().catch((e) => { console.error("error: " + e); process.exit(2); });
