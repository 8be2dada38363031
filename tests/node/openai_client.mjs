// Drives a running service with the official `openai` JavaScript package and
// prints what it saw as one JSON object. Usage: node openai_client.mjs BASE_URL API_KEY
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const messages = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi there" },
];

const report = {};

const stream = await client.chat.completions.create({
  model: "fake",
  messages,
  stream: true,
  stream_options: { include_usage: true },
});
const chunks = [];
for await (const chunk of stream) chunks.push(chunk);
report.ids = [...new Set(chunks.map((chunk) => chunk.id))].length;
report.firstRole = chunks[0].choices[0].delta.role;
report.content = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");
report.finishReasons = chunks.map((chunk) => chunk.choices[0]?.finish_reason ?? null).filter(Boolean);
report.usage = chunks.at(-1).usage;

const whole = await client.chat.completions.create({ model: "fake", messages });
report.wholeContent = whole.choices[0].message.content;

try {
  await client.chat.completions.create({ model: "fake", messages, n: 2 });
  report.badRequest = null;
} catch (error) {
  report.badRequest = {
    isBadRequest: error instanceof OpenAI.BadRequestError,
    status: error.status,
    param: error.param,
  };
}

const anonymous = new OpenAI({ baseURL, apiKey: "wrong-key", maxRetries: 0 });
try {
  await anonymous.models.list();
  report.unauthorized = null;
} catch (error) {
  report.unauthorized = {
    isAuthentication: error instanceof OpenAI.AuthenticationError,
    status: error.status,
  };
}

console.log(JSON.stringify(report));
