'use strict';
// gRPC interop test server on @grpc/grpc-js (the Node implementation): a
// reference peer for cgrpc, the counterpart of grpcio_server.py.
//
// Implements grpc.testing.TestService as gRPC's doc/interop-test-descriptions.md
// describes the server features: EmptyCall, UnaryCall (response_size,
// response_type, fill_server_id), CacheableUnaryCall, StreamingOutputCall
// (with interval_us), StreamingInputCall, FullDuplexCall, HalfDuplexCall
// (answers once the client half-closed), Echo Status and Echo Metadata on
// every method.  UnimplementedCall and grpc.testing.UnimplementedService are
// left unimplemented on purpose.  Not implemented: fill_username and
// fill_oauth_scope (no auth here), and compression, which grpc-js 1.14 does
// not allow a server: it decompresses requests but neither says whether one
// arrived compressed (so expect_compressed is ignored) nor compresses a
// response (so response_compressed and ResponseParameters.compressed are
// ignored).
//
// Echo Status: UnaryCall, FullDuplexCall and HalfDuplexCall end the call with
// a request's response_status (non-zero code) before answering that request;
// StreamingOutputCall sends its responses first, then ends with it.
//
// cgrpc test extension: request metadata `x-cgrpc-test-sleep-ms: N` makes
// every method sleep N milliseconds (or until the call is cancelled or its
// deadline passes) before doing anything else.
//
// Usage: node grpcjs_server.js [--port N] [--host H]
//            [--use_tls[=true|false] --tls_cert_file F --tls_key_file F
//             [--tls_client_ca_file F]]
// TLS as in interop_server.c: --use_tls (alone or =true) serves with the
// certificate chain and key in --tls_cert_file and --tls_key_file
// (grpc.ServerCredentials.createSsl); --tls_client_ca_file F requires a
// client certificate that chains to the roots in F (mTLS).
// Prints exactly one line `LISTENING <port>` on stdout once serving; stops
// gracefully and exits 0 on SIGTERM or SIGINT.

const path = require('path');
const common = require('./grpcjs_common');

const { grpc, ECHO_INITIAL_KEY, ECHO_TRAILING_KEY, SLEEP_KEY } = common;
const progname = path.basename(process.argv[1] || 'grpcjs_server.js');
const SLEEP_MAX_MS = 600000;
const SHUTDOWN_GRACE_MS = 2000;

function usage(why) {
  process.stderr.write(`${progname}: ${why}\nusage: ${progname} [--port N] [--host H]\n` +
    '       [--use_tls[=true|false] --tls_cert_file F --tls_key_file F [--tls_client_ca_file F]]\n');
  process.exit(2);
}

// An error the handlers throw to end the call with a status.
class CallStatus extends Error {
  constructor(code, details) {
    super(details);
    this.code = code;
    this.details = details;
  }
}

function firstValue(call, key) {
  const values = call.metadata.get(key);
  return values.length > 0 ? values[0] : undefined;
}

