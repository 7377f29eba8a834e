// grpc C++ BenchmarkService server: the reference the cgrpc bench_server is measured against.
//
// UnaryCall answers with a payload of request.response_size zero bytes, as grpc's own
// benchmark server does (test/cpp/qps: ProcessSimpleRPC / SetPayload); StreamingCall
// (bidi ping-pong) answers each request with one such response.  Three server models,
// picked with --mode:
//
//   async     (default) what grpc's own QPS benchmarks use for their C++ server
//             (ASYNC_SERVER in test/cpp/qps/server_async.cc): one completion queue per
//             thread, each polled by its own thread, with many calls requested in advance;
//             a stream is a small state machine on the queue (read, write, read, ...,
//             finish), as there.  --threads 0 (the default) means one thread per CPU this
//             process may run on, so 1 when pinned to one core with taskset -- as grpc's
//             "one server core" scenarios configure it.
//   sync      the synchronous API (a generated Service subclass); grpc manages its own
//             polling threads.  --threads sets the number of completion queues.
//   callback  the callback API (CallbackService; DefaultReactor for UnaryCall, a
//             ServerBidiReactor for StreamingCall); grpc runs handlers on its executor.
//
// The async model is the default because it is the one grpc tunes and publishes numbers
// for; the other two are there to check that the comparison does not hinge on the choice.
//
// Flags: --port N (0 = any free port) --host H (default 127.0.0.1) --mode M --threads T.
// Prints "LISTENING <port>" once it accepts calls; on SIGTERM or SIGINT it shuts down,
// prints "SERVED <n>" (unary calls and streamed messages answered OK) and exits 0.
// On SIGUSR1 it prints "HEAP <bytes>" (mallinfo2: uordblks + hblkhd, all arenas), as
// bench_server does, for idle_conns.

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/benchmark_service.grpc.pb.h"

using grpc::testing::BenchmarkService;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;

namespace {

std::atomic<uint64_t> g_served{0};
// Set before the server shuts down: async calls then stop requesting new calls, since a
// request may not be posted to a completion queue that is shutting down.
std::atomic<bool> g_stopping{false};

// The answer to one request, shared by the models and by both methods.  A stream
// passes the same response every time, whose body keeps its capacity (grpc's server
// does the same).  Counted once the answer is on its way (streams count after Write).
grpc::Status Process(const SimpleRequest *request, SimpleResponse *response) {
  if (request->response_size() < 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "negative response_size");
  if (request->response_size() > 0) {
    grpc::testing::Payload *payload = response->mutable_payload();
    payload->set_type(grpc::testing::COMPRESSABLE);
    payload->mutable_body()->assign(static_cast<size_t>(request->response_size()), '\0');
  } else {
    response->clear_payload();
  }
  return grpc::Status::OK;
}

void CountServed() { g_served.fetch_add(1, std::memory_order_relaxed); }

class SyncService final : public BenchmarkService::Service {
  grpc::Status UnaryCall(grpc::ServerContext *, const SimpleRequest *request,
                         SimpleResponse *response) override {
    grpc::Status status = Process(request, response);
    if (status.ok())
      CountServed();
    return status;
  }

  grpc::Status StreamingCall(
      grpc::ServerContext *,
      grpc::ServerReaderWriter<SimpleResponse, SimpleRequest> *stream) override {
    SimpleRequest request;
    SimpleResponse response;
    while (stream->Read(&request)) {
      grpc::Status status = Process(&request, &response);
      if (!status.ok())
        return status;
      if (!stream->Write(response))
        return grpc::Status(grpc::StatusCode::INTERNAL, "server couldn't respond");
      CountServed();
    }
    return grpc::Status::OK;
  }
};

// StreamingCall in the callback API, as grpc's own callback benchmark server has it:
// read, write the answer, read again; finish when the client is done.
class PingPongReactor final : public grpc::ServerBidiReactor<SimpleRequest, SimpleResponse> {
 public:
  PingPongReactor() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    grpc::Status status = Process(&request_, &response_);
    if (!status.ok()) {
      Finish(status);
      return;
    }
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    CountServed();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  SimpleRequest request_;
  SimpleResponse response_;
};

class CallbackService final : public BenchmarkService::CallbackService {
  grpc::ServerUnaryReactor *UnaryCall(grpc::CallbackServerContext *context,
                                      const SimpleRequest *request,
                                      SimpleResponse *response) override {
    grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
    grpc::Status status = Process(request, response);
    if (status.ok())
      CountServed();
    reactor->Finish(status);
    return reactor;
  }

