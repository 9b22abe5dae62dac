/** A run that stopped: the message names the flow, the stage and what to do. */
export class RunError extends Error {
  constructor(
    message: string,
    readonly flow: string,
    readonly stage?: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}
