import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

// Local stand-ins for Slack, PagerDuty, generic webhooks and an SMTP server, on loopback port 0,
// recording what they receive.

export interface HttpReceiver {
  readonly url: string
  readonly received: { path: string; body: Record<string, unknown> }[]
  status: number
  close(): Promise<void>
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const received: HttpReceiver['received'] = []
  const receiver = { received, status: 202 } as HttpReceiver & { status: number }
  const server: Server = createServer((req, res) => {
    let data = ''
    req.on('data', (c) => {
      data += c
    })
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(data || '{}') })
      res.writeHead(receiver.status, { 'content-type': 'application/json' }).end('{"status":"success"}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  })
}

export interface MailReceiver {
  readonly port: number
  readonly mails: { from: string; to: string[]; text: string; user: string | undefined }[]
  close(): Promise<void>
}

export async function startMailReceiver(credentials: { user: string; pass: string }): Promise<MailReceiver> {
  const mails: MailReceiver['mails'] = []
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.pass)
        return callback(null, { user: auth.username })
      callback(new Error('bad credentials'))
    },
    onData(stream, session, callback) {
      let text = ''
      stream.on('data', (c) => {
        text += c
      })
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          text,
          user: session.user as string | undefined,
        })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.server.address() as AddressInfo
  return { port, mails, close: () => new Promise((r) => server.close(() => r())) }
}

export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
