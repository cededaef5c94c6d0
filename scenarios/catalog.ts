// Every scenario by name: the one registry both engines and the runner look scenarios up in.
import { chat } from './chat.ts'
import { chatStream } from './chat-stream.ts'
import { chatStreamLong } from './chat-stream-long.ts'
import { condense } from './condense.ts'
import { embeddings } from './embeddings.ts'
import { messages } from './messages.ts'
import { models } from './models.ts'
import { responses } from './responses.ts'
import type { Scenario, ScenarioName } from './scenario.ts'

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = Object.freeze({
  chat,
  'chat-stream': chatStream,
  models,
  condense,
  'chat-stream-long': chatStreamLong,
  embeddings,
  messages,
  responses,
})
