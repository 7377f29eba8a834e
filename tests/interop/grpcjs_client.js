'use strict';
// gRPC interop test client on @grpc/grpc-js (the Node implementation): a
// reference peer for cgrpc, the counterpart of grpcio_client.py.
//
// Runs the cases of interop_cases.py (gRPC's doc/interop-test-descriptions.md
// plus our extra cases), in the order given, exactly as grpcio_client.py
// does; its docstring says where we go beyond the official descriptions.
// Compression: grpc-js compresses per channel (grpc.default_compression_algorithm),
// so "compressed" requests go on a second channel set to gzip, and the
// uncompressed second request of client_compressed_streaming is written with
// the NoCompress write flag.  grpc-js does not tell whether a response
// arrived compressed: server_compressed_* check the responses only.
//
// Usage: node grpcjs_client.js --server_port N [--server_host H]
//            [--server_host_override AUTHORITY] [--test_case all|CASE[,CASE...]]
//            [--use_tls[=true|false] [--ca_file F]
//             [--tls_client_cert_file F --tls_client_key_file F]]
// TLS as in interop_client.c: --use_tls (alone or =true) with the roots in
// --ca_file (default: Node's), --server_host_override as the name the
// server's certificate must carry (grpc.ssl_target_name_override) and the
// :authority, and for mTLS the client's certificate chain and key in
// --tls_client_cert_file and --tls_client_key_file (grpc.credentials.createSsl).
// Prints one line per case, `PASS <case>` or `FAIL <case>: <why>`, and exits 0
// only if every case passed (2 on bad usage).

const path = require('path');
const common = require('./grpcjs_common');

const { grpc, ECHO_INITIAL_KEY, ECHO_TRAILING_KEY, SLEEP_KEY } = common;
const progname = path.basename(process.argv[1] || 'grpcjs_client.js');

const ECHO_INITIAL_VALUE = 'test_initial_metadata_value';
const ECHO_TRAILING_VALUE = Buffer.from([0xab, 0xab, 0xab]);

const STATUS_MESSAGE = 'test status message';
const SPECIAL_STATUS_MESSAGE =
  '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n';
const PERCENT_STATUS_MESSAGE =
  '100% sure: %25 stays %25, %s %d %n %% and %zz are literal, as is a final %';
const STATUS_MESSAGES = [STATUS_MESSAGE, SPECIAL_STATUS_MESSAGE, PERCENT_STATUS_MESSAGE];

// timeout_on_sleeping_server_unary: deadline, and bounds on when it fails.
const SLEEP_DEADLINE_MS = 100;
const SLEEP_MIN_MS = 50;
const SLEEP_MAX_MS = 1500;
// server_streaming_with_interval
const INTERVAL_US = 100000;
const INTERVAL_SLACK_MS = 5;

// grpc-js's WriteFlags.NoCompress (a const enum, so not exported).
const WRITE_NO_COMPRESS = 2;
// grpc.default_compression_algorithm values: identity 0, deflate 1, gzip 2.
const COMPRESSION_GZIP = 2;

const CODE_NAMES = {};
for (const [name, value] of Object.entries(grpc.status)) CODE_NAMES[value] = name;

function codeName(code) {
  return CODE_NAMES[code] || `code ${code}`;
}

function usage(why) {
  process.stderr.write(`${progname}: ${why}\n` +
    `usage: ${progname} --server_port N [--server_host H] [--server_host_override AUTHORITY]\n` +
    `       [--test_case all|CASE[,CASE...]]\n` +
    '       [--use_tls[=true|false] [--ca_file F] ' +
    '[--tls_client_cert_file F --tls_client_key_file F]]\n' +
    `groups: ${Object.keys(common.GROUPS).join(', ')}\n` +
    `cases: ${common.GROUPS.everything.join(' ')}\n`);
  process.exit(2);
}

class Failure extends Error {}

function expect(cond, why) {
  if (!cond) throw new Failure(why);
}

function zeros(n) {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(n) };
}

function checkPayload(payload, size, what = 'response') {
  expect(payload, `${what} has no payload, want ${size} bytes`);
  expect(payload.type === 'COMPRESSABLE', `${what} payload type ${payload.type}`);
  expect(payload.body.length === size,
         `${what} payload is ${payload.body.length} bytes, want ${size}`);
  expect(payload.body.every((b) => b === 0), `${what} payload is not all zero bytes`);
}

