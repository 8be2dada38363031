// Drives a running service with the `ai` package's own chat transport and UI
// message stream reader, and prints what it saw as one JSON object.
// Usage: node ai_sdk_client.mjs BASE_URL API_KEY (the service runs fake_service.py).
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [baseURL, apiKey] = process.argv.slice(2);
const transport = new DefaultChatTransport({
  api: `${baseURL}/api/v1/chat`,
  headers: { "X-API-Key": apiKey },
});
const messages = [{ id: "u1", role: "user", parts: [{ type: "text", text: "Hi there" }] }];
const send = (abortSignal) =>
  transport.sendMessages({
    chatId: "chat-1",
    messages,
    trigger: "submit-message",
    messageId: undefined,
    abortSignal,
  });
const script = (body) =>
  fetch(`${baseURL}/test/fake`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const counters = async () => (await fetch(`${baseURL}/test/fake`)).json();
const textOf = (message) =>
  message.parts.filter((part) => part.type === "text").map((part) => part.text).join("");

const report = {};

// A whole answer, assembled by the SDK into one UI message.
await script({ tokens: ["Hello ", "from ", "the ", "fake"] });
let answer;
const snapshots = [];
for await (const message of readUIMessageStream({ stream: await send() })) {
  answer = message;
  snapshots.push(textOf(message));
}
report.role = answer.role;
report.text = textOf(answer);
report.snapshots = snapshots.length;
report.metadata = answer.metadata ?? null;

// A failure after the start surfaces as the SDK's error.
await script({ tokens: ["a ", "b ", "c "], fail_after: 1 });
try {
  for await (const _ of readUIMessageStream({ stream: await send(), terminateOnError: true }));
  report.error = null;
} catch (error) {
  report.error = { isError: error instanceof Error, message: error.message };
}

// Aborting the request stops the model.
await script({ tokens: Array(5000).fill("tick "), delay_ms: 5 });
const controller = new AbortController();
const reader = (await send(controller.signal)).getReader();
for (;;) {
  const { value, done } = await reader.read();
  if (done || value.type === "text-delta") break;
}
controller.abort();
await reader.cancel().catch(() => {});
let after = await counters();
for (let waited = 0; after.active_streams > 0 && waited < 5000; waited += 50) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  after = await counters();
}
report.afterAbort = after;

// An error before the stream: the transport throws with the JSON body.
const stranger = new DefaultChatTransport({
  api: `${baseURL}/api/v1/chat`,
  headers: { "X-API-Key": "wrong-key" },
});
try {
  await stranger.sendMessages({ chatId: "c", messages, trigger: "submit-message" });
  report.refused = null;
} catch (error) {
  report.refused = JSON.parse(error.message).code;
}

// Resuming (useChat's `resume`): with no answer generating, the route's 204 is
// the transport's null.
report.idleResume = await transport.reconnectToStream({ chatId: "chat-2" });

// A resumable answer cut after its first text delta is resumed from its start,
// while the model (paced by the fake) is still generating the rest.
await script({ tokens: ["Resumed ", "in ", "full"], delay_ms: 300 });
const resumable = new DefaultChatTransport({
  api: `${baseURL}/api/v1/chat`,
  headers: { "X-API-Key": apiKey },
  body: { resumable: true },
});
const cut = new AbortController();
const cutReader = (
  await resumable.sendMessages({
    chatId: "chat-2",
    messages,
    trigger: "submit-message",
    abortSignal: cut.signal,
  })
).getReader();
for (;;) {
  const { value, done } = await cutReader.read();
  if (done || value.type === "text-delta") break;
}
cut.abort();
await cutReader.cancel().catch(() => {});
const resumed = await resumable.reconnectToStream({ chatId: "chat-2" });
let resumedMessage = null;
if (resumed !== null) {
  for await (const message of readUIMessageStream({ stream: resumed })) resumedMessage = message;
}
report.resumedText = resumedMessage && textOf(resumedMessage);

console.log(JSON.stringify(report));
