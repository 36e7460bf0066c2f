/**
 * SMTP errors that are safe to show: a reply code, an enhanced status code (RFC 3463) and a generic public text.
 * The internal cause goes to the log, never on the wire (no hosts, lists or configuration leak to a client).
 */
export class SmtpError extends Error {
  readonly responseCode: number;
  readonly enhanced: string;
  readonly publicText: string;
  override readonly cause: unknown;

  constructor(responseCode: number, enhanced: string, publicText: string, cause?: unknown) {
    // smtp-server writes `${responseCode} ${message}`; the message carries the enhanced code first.
    super(`${enhanced} ${publicText}`);
    this.responseCode = responseCode;
    this.enhanced = enhanced;
    this.publicText = publicText;
    this.cause = cause;
  }

  get temporary(): boolean { return this.responseCode < 500; }
}

export const Replies = {
  relayDenied: () => new SmtpError(554, '5.7.1', 'Relay access denied'),
  messageTooBig: () => new SmtpError(552, '5.3.4', 'Message size exceeds fixed limit'),
  headerTooBig: () => new SmtpError(552, '5.3.4', 'Message header size exceeds limit'),
  tlsRequired: () => new SmtpError(530, '5.7.0', 'Must issue a STARTTLS command first'),
  receivingPaused: () => new SmtpError(421, '4.3.2', 'Service not available, try again later'),
  tooManyConnections: () => new SmtpError(421, '4.7.0', 'Too many connections, try again later'),
  rateLimited: () => new SmtpError(421, '4.7.0', 'Rate limit exceeded, try again later'),
  messageRateLimited: () => new SmtpError(450, '4.7.1', 'Message rate limit exceeded, try again later'),
  unknownRecipient: () => new SmtpError(550, '5.1.1', 'Recipient address rejected: user unknown'),
  unresolvableDomain: () => new SmtpError(550, '5.1.2', 'Recipient address rejected: domain not found'),
  verifyTempFail: () => new SmtpError(450, '4.1.1', 'Recipient address verification in progress, try again later'),
  localError: (cause?: unknown) => new SmtpError(451, '4.3.0', 'Local error in processing, try again later', cause),
  badSender: () => new SmtpError(553, '5.1.7', 'Sender address rejected: bad address syntax'),
  badRecipient: () => new SmtpError(553, '5.1.3', 'Recipient address rejected: bad address syntax'),
  authRequiresTls: () => new SmtpError(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authFailed: () => new SmtpError(535, '5.7.8', 'Authentication credentials invalid'),
  authTooManyFailures: () => new SmtpError(421, '4.7.0', 'Too many authentication failures, closing connection'),
};