function checkResponses(responses, sizes) {
  expect(responses.length === sizes.length,
         `${responses.length} responses, want ${sizes.length}`);
  responses.forEach((r, i) => checkPayload(r.payload, sizes[i], `response ${i}`));
}

function echoMetadata() {
  const md = new grpc.Metadata();
  md.add(ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE);
  md.add(ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE);
  return md;
}

function checkEchoedMetadata(initial, trailing) {
  const i = initial ? initial.get(ECHO_INITIAL_KEY) : [];
  expect(i.length === 1 && i[0] === ECHO_INITIAL_VALUE,
         `initial metadata ${ECHO_INITIAL_KEY} is ${JSON.stringify(i)}, ` +
         `want "${ECHO_INITIAL_VALUE}"`);
  const t = trailing ? trailing.get(ECHO_TRAILING_KEY) : [];
  expect(t.length === 1 && Buffer.isBuffer(t[0]) && t[0].equals(ECHO_TRAILING_VALUE),
         `trailing metadata ${ECHO_TRAILING_KEY} is ` +
         `[${t.map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : JSON.stringify(v)))}], ` +
         'want [ababab]');
}

// Fails unless status has code (and, if given, exactly this message).
function expectStatus(status, code, message) {
  expect(status.code === code,
         `status ${codeName(status.code)} (${JSON.stringify(status.details)}), ` +
         `want ${codeName(code)}`);
  if (message !== undefined) {
    expect(status.details === message,
           `status message ${JSON.stringify(status.details)}, want ${JSON.stringify(message)}`);
  }
}

function outputRequest(sizes, requestSize = 0, intervalUs = 0, status = null) {
  const request = {
    response_type: 'COMPRESSABLE',
    response_parameters: sizes.map((size) => ({ size, interval_us: intervalUs })),
  };
  if (requestSize > 0) request.payload = zeros(requestSize);
  if (status) request.response_status = { code: status[0], message: status[1] };
  return request;
}

// Follows a call: its initial metadata, its messages (queued for next()),
// and its status.  `done` resolves with the status.
class Tracker {
  constructor(call) {
    this.call = call;
    this.initial = null;
    this.messages = [];
    this.received = 0;
    this.status = null;
    this.waiter = null;
    call.on('metadata', (md) => { this.initial = md; });
    call.on('data', (message) => {
      this.messages.push(message);
      this.received++;
      this.wake();
    });
    call.on('error', () => {});  // the status says it all
    this.done = new Promise((resolve) => {
      call.on('status', (status) => {
        this.status = status;
        this.wake();
        resolve(status);
      });
    });
  }

  wake() {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  // The next message, or null once the call ended without another.
  async next() {
    while (this.messages.length === 0 && this.status === null) {
      await new Promise((resolve) => { this.waiter = resolve; });
    }
    return this.messages.length > 0 ? this.messages.shift() : null;
  }

  // Every remaining message, once the call ended.
  async rest() {
    await this.done;
    const out = this.messages;
    this.messages = [];
    return out;
  }
}

// A unary (or client-streaming) call: resolves with
// { error, response, initial, status }.  start(callback) starts the call.
function unary(start) {
  return new Promise((resolve) => {
    let result = null;
    let status = null;
    let initial = null;
    const finish = () => {
      if (result && status) resolve(Object.assign(result, { initial, status }));
    };
    const call = start((error, response) => {
      result = { error, response };
      finish();
    });
    call.on('metadata', (md) => { initial = md; });
    call.on('status', (s) => {
      status = s;
      finish();
    });
  });
}

class Cases {
  constructor(target, creds, options) {
    const testing = common.loadTesting();
    this.stub = new testing.TestService(target, creds, options);
    this.unimplemented = new testing.UnimplementedService(target, creds, options);
    // A channel of its own that compresses every request (the compression cases).
    this.gzipStub = new testing.TestService(target, creds, Object.assign(
      {}, options, { 'grpc.default_compression_algorithm': COMPRESSION_GZIP }));
  }

  close() {
    this.stub.close();
    this.unimplemented.close();
    this.gzipStub.close();
  }

  async pingPong(tracker, exchanges) {
    for (let i = 0; i < exchanges.length; i++) {
      const [requestSize, responseSize] = exchanges[i];
      tracker.call.write(outputRequest([responseSize], requestSize));
      const response = await tracker.next();
      expect(response !== null, `stream ended before response ${i}` +
             (tracker.status ? ` (status ${codeName(tracker.status.code)})` : ''));
      checkPayload(response.payload, responseSize, `response ${i}`);
    }
  }

