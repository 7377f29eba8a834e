/* Measures memory while streaming a lot to a slow reader, both ways (not a test; prints numbers).
 *   stream_memory PORT SERVER_PID [MIB]
 * Client -> server: Upload MIB MiB in 64 KiB chunks; the server sleeps 1 ms per chunk.
 * Server -> client: Download MIB MiB; this client sleeps 1 ms per chunk.
 * Reports the peak RSS growth of the sending side of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "e2e.cgrpc.h"

static long rss_kib(pid_t pid)
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

static double secs(struct timespec a, struct timespec b)
{
  return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s PORT SERVER_PID [MIB]\n", argv[0]);
    return 2;
  }
  char target[32];
  snprintf(target, sizeof target, "127.0.0.1:%s", argv[1]);
  pid_t server = (pid_t)atoi(argv[2]);
  long mib = argc > 3 ? atol(argv[3]) : 1024;
  long chunks = mib * 16; /* 64 KiB each */
  cgrpc_channel *ch;
  if (cgrpc_channel_new(&ch, target, NULL) != 0)
    return 1;
  size_t size = 64 * 1024;
  uint8_t *data = calloc(1, size);
  struct timespec t0, t1;

  /* Client -> slow server. */
  long base = rss_kib(getpid()), peak = base;
  E2e__Echo_UploadCall *call;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (e2e__echo_client__upload(ch, NULL, &call) != 0)
    return 1;
  for (long i = 0; i < chunks; i++) {
    E2e__Chunk c = E2E__CHUNK__INIT;
    c.data.data = data;
    c.data.len = size;
    c.sleep_ms = 1;
    if (e2e__echo_client__upload_send(call, &c) != 0)
      break;
    if (i % 64 == 0) {
      long now = rss_kib(getpid());
      if (now > peak)
        peak = now;
    }
  }
  E2e__UploadSummary *sum = NULL;
  cgrpc_code code = e2e__echo_client__upload_close_and_recv(call, &sum, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("client->server: %ld MiB in %.1f s (%s, %lld chunks received); client RSS %ld MiB -> "
         "peak %ld MiB: growth %.1f MiB\n",
         mib, secs(t0, t1), cgrpc_code_name(code), sum != NULL ? (long long)sum->chunks : -1LL,
         base / 1024, peak / 1024, (double)(peak - base) / 1024);
  if (sum != NULL)
    e2e__upload_summary__free_unpacked(sum, NULL);
  e2e__echo_client__upload_free(call);

  /* Slow client <- server. */
  base = rss_kib(server);
  peak = base;
  E2e__DownloadRequest req = E2E__DOWNLOAD_REQUEST__INIT;
  req.count = (int32_t)chunks;
  req.size = (int32_t)size;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  E2e__Echo_DownloadCall *download;
  if (e2e__echo_client__download(ch, &req, NULL, &download) != 0)
    return 1;
  E2e__Chunk *c;
  long got = 0;
  struct timespec ms = {0, 1000000};
  while (e2e__echo_client__download_recv(download, &c) == 1) {
    e2e__chunk__free_unpacked(c, NULL);
    nanosleep(&ms, NULL);
    if (++got % 64 == 0) {
      long now = rss_kib(server);
      if (now > peak)
        peak = now;
    }
  }
  code = e2e__echo_client__download_finish(download, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("server->client: %ld MiB in %.1f s (%s, %ld chunks read); server RSS %ld MiB -> peak "
         "%ld MiB: growth %.1f MiB\n",
         mib, secs(t0, t1), cgrpc_code_name(code), got, base / 1024, peak / 1024,
         (double)(peak - base) / 1024);
  e2e__echo_client__download_free(download);
  free(data);
  cgrpc_channel_free(ch);
  return 0;
}
