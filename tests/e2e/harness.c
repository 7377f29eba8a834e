/* Test harness shared by the end-to-end suites: the server process, waiting, timing. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int wrapped(void)
{
  const char *w = getenv("CGRPC_TEST_WRAPPER");
  return w != NULL && *w != '\0';
}

cgrpc_call_options *timeout_opts(int64_t ms)
{
  cgrpc_call_options *o;
  ck_assert_int_eq(cgrpc_call_options_new(&o), 0);
  cgrpc_call_options_set_timeout_ms(o, ms);
  return o;
}

void waiter_done(waiter *w, int code)
{
  pthread_mutex_lock(&w->mu);
  if (w->ncodes < (int)(sizeof w->codes / sizeof w->codes[0]))
    w->codes[w->ncodes++] = code;
  w->done_at = cgrpc_now();
  if (--w->pending == 0)
    pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
}


int slowdown(void)
{
  const char *s = getenv("CGRPC_TEST_SLOWDOWN");
  int v = s != NULL ? atoi(s) : 1;
  return v > 0 ? v : 1;
}

void server_start(server_proc *p, const char *const *extra)
{
  const char *bin = getenv("E2E_SERVER");
  ck_assert_msg(bin != NULL, "E2E_SERVER is not set");
  static int seq;
  snprintf(p->unix_path, sizeof p->unix_path, "/tmp/cgrpc-e2e-%d-%d.sock", (int)getpid(), seq++);
  const char *argv[32];
  int argc = 0;
  char *wrapper = getenv("CGRPC_TEST_WRAPPER") != NULL ? strdup(getenv("CGRPC_TEST_WRAPPER")) : NULL;
  for (char *tok = wrapper ? strtok(wrapper, " \t\n") : NULL; tok != NULL;
       tok = strtok(NULL, " \t\n"))
    argv[argc++] = tok;
  argv[argc++] = bin;
  argv[argc++] = "--unix";
  argv[argc++] = p->unix_path;
  for (int i = 0; extra != NULL && extra[i] != NULL; i++)
    argv[argc++] = extra[i];
  argv[argc] = NULL;

  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  p->pid = fork();
  ck_assert_int_ge(p->pid, 0);
  if (p->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a test that failed */
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  free(wrapper);
  close(fds[1]);
  /* Wait for "LISTENING <port>", but not forever. */
  char line[128];
  size_t len = 0;
  p->port = 0;
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(20000) * slowdown();
  while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL && cgrpc_now() < give_up) {
    struct pollfd pfd = {fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  line[len] = '\0';
  close(fds[0]);
  sscanf(line, "LISTENING %d", &p->port);
  if (p->port <= 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
  }
  ck_assert_msg(p->port > 0, "the server did not start");
}

int server_wait(server_proc *p)
{
  int status = 0;
  if (p->pid <= 0)
    return -1;
  cgrpc_time give_up = cgrpc_now() + CGRPC_MS_TO_NS(20000) * slowdown();
  while (waitpid(p->pid, &status, WNOHANG) == 0) {
    if (cgrpc_now() > give_up) {
      fprintf(stderr, "e2e_server %d did not exit\n", (int)p->pid);
      kill(p->pid, SIGKILL);
      waitpid(p->pid, &status, 0);
      break;
    }
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  p->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int server_stop(server_proc *p)
{
  if (p->pid > 0)
    kill(p->pid, SIGTERM);
  return server_wait(p);
}

cgrpc_channel *channel_to(int port, const cgrpc_channel_options *opts)
{
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  cgrpc_channel *ch = NULL;
  ck_assert_int_eq(cgrpc_channel_new(&ch, target, opts), 0);
  return ch;
}

int64_t ms_since(cgrpc_time t0)
{
  return (cgrpc_now() - t0) / 1000000;
}


void waiter_init(waiter *w, int pending)
{
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cond, NULL);
  w->pending = pending;
  w->ncodes = 0;
}

void waiter_wait(waiter *w)
{
  pthread_mutex_lock(&w->mu);
  while (w->pending > 0)
    pthread_cond_wait(&w->cond, &w->mu);
  pthread_mutex_unlock(&w->mu);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
}

void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

long rss_kib(pid_t pid)
{
  char path[64], line[256];
  long kib = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f != NULL)
    fclose(f);
  return kib;
}

double cpu_seconds(pid_t pid)
{
  char path[64];
  unsigned long ut = 0, st = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  /* Fields 14 and 15, after "pid (comm) state ...". */
  int rv = fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
  fclose(f);
  return rv == 2 ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : -1;
}

int free_local_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  close(fd);
  return ntohs(sa.sin_port);
}

int run_suite(Suite *s)
{
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