  // ---- the official cases ---------------------------------------------------

  async empty_unary() {
    const r = await unary((cb) => this.stub.EmptyCall({}, cb));
    expectStatus(r.status, grpc.status.OK);
    expect(r.response, 'call succeeded without a response');
  }

  async large_unary() {
    const r = await unary((cb) => this.stub.UnaryCall(
      { response_type: 'COMPRESSABLE', response_size: 314159, payload: zeros(271828) }, cb));
    expectStatus(r.status, grpc.status.OK);
    checkPayload(r.response.payload, 314159);
  }

  async client_streaming() {
    let call;
    const result = unary((cb) => {
      call = this.stub.StreamingInputCall(cb);
      return call;
    });
    for (const n of [27182, 8, 1828, 45904]) call.write({ payload: zeros(n) });
    call.end();
    const r = await result;
    expectStatus(r.status, grpc.status.OK);
    expect(r.response.aggregated_payload_size === 74922,
           `aggregated_payload_size ${r.response.aggregated_payload_size}, want 74922`);
  }

  async server_streaming() {
    const sizes = [31415, 9, 2653, 58979];
    const t = new Tracker(this.stub.StreamingOutputCall(outputRequest(sizes)));
    const responses = await t.rest();
    expectStatus(t.status, grpc.status.OK);
    checkResponses(responses, sizes);
  }

  async ping_pong() {
    const t = new Tracker(this.stub.FullDuplexCall());
    try {
      await this.pingPong(t, [[27182, 31415], [8, 9], [1828, 2653], [45904, 58979]]);
      t.call.end();
      const extra = await t.rest();
      expect(extra.length === 0, `${extra.length} responses more than expected`);
      expectStatus(t.status, grpc.status.OK);
    } finally {
      t.call.cancel();
    }
  }

  async empty_stream() {
    const t = new Tracker(this.stub.FullDuplexCall());
    t.call.end();
    const responses = await t.rest();
    expectStatus(t.status, grpc.status.OK);
    expect(responses.length === 0, `${responses.length} responses, want 0`);
  }

  async custom_metadata() {
    // UnaryCall
    const r = await unary((cb) => this.stub.UnaryCall(
      { response_type: 'COMPRESSABLE', response_size: 314159, payload: zeros(271828) },
      echoMetadata(), cb));
    expectStatus(r.status, grpc.status.OK);
    checkPayload(r.response.payload, 314159);
    try {
      checkEchoedMetadata(r.initial, r.status.metadata);
    } catch (e) {
      throw new Failure(`UnaryCall: ${e.message}`);
    }
    // FullDuplexCall
    const t = new Tracker(this.stub.FullDuplexCall(echoMetadata()));
    t.call.write(outputRequest([314159], 271828));
    t.call.end();
    const responses = await t.rest();
    expectStatus(t.status, grpc.status.OK);
    checkResponses(responses, [314159]);
    try {
      checkEchoedMetadata(t.initial, t.status.metadata);
    } catch (e) {
      throw new Failure(`FullDuplexCall: ${e.message}`);
    }
  }

  async echoStatusUnary(message) {
    const r = await unary((cb) => this.stub.UnaryCall(
      { response_status: { code: 2, message } }, cb));
    expectStatus(r.status, grpc.status.UNKNOWN, message);
  }

  async echoStatusFullDuplex(message) {
    const t = new Tracker(this.stub.FullDuplexCall());
    t.call.write(outputRequest([], 0, 0, [2, message]));
    t.call.end();
    await t.done;
    try {
      expectStatus(t.status, grpc.status.UNKNOWN, message);
    } catch (e) {
      throw new Failure(`FullDuplexCall: ${e.message}`);
    }
  }

  async status_code_and_message() {
    for (const m of STATUS_MESSAGES) await this.echoStatusUnary(m);
    for (const m of STATUS_MESSAGES) await this.echoStatusFullDuplex(m);
  }

  async special_status_message() {
    await this.echoStatusUnary(SPECIAL_STATUS_MESSAGE);
  }

  async unimplemented_method() {
    const r = await unary((cb) => this.stub.UnimplementedCall({}, cb));
    expectStatus(r.status, grpc.status.UNIMPLEMENTED);
  }

  async unimplemented_service() {
    const r = await unary((cb) => this.unimplemented.UnimplementedCall({}, cb));
    expectStatus(r.status, grpc.status.UNIMPLEMENTED);
  }