  grpc::ServerBidiReactor<SimpleRequest, SimpleResponse> *StreamingCall(
      grpc::CallbackServerContext *) override {
    return new PingPongReactor;
  }
};

// What the async model's pollers get back from the completion queue: a call's tag.
class AsyncTag {
 public:
  virtual ~AsyncTag() = default;
  // Runs the next step after the completion queue returned this tag.
  virtual void Proceed(bool ok) = 0;
};

// One requested-or-running UnaryCall of the async model; reset and requested again
// once its response is sent, so no allocation per call beyond grpc's own.
class AsyncCall final : public AsyncTag {
 public:
  AsyncCall(BenchmarkService::AsyncService *service, grpc::ServerCompletionQueue *cq)
      : service_(service), cq_(cq) {
    Request();
  }

  void Proceed(bool ok) override {
    if (!finishing_ && ok) {
      SimpleResponse response;
      grpc::Status status = Process(&request_, &response);
      if (status.ok())
        CountServed();
      finishing_ = true;
      writer_->Finish(response, status, this);
      return;
    }
    if ((!ok && !finishing_) || g_stopping.load())
      return;  // the server is shutting down: nothing more to request
    Request();
  }

 private:
  void Request() {
    finishing_ = false;
    ctx_.reset(new grpc::ServerContext);
    request_.Clear();
    writer_.reset(new grpc::ServerAsyncResponseWriter<SimpleResponse>(ctx_.get()));
    service_->RequestUnaryCall(ctx_.get(), &request_, writer_.get(), cq_, cq_, this);
  }

  BenchmarkService::AsyncService *service_;
  grpc::ServerCompletionQueue *cq_;
  std::unique_ptr<grpc::ServerContext> ctx_;
  SimpleRequest request_;
  std::unique_ptr<grpc::ServerAsyncResponseWriter<SimpleResponse>> writer_;
  bool finishing_ = false;
};

// One requested-or-running StreamingCall of the async model: the per-stream state
// machine of grpc's server_async.cc.  Requested; then read -> write the answer -> read
// ... until a read fails (the client is done), then finish; then reset and requested
// again.  The request and response objects are reused for every message.
class AsyncStream final : public AsyncTag {
 public:
  AsyncStream(BenchmarkService::AsyncService *service, grpc::ServerCompletionQueue *cq)
      : service_(service), cq_(cq) {
    Request();
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kRequested:
        if (!ok)
          return;  // the server is shutting down
        Read();
        return;
      case State::kReading:
        if (!ok) {  // the client closed its side (or went away)
          Finish(grpc::Status::OK);
          return;
        }
        {
          grpc::Status status = Process(&request_, &response_);
          if (!status.ok()) {
            Finish(status);
            return;
          }
        }
        state_ = State::kWriting;
        stream_->Write(response_, this);
        return;
      case State::kWriting:
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::INTERNAL, "server couldn't respond"));
          return;
        }
        CountServed();
        Read();
        return;
      case State::kFinishing:
        if (!g_stopping.load())
          Request();
        return;
    }
  }

 private:
  enum class State { kRequested, kReading, kWriting, kFinishing };

  void Request() {
    state_ = State::kRequested;
    ctx_.reset(new grpc::ServerContext);
    stream_.reset(new grpc::ServerAsyncReaderWriter<SimpleResponse, SimpleRequest>(ctx_.get()));
    service_->RequestStreamingCall(ctx_.get(), stream_.get(), cq_, cq_, this);
  }

  void Read() {
    state_ = State::kReading;
    stream_->Read(&request_, this);
  }

  void Finish(const grpc::Status &status) {
    state_ = State::kFinishing;
    stream_->Finish(status, this);
  }

  BenchmarkService::AsyncService *service_;
  grpc::ServerCompletionQueue *cq_;
  std::unique_ptr<grpc::ServerContext> ctx_;
  std::unique_ptr<grpc::ServerAsyncReaderWriter<SimpleResponse, SimpleRequest>> stream_;
  SimpleRequest request_;
  SimpleResponse response_;
  State state_ = State::kRequested;
};

