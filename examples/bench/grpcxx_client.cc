// grpc C++ BenchmarkService client: runs N UnaryCalls with C in flight and prints
// throughput and latency, in the same format as the cgrpc bench_client.
//
// Models (--mode):
//   sync   blocking stub calls, one thread per call in flight.  With one call in flight
//          this is grpc's lowest-latency client (the calling thread polls for its own
//          completion; grpc's "sync_unary_ping_pong" scenario).  Default for --concurrency 1.
//   async  one completion queue polled by one thread, keeping C calls in flight
//          (grpc's ASYNC_CLIENT, test/cpp/qps/client_async.cc).  Default otherwise.
//
// Flags: --target host:port --calls N --concurrency C --req_size B --resp_size B
//        --warmup N --mode sync|async; or --write_request FILE to write one gRPC-framed
//        SimpleRequest (5-byte prefix + message) for h2load --data, and exit.
// Output: one line
//   RESULT impl=grpcxx mode=M calls=N concurrency=C secs=S qps=Q p50_us=X p99_us=Y
//          mean_us=A max_us=B errors=E
// Exit status: 0 when every call succeeded, 1 otherwise, 2 on bad usage.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/benchmark_service.grpc.pb.h"

using grpc::testing::BenchmarkService;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string target;
  long calls = 10000;
  long concurrency = 1;
  long req_size = 0;
  long resp_size = 0;
  long warmup = 1000;
  std::string mode;
  std::string write_request;
};

// What one phase (warm-up or measurement) produced.
struct Phase {
  std::vector<int64_t> latencies_ns;  // of the calls that succeeded
  long errors = 0;
  std::string first_error;
  double secs = 0;
  std::mutex mu;

  void Fail(const std::string &what) {
    std::lock_guard<std::mutex> lock(mu);
    if (errors++ == 0)
      first_error = what;
  }
};

std::string CheckReply(const grpc::Status &status, const SimpleResponse &reply, long resp_size) {
  if (!status.ok())
    return "status " + std::to_string(status.error_code()) + ": " + status.error_message();
  if (static_cast<long>(reply.payload().body().size()) != resp_size)
    return "payload of " + std::to_string(reply.payload().body().size()) + " bytes, expected " +
           std::to_string(resp_size);
  return "";
}

void RunSync(BenchmarkService::Stub *stub, const SimpleRequest &request, const Options &opt,
             long n, Phase *phase) {
  std::atomic<long> next{0};
  auto worker = [&] {
    std::vector<int64_t> mine;
    mine.reserve(static_cast<size_t>(n / opt.concurrency + 1));
    while (next.fetch_add(1) < n) {
      grpc::ClientContext ctx;
      SimpleResponse reply;
      Clock::time_point t0 = Clock::now();
      grpc::Status status = stub->UnaryCall(&ctx, request, &reply);
      int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
      std::string err = CheckReply(status, reply, opt.resp_size);
      if (err.empty())
        mine.push_back(ns);
      else
        phase->Fail(err);
    }
    std::lock_guard<std::mutex> lock(phase->mu);
    phase->latencies_ns.insert(phase->latencies_ns.end(), mine.begin(), mine.end());
  };
  Clock::time_point start = Clock::now();
  if (opt.concurrency == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (long i = 0; i < opt.concurrency; i++)
      threads.emplace_back(worker);
    for (auto &t : threads)
      t.join();
  }
  phase->secs = std::chrono::duration<double>(Clock::now() - start).count();
}

struct AsyncCall {
  grpc::ClientContext ctx;
  SimpleResponse reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<SimpleResponse>> reader;
  Clock::time_point t0;
};

void RunAsync(BenchmarkService::Stub *stub, const SimpleRequest &request, const Options &opt,
              long n, Phase *phase) {
  grpc::CompletionQueue cq;
  long started = 0, completed = 0;
  auto start_call = [&] {
    AsyncCall *call = new AsyncCall;
    call->t0 = Clock::now();
    call->reader = stub->PrepareAsyncUnaryCall(&call->ctx, request, &cq);
    call->reader->StartCall();
    call->reader->Finish(&call->reply, &call->status, call);
    started++;
  };
  phase->latencies_ns.reserve(static_cast<size_t>(n));
  Clock::time_point start = Clock::now();
  while (started < n && started < opt.concurrency)
    start_call();
  void *tag;
  bool ok;
  while (completed < n && cq.Next(&tag, &ok)) {
    std::unique_ptr<AsyncCall> call(static_cast<AsyncCall *>(tag));
    int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - call->t0).count();
    completed++;
    std::string err = ok ? CheckReply(call->status, call->reply, opt.resp_size)
                         : std::string("completion queue reported failure");
    if (err.empty())
      phase->latencies_ns.push_back(ns);
    else
      phase->Fail(err);
    if (started < n)
      start_call();
  }
  phase->secs = std::chrono::duration<double>(Clock::now() - start).count();
  cq.Shutdown();
  while (cq.Next(&tag, &ok))
    delete static_cast<AsyncCall *>(tag);
}

