import { writeFileSync } from 'node:fs'
const { CHAT_REQUEST } = await import('../scenarios/bench/common.ts')
const r = await fetch('http://127.0.0.1:8131/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify({ ...CHAT_REQUEST, max_tokens: 64, stream: true }) })
const t = await r.text(); writeFileSync('/tmp/s5/stream.txt', t)
const ev = t.split('\n\n'); console.log(ev.length); console.log(ev.slice(0, 4).join('\n---\n')); console.log(ev.slice(-5).join('\n---\n'))