// Calls requested in advance per completion queue: more than the streams a connection
// may open (100 by default), so a burst never waits for a call to be requested.
constexpr int kCallsPerQueue = 1000;
// Streams requested in advance per completion queue: a stream is long-lived, and each
// ended one is requested again, so this is the most open at once per queue.
constexpr int kStreamsPerQueue = 100;

int AllowedCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

void Usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [--port N] [--host H] [--mode async|sync|callback] [--threads T]\n",
          argv0);
  exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  int port = 0;
  int threads = 0;
  std::string host = "127.0.0.1";
  std::string mode = "async";
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      Usage(argv[0]);
    const char *value = argv[++i];
    if (arg == "--port")
      port = atoi(value);
    else if (arg == "--host")
      host = value;
    else if (arg == "--mode")
      mode = value;
    else if (arg == "--threads")
      threads = atoi(value);
    else
      Usage(argv[0]);
  }
  if (mode != "async" && mode != "sync" && mode != "callback")
    Usage(argv[0]);
  if (threads <= 0)
    threads = mode == "async" ? AllowedCpus() : 0;

  // Block the shutdown signals before grpc starts threads, so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SyncService sync_service;
  CallbackService callback_service;
  BenchmarkService::AsyncService async_service;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(host + ":" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  if (mode == "async") {
    builder.RegisterService(&async_service);
    for (int i = 0; i < threads; i++)
      cqs.emplace_back(builder.AddCompletionQueue());
  } else if (mode == "sync") {
    builder.RegisterService(&sync_service);
    if (threads > 0)
      builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, threads);
  } else {
    builder.RegisterService(&callback_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    fprintf(stderr, "grpcxx_server: cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }

  std::vector<std::unique_ptr<AsyncTag>> calls;
  std::vector<std::thread> pollers;
  for (auto &cq : cqs) {
    for (int i = 0; i < kCallsPerQueue; i++)
      calls.emplace_back(new AsyncCall(&async_service, cq.get()));
    for (int i = 0; i < kStreamsPerQueue; i++)
      calls.emplace_back(new AsyncStream(&async_service, cq.get()));
    grpc::ServerCompletionQueue *q = cq.get();
    pollers.emplace_back([q] {
      void *tag;
      bool ok;
      while (q->Next(&tag, &ok))
        static_cast<AsyncTag *>(tag)->Proceed(ok);
    });
  }

  printf("LISTENING %d\n", bound_port);
  fflush(stdout);

  int sig = 0;
  // SIGUSR1: print the heap in use, as bench_server does (for idle_conns).
  while (sigwait(&signals, &sig) != 0 || sig == SIGUSR1) {
    if (sig == SIGUSR1) {
      struct mallinfo2 mi = mallinfo2();
      printf("HEAP %zu\n", mi.uordblks + mi.hblkhd);
      fflush(stdout);
      sig = 0;
    }
  }

  g_stopping.store(true);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  for (auto &cq : cqs)
    cq->Shutdown();
  for (auto &t : pollers)
    t.join();
  server->Wait();
  printf("SERVED %llu\n", static_cast<unsigned long long>(g_served.load()));
  fflush(stdout);
  return 0;
}
