/**
 * Small helpers around uWS HttpResponse, following the uWS rules: attach onAborted before any
 * await, copy every onData chunk (its buffer is neutered after the callback), and cork writes
 * made after an await.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { GatewayError, asGatewayError } from '../core/errors.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Unknown'}`;
}

/** Tracks whether the client went away, so nothing is written to a dead response. */
export interface Reply {
  res: HttpResponse;
  aborted: boolean;
  remote: string;
}

export function startReply(res: HttpResponse): Reply {
  const reply: Reply = { res, aborted: false, remote: Buffer.from(res.getRemoteAddressAsText()).toString() };
  res.onAborted(() => {
    reply.aborted = true;
  });
  return reply;
}

export function sendJson(reply: Reply, status: number, body: unknown, extraHeaders: Record<string, string> = {}, close = false): void {
  if (reply.aborted) return;
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  reply.res.cork(() => {
    reply.res.writeStatus(statusLine(status));
    reply.res.writeHeader('Content-Type', 'application/json; charset=utf-8');
    reply.res.writeHeader('Cache-Control', 'no-store');
    for (const [k, v] of Object.entries(extraHeaders)) reply.res.writeHeader(k, v);
    reply.res.end(payload, close);
  });
  reply.aborted = true; // the response is finished: no second write
}

export function sendText(reply: Reply, status: number, contentType: string, body: string): void {
  if (reply.aborted) return;
  reply.res.cork(() => {
    reply.res.writeStatus(statusLine(status)).writeHeader('Content-Type', contentType).writeHeader('Cache-Control', 'no-store').end(body);
  });
  reply.aborted = true;
}

export function sendError(reply: Reply, err: unknown, onInternal?: (err: unknown) => void): void {
  const e = asGatewayError(err);
  if (e.code === 'internal_error') onInternal?.(err);
  // After a 413 the rest of the body is still on the wire, and after a 400 for its framing
  // nobody knows where it ends: close instead of reading it.
  sendJson(reply, e.status, e.toJSON(), errorHeaders(e), e.code === 'payload_too_large' || FRAMING.has(e));
}

/** Headers an error needs: when to come back (RFC 9110 10.2.3) for 429 and for a full gateway. */
export function errorHeaders(e: GatewayError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (e.status === 429 || e.code === 'too_many_connections') {
    const s = e.details?.['retry_after_s'];
    headers['Retry-After'] = String(typeof s === 'number' && s >= 1 ? Math.ceil(s) : 1);
  }
  if (e.code === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer realm="machine-gateway"';
  return headers;
}

/** Errors about where a body ends: the connection cannot be reused after them. */
const FRAMING = new WeakSet<GatewayError>();

function framingError(message: string): GatewayError {
  const e = new GatewayError('invalid_request', message);
  FRAMING.add(e);
  return e;
}

/**
 * The headers of a request with a JSON body, checked before it is read: exactly one
 * Content-Length (two of them, or one beside Transfer-Encoding, is how requests are smuggled
 * past a proxy that reads the other one), and Content-Type application/json (a form post from
 * another site cannot then pass as a control write). Returns the Content-Length, or the error.
 */
export function jsonBodyHeaders(req: HttpRequest): { contentLength: string } | GatewayError {
  const lengths: string[] = [];
  let chunked = false;
  let type: string | undefined;
  req.forEach((key, value) => {
    if (key === 'content-length') lengths.push(value);
    else if (key === 'transfer-encoding') chunked = true;
    else if (key === 'content-type') type = value;
  });
  if (lengths.length > 1) {
    return framingError(`${lengths.length} Content-Length headers; send exactly one`);
  }
  if (lengths.length === 1 && chunked) {
    return framingError('both Content-Length and Transfer-Encoding; send one of them');
  }
  if (lengths.length === 1 && !/^\d{1,15}$/.test(lengths[0]!)) {
    return framingError(`Content-Length ${JSON.stringify(lengths[0]!.slice(0, 40))} is not a number of bytes`);
  }
  const media = type?.split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json') {
    return new GatewayError(
      'unsupported_media_type',
      `${type === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(type.slice(0, 100))}`}; the body must be JSON sent as "Content-Type: application/json"`,
    );
  }
  return { contentLength: lengths[0] ?? '' };
}

/** Reads the whole request body, refusing more than `limit` bytes. */
export function readBody(res: HttpResponse, limit: number, contentLength: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = contentLength === '' ? undefined : Number(contentLength);
    if (declared !== undefined && declared > limit) {
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks, size));
      }
    });
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `the body is larger than ${limit} bytes (server.max_body_bytes)`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a JSON body or message; malformed UTF-8 or JSON is `invalid_json` with the parser's reason. */
export function parseJson(bytes: ArrayBuffer | Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new GatewayError('invalid_json', 'not valid UTF-8');
  }
  if (text.trim() === '') throw new GatewayError('invalid_json', 'empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GatewayError('invalid_json', `not valid JSON: ${(err as Error).message}`);
  }
}

/** The first path parameter (`:id`, `:bus`), URL-decoded; a malformed escape is kept raw, so the lookup reports it as not found. */
export function pathParam(req: HttpRequest): string {
  const raw = req.getParameter(0) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
