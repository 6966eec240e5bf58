import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ChatOpenAI } from '@langchain/openai';
import type OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { collect } from '../support/chat';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * The offline mock model, as structured-output clients use it: the official
 * clients' parse helpers (Node and Python) and LangChain's withStructuredOutput,
 * plus the details such clients rely on (n choices streamed, allowed_tools,
 * distinct tool-call ids, whole characters, token-id embedding inputs).
 */
const PYTHON = process.env.TEST_PYTHON;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const Person = z.object({
  name: z.string(),
  age: z.number().int().min(0).max(150),
  email: z.string().email(),
  tags: z.array(z.string()).min(2),
  role: z.enum(['admin', 'user']),
  manager: z.object({ name: z.string(), since: z.string().datetime() }).nullable(),
});

const PYDANTIC_SCRIPT = `
import sys, datetime
from typing import Literal, Optional
from openai import OpenAI
from pydantic import BaseModel, Field

class Address(BaseModel):
    city: str
    zip: str = Field(min_length=5, max_length=5)

class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=99)
    score: float
    active: bool
    role: Literal["admin", "user"]
    born: datetime.date
    address: Address
    previous: list[Address]
    nickname: Optional[str]

client = OpenAI(base_url=sys.argv[1], api_key="test-client-key", max_retries=0)
completion = client.chat.completions.parse(
    model="mock",
    messages=[{"role": "user", "content": "Describe a person"}],
    response_format=Person,
)
person = completion.choices[0].message.parsed
assert isinstance(person, Person), person
print(person.model_dump_json())
`;

describe('the mock model for structured-output clients', () => {
  let gateway: GatewayProcess;
  let client: OpenAI;
  before(async () => {
    gateway = await GatewayProcess.start(configWith());
    client = gateway.client();
  });
  after(() => gateway?.stop());

  it('answers json_schema with a value the schema validates: the Node client’s parse helper', async () => {
    const completion = await client.chat.completions.parse({
      model: 'mock',
      messages: [{ role: 'user', content: 'Who is it?' }],
      response_format: zodResponseFormat(Person, 'person'),
    });
    const parsed = completion.choices[0].message.parsed;
    assert.ok(parsed);
    assert.deepEqual(Person.parse(parsed), parsed);
    assert.ok(parsed.tags.length >= 2);
  });

  it('answers json_object with a JSON object', async () => {
    const res = await client.chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_object' },
    });
    const value = JSON.parse(res.choices[0].message.content!);
    assert.equal(typeof value, 'object');
    assert.ok(value !== null && !Array.isArray(value));
  });

  it('works with LangChain’s withStructuredOutput, by JSON schema and by function calling', async () => {
    const model = new ChatOpenAI({
      model: 'mock',
      apiKey: 'test-client-key',
      configuration: { baseURL: `${gateway.url}/v1` },
      maxRetries: 0,
    });
    for (const method of ['jsonSchema', 'functionCalling'] as const) {
      const person = await model.withStructuredOutput(Person, { method }).invoke('Who is it?');
      assert.deepEqual(Person.parse(person), person, method);
    }
  });

  it(
    'works with the Python client’s chat.completions.parse(response_format=PydanticModel)',
    { skip: !PYTHON && 'TEST_PYTHON unset (npm test sets it)' },
    async () => {
      const { stdout } = await promisify(execFile)(PYTHON!, ['-c', PYDANTIC_SCRIPT, `${gateway.url}/v1`], { timeout: 60_000 });
      const person = JSON.parse(stdout);
      assert.ok(person.age >= 18 && person.age <= 99);
      assert.equal(person.address.zip.length, 5);
      assert.ok(Array.isArray(person.previous) && person.previous.length >= 1);
    },
  );

  it('streams every choice when n > 1, each with its own finish', async () => {
    const stream = await client.chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: 'three of them' }],
      n: 3,
      stream: true,
    });
    const texts = ['', '', ''];
    const finishes: (string | null)[] = [null, null, null];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.delta.content ?? '';
        finishes[choice.index] = choice.finish_reason ?? finishes[choice.index];
      }
    }
    assert.deepEqual(finishes, ['stop', 'stop', 'stop']);
    for (const text of texts) assert.match(text, /three of them/);
  });

  it('calls only a tool that tool_choice allowed_tools allows', async () => {
    const tool = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object', properties: {} } } });
    const res = await client.chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: 'x' }],
      tools: [tool('get_weather'), tool('get_time')],
      tool_choice: {
        type: 'allowed_tools',
        allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_time' } }] },
      },
    });
    const calls = res.choices[0].message.tool_calls!;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].type === 'function' && calls[0].function.name, 'get_time');
  });

  it('gives different tool calls different ids, however long the names, and the same request the same id', async () => {
    const call = async (name: string, stream = false) => {
      const request = {
        model: 'mock',
        messages: [{ role: 'user' as const, content: 'x' }],
        tools: [{ type: 'function' as const, function: { name, parameters: { type: 'object', properties: {} } } }],
      };
      if (stream) return (await collect(await client.chat.completions.create({ ...request, stream: true }))).calls[0].id;
      return (await client.chat.completions.create(request)).choices[0].message.tool_calls![0].id;
    };
    const a = await call('lookup_customer_by_email');
    const b = await call('lookup_customer_by_phone');
    assert.notEqual(a, b);
    assert.equal(await call('lookup_customer_by_email'), a);
    assert.equal(await call('lookup_customer_by_email', true), a, 'streamed or not');
  });

  it('never splits a character at the echo limit', async () => {
    for (const pad of [199, 198]) {
      const res = await client.chat.completions.create({
        model: 'mock',
        messages: [{ role: 'user', content: `${'a'.repeat(pad)}${'😀'.repeat(5)}` }],
      });
      const text = res.choices[0].message.content!;
      assert.doesNotMatch(text, LONE_SURROGATE, `no lone surrogate with ${pad} characters before the emoji`);
    }
  });

  it('takes a token-id list as one embedding input and a list of them as several', async () => {
    const one = await client.embeddings.create({ model: 'mock-embedding', input: [1, 2, 3], encoding_format: 'float' });
    assert.equal(one.data.length, 1);
    const two = await client.embeddings.create({ model: 'mock-embedding', input: [[1, 2], [3]], encoding_format: 'float' });
    assert.equal(two.data.length, 2);
    assert.deepEqual(one.usage.prompt_tokens, 3);
  });
});
