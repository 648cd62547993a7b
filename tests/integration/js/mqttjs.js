// MQTT.js over ws:// or wss://: subscribe to t/#, publish t/js, print each message received
// as "topic payload", and exit after `count` messages. Usage:
//   node mqttjs.js <url> <client id> <count> [ca file]
const fs = require("fs");
const mqtt = require("mqtt");
const [url, id, count, ca] = process.argv.slice(2);
const opts = { clientId: id, protocolVersion: 5, reconnectPeriod: 0 };
if (ca) opts.ca = fs.readFileSync(ca);
const c = mqtt.connect(url, opts);
let got = 0;
c.on("error", (e) => { console.error("error: " + e.message); process.exit(2); });
c.on("connect", () => {
  c.subscribe("t/#", { qos: 1 }, (err) => {
    if (err) { console.error("subscribe: " + err.message); process.exit(2); }
    console.log("subscribed");
    c.publish("t/js", "from-mqttjs", { qos: 1 });
  });
});
c.on("message", (topic, payload) => {
  console.log(topic + " " + payload.toString());
  if (++got >= Number(count)) c.end(false, () => process.exit(0));
});
