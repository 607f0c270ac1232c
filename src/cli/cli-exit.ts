/** A command ends with this exit code and message (written to stderr by the command line). */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
