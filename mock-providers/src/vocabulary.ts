/**
 * Words that are each exactly one o200k_base token when preceded by a space, and sentence starters
 * that are one token on their own. Generated text is a starter, spaced words and a final '.', so its
 * token count is its number of pieces (test/content.test.ts checks this against the tokenizer).
 */
export const WORDS: readonly string[] =
  `the of and to in is that for it as with was on be by this are at from or an have not but
which all can were more one has their will there been other time when would about also into some these than only
its new two most may first after over such many then they used between where through well both under out very made
each during same while since those because any system data model work number part level large high small before
against three state world years people often another several among however group different process found example
based form following case order value general point early result information rate power field known within structure
energy best low common theory around human language answer request response token stream server client network proxy
load test quick simple clear short long fast slow good great right left next last final whole real true main open
close start end begin build write read send check measure report plan design change share keep move turn show give
take make find help need want use call note mean seem feel look come go run set put let try ask tell say think know
learn teach play hold bring stand sit lie grow spend lose pay meet include continue provide create lead understand
follow stop allow add happen offer remain consider appear serve expect suggest raise pass sell require decide produce
carry develop reach describe agree`.split(/\s+/)

export const STARTERS: readonly string[] = [
  'The',
  'This',
  'It',
  'We',
  'In',
  'Our',
  'Each',
  'Every',
  'When',
  'Most',
  'Some',
  'That',
  'These',
  'Many',
  'One',
  'Here',
]

/** Each word with its leading space: the pieces a stream sends, one token each. */
export const SPACED_WORDS: readonly string[] = WORDS.map((w) => ` ${w}`)

export const FINAL_PIECE = '.'
