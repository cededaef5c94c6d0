/**
 * A request the translation cannot serve, and the client can fix: the route answers it as a 400
 * naming `param` (in the client's wire), never as a provider failure.
 */
export class ClientInputError extends Error {
  readonly param: string

  constructor(param: string, message: string) {
    super(message)
    this.name = 'ClientInputError'
    this.param = param
  }
}