  async cancel_after_begin() {
    let call;
    const result = unary((cb) => {
      call = this.stub.StreamingInputCall(cb);
      return call;
    });
    call.cancel();
    const r = await result;
    expectStatus(r.status, grpc.status.CANCELLED);
  }

  async cancel_after_first_response() {
    const t = new Tracker(this.stub.FullDuplexCall());
    await this.pingPong(t, [[27182, 31415]]);
    t.call.cancel();
    await t.done;
    expectStatus(t.status, grpc.status.CANCELLED);
  }

  async timeout_on_sleeping_server() {
    const t = new Tracker(this.stub.FullDuplexCall({ deadline: Date.now() + 1 }));
    t.call.write({ payload: zeros(27182) });
    await t.done;
    expectStatus(t.status, grpc.status.DEADLINE_EXCEEDED);
  }

  // ---- the compression cases -------------------------------------------------

  async client_compressed_unary() {
    const steps = [
      // The probe: a server that cannot tell how a request came fails here.
      ['probe (uncompressed, expect_compressed true)', this.stub, true,
       grpc.status.INVALID_ARGUMENT],
      ['gzip request, expect_compressed true', this.gzipStub, true, grpc.status.OK],
      ['uncompressed request, expect_compressed false', this.stub, false, grpc.status.OK],
    ];
    for (const [what, stub, expected, code] of steps) {
      const r = await unary((cb) => stub.UnaryCall({
        response_type: 'COMPRESSABLE', response_size: 314159, payload: zeros(271828),
        expect_compressed: { value: expected },
      }, cb));
      try {
        expectStatus(r.status, code);
        if (code === grpc.status.OK) checkPayload(r.response.payload, 314159);
      } catch (e) {
        throw new Failure(`${what}: ${e.message}`);
      }
    }
  }

  async server_compressed_unary() {
    for (const value of [true, false]) {
      const r = await unary((cb) => this.stub.UnaryCall({
        response_type: 'COMPRESSABLE', response_size: 314159, payload: zeros(271828),
        response_compressed: { value },
      }, cb));
      try {
        expectStatus(r.status, grpc.status.OK);
        checkPayload(r.response.payload, 314159);
      } catch (e) {
        throw new Failure(`response_compressed ${value}: ${e.message}`);
      }
    }
  }

  async client_compressed_streaming() {
    // The probe: one uncompressed request expecting compression.
    let call;
    let r = await unary((cb) => {
      call = this.stub.StreamingInputCall(cb);
      call.write({ payload: zeros(27182), expect_compressed: { value: true } });
      call.end();
      return call;
    });
    try {
      expectStatus(r.status, grpc.status.INVALID_ARGUMENT);
    } catch (e) {
      throw new Failure(`probe (uncompressed, expect_compressed true): ${e.message}`);
    }
    // On the gzip channel: the first request compressed, the second not.
    r = await unary((cb) => {
      call = this.gzipStub.StreamingInputCall(cb);
      call.write({ payload: zeros(27182), expect_compressed: { value: true } });
      call.write({ payload: zeros(45904), expect_compressed: { value: false } },
                 WRITE_NO_COMPRESS);
      call.end();
      return call;
    });
    try {
      expectStatus(r.status, grpc.status.OK);
      expect(r.response.aggregated_payload_size === 73086,
             `aggregated_payload_size ${r.response.aggregated_payload_size}, want 73086`);
    } catch (e) {
      throw new Failure(`gzip call, one request compressed and one not: ${e.message}`);
    }
  }

  async server_compressed_streaming() {
    const sizes = [31415, 92653];
    const t = new Tracker(this.stub.StreamingOutputCall({
      response_type: 'COMPRESSABLE',
      response_parameters: [
        { size: 31415, compressed: { value: true } },
        { size: 92653, compressed: { value: false } },
      ],
    }));
    const responses = await t.rest();
    expectStatus(t.status, grpc.status.OK);
    checkResponses(responses, sizes);
  }

  // ---- our extra cases --------------------------------------------------------

  async half_duplex() {
    const sizes = [31415, 9, 2653, 58979];
    const t = new Tracker(this.stub.HalfDuplexCall());
    for (const n of sizes) t.call.write(outputRequest([n], 100));
    t.call.end();
    const responses = await t.rest();
    expectStatus(t.status, grpc.status.OK);
    checkResponses(responses, sizes);
  }

