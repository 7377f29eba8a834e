'use strict';
// What grpcjs_server.js and grpcjs_client.js share: loading grpc-js and the
// interop protos, flag parsing, the case list.
//
// @grpc/grpc-js and @grpc/proto-loader come from NODE_PATH (the test scripts
// point it at the node_modules they install into the build tree, see
// common.sh); the protos from GRPC_PROTO_DIR (default /usr/share/grpc-proto),
// loaded at run time.

const fs = require('fs');
const path = require('path');

let grpc;
let protoLoader;
try {
  grpc = require('@grpc/grpc-js');
  protoLoader = require('@grpc/proto-loader');
} catch (e) {
  process.stderr.write(`${path.basename(process.argv[1])}: cannot load @grpc/grpc-js and ` +
                       `@grpc/proto-loader (set NODE_PATH): ${e.message}\n`);
  process.exit(2);
}

// The same cases as interop_cases.py, in the same order.
const OFFICIAL_CASES = [
  'empty_unary',
  'large_unary',
  'client_streaming',
  'server_streaming',
  'ping_pong',
  'empty_stream',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
  'cancel_after_begin',
  'cancel_after_first_response',
  'timeout_on_sleeping_server',
  'client_compressed_unary',
  'server_compressed_unary',
  'client_compressed_streaming',
  'server_compressed_streaming',
];
const COMPRESSION_CASES = OFFICIAL_CASES.slice(-4);
const EXTRA_CASES = [
  'half_duplex',
  'server_streaming_with_interval',
  'timeout_on_sleeping_server_unary',
];
const GROUPS = {
  all: OFFICIAL_CASES,
  compression: COMPRESSION_CASES,
  extra: EXTRA_CASES,
  everything: OFFICIAL_CASES.concat(EXTRA_CASES),
};

const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';
const SLEEP_KEY = 'x-cgrpc-test-sleep-ms';

// Returns the grpc.testing package object (TestService, UnimplementedService, ...).
function loadTesting() {
  const protoDir = process.env.GRPC_PROTO_DIR || '/usr/share/grpc-proto';
  const definition = protoLoader.loadSync(['grpc/testing/test.proto'], {
    includeDirs: [protoDir],
    keepCase: true,  // field names as in the .proto: response_size, not responseSize
    longs: Number,
    enums: String,
    bytes: Buffer,
    defaults: true,  // absent scalars read as their defaults, absent messages as null
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).grpc.testing;
}

// Expands a comma-separated list of cases and groups, keeping the order and
// dropping repeats.  Throws on an unknown name.
function expandCases(list) {
  const known = new Set(GROUPS.everything);
  const out = [];
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    for (const c of GROUPS[name] || [name]) {
      if (!known.has(c)) throw new Error(`unknown test case "${c}"`);
      if (!out.includes(c)) out.push(c);
    }
  }
  return out;
}

// Parses --name=value and --name value flags into an object; names not in
// `known` (an object of defaults) are usage errors.  The names in `bools`
// are booleans, as grpc's programs take them: --name alone means true, and
// the value may follow as a word only if it is one (--use_tls false).
function parseFlags(argv, known, usage, bools = []) {
  const flags = Object.assign({}, known);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z_]+)(?:=(.*))?$/s.exec(argv[i]);
    if (!m || !(m[1] in known)) usage(`unknown argument "${argv[i]}"`);
    let value = m[2];
    if (value === undefined && bools.includes(m[1])) {
      const next = argv[i + 1];
      value = next !== undefined && (isTrue(next) || isFalse(next)) ? argv[++i] : 'true';
    } else if (value === undefined) {
      if (i + 1 >= argv.length) usage(`--${m[1]} needs a value`);
      value = argv[++i];
    }
    flags[m[1]] = value;
  }
  for (const name of bools) {
    if (!isFalse(flags[name]) && !isTrue(flags[name])) {
      usage(`--${name}=${flags[name]}: want true or false`);
    }
  }
  return flags;
}

function isFalse(value) {
  return ['false', '0', 'no'].includes(String(value).toLowerCase());
}

function isTrue(value) {
  return ['true', '1', 'yes'].includes(String(value).toLowerCase());
}

// The contents of a file named by a flag (null if the flag is empty); a
// file that cannot be read is a usage error.
function readFlagFile(flags, name, usage) {
  if (!flags[name]) return null;
  try {
    return fs.readFileSync(flags[name]);
  } catch (e) {
    return usage(`--${name}: ${e.message}`);
  }
}

// "host:port", with IPv6 addresses in brackets.
function hostPort(host, port) {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

module.exports = {
  grpc,
  loadTesting,
  expandCases,
  parseFlags,
  isFalse,
  isTrue,
  readFlagFile,
  hostPort,
  GROUPS,
  ECHO_INITIAL_KEY,
  ECHO_TRAILING_KEY,
  SLEEP_KEY,
};