double PercentileUs(const std::vector<int64_t> &sorted, double p) {
  if (sorted.empty())
    return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > sorted.size())
    rank = sorted.size();
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

int WriteRequest(const SimpleRequest &request, const std::string &path) {
  std::string body;
  request.SerializeToString(&body);
  unsigned char prefix[5] = {0, static_cast<unsigned char>(body.size() >> 24),
                             static_cast<unsigned char>(body.size() >> 16),
                             static_cast<unsigned char>(body.size() >> 8),
                             static_cast<unsigned char>(body.size())};
  FILE *f = fopen(path.c_str(), "wb");
  if (f == nullptr || fwrite(prefix, 1, 5, f) != 5 ||
      fwrite(body.data(), 1, body.size(), f) != body.size() || fclose(f) != 0) {
    perror(path.c_str());
    return 1;
  }
  return 0;
}

void Usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s --target host:port [--calls N] [--concurrency C] [--req_size B]\n"
          "          [--resp_size B] [--warmup N] [--mode sync|async]\n"
          "       %s [--req_size B] [--resp_size B] --write_request FILE\n",
          argv0, argv0);
  exit(2);
}

long ParseCount(const char *argv0, const char *value, long min) {
  char *end;
  long v = strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || v < min)
    Usage(argv0);
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      Usage(argv[0]);
    const char *value = argv[++i];
    if (arg == "--target")
      opt.target = value;
    else if (arg == "--calls")
      opt.calls = ParseCount(argv[0], value, 1);
    else if (arg == "--concurrency")
      opt.concurrency = ParseCount(argv[0], value, 1);
    else if (arg == "--req_size")
      opt.req_size = ParseCount(argv[0], value, 0);
    else if (arg == "--resp_size")
      opt.resp_size = ParseCount(argv[0], value, 0);
    else if (arg == "--warmup")
      opt.warmup = ParseCount(argv[0], value, 0);
    else if (arg == "--mode")
      opt.mode = value;
    else if (arg == "--write_request")
      opt.write_request = value;
    else
      Usage(argv[0]);
  }
  if (opt.resp_size > INT32_MAX)
    Usage(argv[0]);
  if (opt.mode.empty())
    opt.mode = opt.concurrency == 1 ? "sync" : "async";
  if (opt.mode != "sync" && opt.mode != "async")
    Usage(argv[0]);

  // The request grpc's benchmark client sends: a payload only when there are bytes for it.
  SimpleRequest request;
  request.set_response_size(static_cast<int32_t>(opt.resp_size));
  if (opt.req_size > 0)
    request.mutable_payload()->mutable_body()->assign(static_cast<size_t>(opt.req_size), '\0');

  if (!opt.write_request.empty())
    return WriteRequest(request, opt.write_request);
  if (opt.target.empty())
    Usage(argv[0]);

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(opt.target, grpc::InsecureChannelCredentials(), args);
  std::unique_ptr<BenchmarkService::Stub> stub = BenchmarkService::NewStub(channel);

  auto run = opt.mode == "sync" ? RunSync : RunAsync;
  Phase warmup, measured;
  if (opt.warmup > 0)
    run(stub.get(), request, opt, opt.warmup, &warmup);
  run(stub.get(), request, opt, opt.calls, &measured);

  long errors = warmup.errors + measured.errors;
  if (errors > 0)
    fprintf(stderr, "grpcxx_client: %ld calls failed; first: %s\n", errors,
            (warmup.errors > 0 ? warmup.first_error : measured.first_error).c_str());

  std::vector<int64_t> &lat = measured.latencies_ns;
  std::sort(lat.begin(), lat.end());
  double sum = 0;
  for (int64_t ns : lat)
    sum += static_cast<double>(ns);
  printf("RESULT impl=grpcxx mode=%s calls=%ld concurrency=%ld secs=%.3f qps=%.1f p50_us=%.1f "
         "p99_us=%.1f mean_us=%.1f max_us=%.1f errors=%ld\n",
         opt.mode.c_str(), opt.calls, opt.concurrency, measured.secs,
         measured.secs > 0 ? static_cast<double>(lat.size()) / measured.secs : 0.0,
         PercentileUs(lat, 50), PercentileUs(lat, 99),
         lat.empty() ? 0.0 : sum / static_cast<double>(lat.size()) / 1000.0,
         lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1000.0, errors);
  return errors == 0 ? 0 : 1;
}