// Resolves after ms milliseconds, or as soon as the call is cancelled (which
// grpc-js also does when the deadline passes).
function sleep(call, ms) {
  return new Promise((resolve) => {
    if (call.cancelled) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      call.removeListener('cancelled', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    call.on('cancelled', done);
  });
}

// What every method does first: the sleep extension, then Echo Metadata (the
// initial key now, the trailing one returned for the end of the call).
async function prologue(call) {
  const sleepMs = firstValue(call, SLEEP_KEY);
  if (sleepMs !== undefined) {
    const ms = Number(sleepMs);
    if (!/^[0-9]+$/.test(sleepMs) || ms > SLEEP_MAX_MS) {
      throw new CallStatus(grpc.status.INVALID_ARGUMENT, `bad ${SLEEP_KEY}: "${sleepMs}"`);
    }
    await sleep(call, ms);
  }
  const initial = firstValue(call, ECHO_INITIAL_KEY);
  if (initial !== undefined) {
    const md = new grpc.Metadata();
    md.set(ECHO_INITIAL_KEY, initial);
    call.sendMetadata(md);
  }
  const trailer = new grpc.Metadata();
  const trailing = firstValue(call, ECHO_TRAILING_KEY);
  if (trailing !== undefined) trailer.set(ECHO_TRAILING_KEY, trailing);
  return trailer;
}

// Echo Status: throws the requested status, if any.
function maybeEchoStatus(request) {
  const status = request.response_status;
  if (!status || status.code === 0) return;
  if (!Number.isInteger(status.code) || status.code < 0 || status.code > 16) {
    throw new CallStatus(grpc.status.INVALID_ARGUMENT,
                         `response_status.code ${status.code} is not a status code`);
  }
  throw new CallStatus(status.code, status.message);
}

function checkResponseType(request) {
  if (request.response_type !== 'COMPRESSABLE') {
    throw new CallStatus(grpc.status.INVALID_ARGUMENT,
                         `unsupported response_type ${request.response_type}`);
  }
}

function payload(size) {
  if (size < 0) throw new CallStatus(grpc.status.INVALID_ARGUMENT, `negative size ${size}`);
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

function asStatus(err, trailer) {
  if (err instanceof CallStatus) {
    return { code: err.code, details: err.details, metadata: trailer };
  }
  return { code: grpc.status.INTERNAL, details: `server error: ${err.stack || err}`,
           metadata: trailer };
}

// Writes one message, waiting while the stream is full (or until cancelled).
function write(call, message) {
  return new Promise((resolve) => {
    if (call.write(message)) {
      resolve();
      return;
    }
    const done = () => {
      call.removeListener('drain', done);
      call.removeListener('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

// The responses of one StreamingOutputCallRequest, each after its interval_us.
async function sendResponses(call, request) {
  checkResponseType(request);
  for (const params of request.response_parameters) {
    if (params.interval_us > 0) await sleep(call, params.interval_us / 1000);
    if (call.cancelled) return;
    await write(call, { payload: payload(params.size) });
  }
}

// The request messages of a call, one at a time: next() resolves with the
// next one, or null once the client half-closed or the call was cancelled.
class Requests {
  constructor(call) {
    this.items = [];
    this.ended = false;
    this.waiter = null;
    call.on('data', (message) => {
      this.items.push(message);
      this.wake();
    });
    call.on('end', () => this.end());
    call.on('cancelled', () => this.end());
  }

  end() {
    this.ended = true;
    this.wake();
  }

  wake() {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  async next() {
    while (this.items.length === 0 && !this.ended) {
      await new Promise((resolve) => { this.waiter = resolve; });
    }
    return this.items.length > 0 ? this.items.shift() : null;
  }
}

// Ends a streaming call: OK with the trailer, or the error's status.
function finishStream(call, err, trailer) {
  if (call.cancelled) return;
  if (err) call.emit('error', asStatus(err, trailer));
  else call.end(trailer);
}

const impl = {
  async EmptyCall(call, callback) {
    let trailer = null;
    try {
      trailer = await prologue(call);
      callback(null, {}, trailer);
    } catch (err) {
      callback(asStatus(err, trailer));
    }
  },

  async UnaryCall(call, callback) {
    let trailer = null;
    try {
      trailer = await prologue(call);
      const request = call.request;
      maybeEchoStatus(request);
      checkResponseType(request);
      const response = {};
      if (request.response_size > 0) response.payload = payload(request.response_size);
      if (request.fill_server_id) response.server_id = 'grpcjs-interop-server';
      callback(null, response, trailer);
    } catch (err) {
      callback(asStatus(err, trailer));
    }
  },

  // Not part of the matrix: it needs a caching proxy.
  async CacheableUnaryCall(call, callback) {
    let trailer = null;
    try {
      const md = new grpc.Metadata();
      md.set('cache-control', 'max-age=60');
      call.sendMetadata(md);
      trailer = await prologue(call);
      // Nanoseconds since the epoch, more or less: different for every call.
      const stamp = `${Date.now()}${String(process.hrtime.bigint() % 1000000n).padStart(6, '0')}`;
      callback(null, { payload: { type: 'COMPRESSABLE', body: Buffer.from(stamp) } }, trailer);
    } catch (err) {
      callback(asStatus(err, trailer));
    }
  },

  async StreamingOutputCall(call) {
    let trailer = null;
    try {
      trailer = await prologue(call);
      await sendResponses(call, call.request);
      maybeEchoStatus(call.request);
      finishStream(call, null, trailer);
    } catch (err) {
      finishStream(call, err, trailer);
    }
  },

  async StreamingInputCall(call, callback) {
    // Count from the start: requests may arrive while the prologue sleeps.
    const requests = new Requests(call);
    let trailer = null;
    try {
      trailer = await prologue(call);
      let total = 0;
      for (let r = await requests.next(); r !== null; r = await requests.next()) {
        total += r.payload ? r.payload.body.length : 0;
      }
      if (call.cancelled) return;
      callback(null, { aggregated_payload_size: total }, trailer);
    } catch (err) {
      callback(asStatus(err, trailer));
    }
  },

  async FullDuplexCall(call) {
    const requests = new Requests(call);
    let trailer = null;
    try {
      trailer = await prologue(call);
      for (let r = await requests.next(); r !== null; r = await requests.next()) {
        maybeEchoStatus(r);
        await sendResponses(call, r);
      }
      finishStream(call, null, trailer);
    } catch (err) {
      finishStream(call, err, trailer);
    }
  },

  async HalfDuplexCall(call) {
    const requests = new Requests(call);
    let trailer = null;
    try {
      trailer = await prologue(call);
      const all = [];
      for (let r = await requests.next(); r !== null; r = await requests.next()) all.push(r);
      for (const r of all) {
        maybeEchoStatus(r);
        await sendResponses(call, r);
      }
      finishStream(call, null, trailer);
    } catch (err) {
      finishStream(call, err, trailer);
    }
  },
  // UnimplementedCall: left out, so grpc-js answers UNIMPLEMENTED.
};

function main() {
  const flags = common.parseFlags(process.argv.slice(2), {
    port: '0',
    host: '127.0.0.1',
    use_tls: 'false',
    tls_cert_file: '',
    tls_key_file: '',
    tls_client_ca_file: '',
  }, usage, ['use_tls']);
  if (!/^[0-9]+$/.test(flags.port) || Number(flags.port) > 65535) usage(`bad --port ${flags.port}`);
  let creds;
  if (common.isTrue(flags.use_tls)) {
    if (!flags.tls_cert_file || !flags.tls_key_file) {
      usage('--use_tls needs --tls_cert_file and --tls_key_file');
    }
    const clientCa = common.readFlagFile(flags, 'tls_client_ca_file', usage);
    creds = grpc.ServerCredentials.createSsl(clientCa, [{
      private_key: common.readFlagFile(flags, 'tls_key_file', usage),
      cert_chain: common.readFlagFile(flags, 'tls_cert_file', usage),
    }], clientCa !== null);
  } else if (flags.tls_cert_file || flags.tls_key_file || flags.tls_client_ca_file) {
    usage('the --tls_*_file flags need --use_tls');
  } else {
    creds = grpc.ServerCredentials.createInsecure();
  }

  const testing = common.loadTesting();
  const server = new grpc.Server();
  server.addService(testing.TestService.service, impl);
  server.bindAsync(common.hostPort(flags.host, flags.port), creds,
                   (err, port) => {
                     if (err) {
                       process.stderr.write(`${progname}: cannot listen on ` +
                                            `${common.hostPort(flags.host, flags.port)}: ${err.message}\n`);
                       process.exit(1);
                     }
                     process.stdout.write(`LISTENING ${port}\n`);
                   });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Let calls in flight finish for a while, then cut them off.
    const timer = setTimeout(() => {
      server.forceShutdown();
      setTimeout(() => process.exit(0), 100);
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