  async server_streaming_with_interval() {
    const sizes = [31415, 9, 2653];
    const start = process.hrtime.bigint();
    const t = new Tracker(this.stub.StreamingOutputCall(outputRequest(sizes, 0, INTERVAL_US)));
    const responses = [];
    const times = [];
    for (let r = await t.next(); r !== null; r = await t.next()) {
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      responses.push(r);
    }
    await t.done;
    expectStatus(t.status, grpc.status.OK);
    checkResponses(responses, sizes);
    times.forEach((ms, i) => {
      const want = ((i + 1) * INTERVAL_US) / 1000 - INTERVAL_SLACK_MS;
      expect(ms >= want, `response ${i} after ${ms.toFixed(1)} ms, want at least ${want} ms`);
    });
  }

  async timeout_on_sleeping_server_unary() {
    const md = new grpc.Metadata();
    md.add(SLEEP_KEY, '2000');
    const start = process.hrtime.bigint();
    const r = await unary((cb) => this.stub.UnaryCall(
      {}, md, { deadline: Date.now() + SLEEP_DEADLINE_MS }, cb));
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    expectStatus(r.status, grpc.status.DEADLINE_EXCEEDED);
    expect(elapsed >= SLEEP_MIN_MS && elapsed < SLEEP_MAX_MS,
           `DEADLINE_EXCEEDED after ${elapsed.toFixed(1)} ms, want ${SLEEP_MIN_MS} to ` +
           `${SLEEP_MAX_MS} ms with a ${SLEEP_DEADLINE_MS} ms deadline`);
    // The server is still sleeping on the abandoned call; it must go on serving.
    const e = await unary((cb) => this.stub.EmptyCall({}, new grpc.Metadata(),
                                                      { deadline: Date.now() + 5000 }, cb));
    if (e.status.code !== grpc.status.OK) {
      throw new Failure(`EmptyCall after the timeout: status ${codeName(e.status.code)} ` +
                        `(${JSON.stringify(e.status.details)})`);
    }
  }
}

function oneLine(text) {
  return String(text).split(/\r?\n/).join(' ') || '(no detail)';
}

async function main() {
  const flags = common.parseFlags(process.argv.slice(2), {
    server_host: '127.0.0.1',
    server_port: '',
    server_host_override: '',
    test_case: 'all',
    use_tls: 'false',
    use_test_ca: 'false',
    ca_file: '',
    tls_client_cert_file: '',
    tls_client_key_file: '',
  }, usage, ['use_tls', 'use_test_ca']);
  const useTls = common.isTrue(flags.use_tls);
  if (!useTls && (flags.ca_file || flags.tls_client_cert_file || flags.tls_client_key_file)) {
    usage('--ca_file and --tls_client_*_file need --use_tls');
  }
  if (!flags.tls_client_cert_file !== !flags.tls_client_key_file) {
    usage('--tls_client_cert_file and --tls_client_key_file go together');
  }
  if (useTls && common.isTrue(flags.use_test_ca) && !flags.ca_file) {
    usage('--use_test_ca: there is no built-in test CA; give --ca_file');
  }
  if (!/^[0-9]+$/.test(flags.server_port) || Number(flags.server_port) < 1 ||
      Number(flags.server_port) > 65535) {
    usage('--server_port N is required (1 to 65535)');
  }
  let names;
  try {
    names = common.expandCases(flags.test_case);
  } catch (e) {
    usage(e.message);
  }

  const options = {};
  if (flags.server_host_override) {
    options['grpc.default_authority'] = flags.server_host_override;
    if (useTls) options['grpc.ssl_target_name_override'] = flags.server_host_override;
  }
  const creds = useTls
    ? grpc.credentials.createSsl(common.readFlagFile(flags, 'ca_file', usage),
                                 common.readFlagFile(flags, 'tls_client_key_file', usage),
                                 common.readFlagFile(flags, 'tls_client_cert_file', usage))
    : grpc.credentials.createInsecure();
  const cases = new Cases(common.hostPort(flags.server_host, flags.server_port), creds, options);
  let ok = true;
  for (const name of names) {
    let line = `PASS ${name}`;
    try {
      await cases[name]();
    } catch (e) {
      line = e instanceof Failure ? `FAIL ${name}: ${oneLine(e.message)}`
        : `FAIL ${name}: ${oneLine(e.stack || e)}`;
      ok = false;
    }
    process.stdout.write(`${line}\n`);
  }
  cases.close();
  // Calls a failed case left behind must not keep the process alive.
  process.exitCode = ok ? 0 : 1;
  setImmediate(() => process.exit(process.exitCode));
}

main();
