/* Test harness shared by the end-to-end suites: the server process, waiting, timing. */
#ifndef CGRPC_TEST_HARNESS_H
#define CGRPC_TEST_HARNESS_H

#include <pthread.h>
#include <sys/types.h>

#include <cgrpc/cgrpc.h>

/* An e2e_server process ($E2E_SERVER, under $CGRPC_TEST_WRAPPER if set). */
typedef struct server_proc {
  pid_t pid;
  int port;
  char unix_path[64];
} server_proc;

/* Time bounds are multiplied by this ($CGRPC_TEST_SLOWDOWN, under valgrind). */
int slowdown(void);
/* Nonzero when the servers run under a wrapper such as valgrind. */
int wrapped(void);

/* Starts a server with extra arguments (NULL-terminated, may be NULL) and
 * waits for its port; fails the test if it does not start. */
void server_start(server_proc *p, const char *const *extra);
/* Waits for it to exit (SIGKILL after 20 s x slowdown); returns its exit
 * status: 0 is clean (and, under valgrind, no errors or leaks). */
int server_wait(server_proc *p);
/* SIGTERM, then server_wait. */
int server_stop(server_proc *p);

cgrpc_channel *channel_to(int port, const cgrpc_channel_options *opts);
cgrpc_call_options *timeout_opts(int64_t ms);
int64_t ms_since(cgrpc_time t0);
/* Runs a Check suite; returns the process's exit status (0: all passed). */
typedef struct Suite Suite;
int run_suite(Suite *s);

/* A 127.0.0.1 port nothing listens on (free when asked). */
int free_local_port(void);
void sleep_ms(int ms);

/* Resident memory (KiB) and CPU time used (s) of a process. */
long rss_kib(pid_t pid);
double cpu_seconds(pid_t pid);

/* Collects the codes of asynchronous completions. */
typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int pending;
  int codes[64];
  int ncodes;
  cgrpc_time done_at;
} waiter;

void waiter_init(waiter *w, int pending);
/* One completion with this code. */
void waiter_done(waiter *w, int code);
/* Waits for all, then destroys the waiter. */
void waiter_wait(waiter *w);

#endif
