/* route_guide: a RouteGuide client calling each kind of method, blocking, and once
 * with callbacks.  It checks what comes back and exits 1 if anything is off, so
 * demo.sh doubles as a test. */
#define _POSIX_C_SOURCE 200809L /* rand_r */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_guide.cgrpc.h"

static int failures;

/* Counts and reports a result that is not what the server should give. */
static void expect(int ok, const char *fmt, ...) CGRPC_PRINTF(2, 3);
static void expect(int ok, const char *fmt, ...)
{
  if (ok)
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("route_guide_client: unexpected: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

static void expect_ok(cgrpc_code code, const cgrpc_status *status, const char *what)
{
  expect(code == CGRPC_STATUS_OK, "%s ended with %s: %s", what, cgrpc_code_name(code),
         status->message ? status->message : "");
}

static void print_point(const char *prefix, const Routeguide__Point *p)
{
  printf("%s%.7f, %.7f\n", prefix, p->latitude / 1e7, p->longitude / 1e7);
}

static int in_rectangle(const Routeguide__Point *p, const Routeguide__Rectangle *r)
{
  return p->latitude >= r->lo->latitude && p->latitude <= r->hi->latitude &&
         p->longitude >= r->lo->longitude && p->longitude <= r->hi->longitude;
}

/* ---- unary ------------------------------------------------------------------------------- */

static void get_feature(cgrpc_channel *channel, int32_t latitude, int32_t longitude,
                        int known)
{
  Routeguide__Point point = ROUTEGUIDE__POINT__INIT;
  point.latitude = latitude;
  point.longitude = longitude;
  Routeguide__Feature *feature = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  /* NULL options: the 1 s deadline from route_guide.proto applies. */
  cgrpc_code code =
      routeguide__route_guide_client__get_feature(channel, &point, &feature, NULL, &status);
  expect_ok(code, &status, "GetFeature");
  if (code == CGRPC_STATUS_OK) {
    if (feature->name[0] != '\0')
      printf("GetFeature: \"%s\" at ", feature->name);
    else
      printf("GetFeature: no feature at ");
    print_point("", feature->location ? feature->location : &point);
    expect((feature->name[0] != '\0') == known, "GetFeature: %s a feature",
           known ? "expected" : "did not expect");
    routeguide__feature__free_unpacked(feature, NULL);
  }
  cgrpc_status_clear(&status);
}

/* ---- server-streaming, blocking: recv until 0, then finish ------------------------------- */

/* Keeps the locations found in *places (for RecordRoute) and returns how many there are. */
static size_t list_features(cgrpc_channel *channel, const Routeguide__Rectangle *rect,
                            Routeguide__Point *places, size_t max)
{
  printf("ListFeatures:\n");
  Routeguide__RouteGuide_ListFeaturesCall *call;
  int rv = routeguide__route_guide_client__list_features(channel, rect, NULL, &call);
  if (rv != 0) {
    expect(0, "ListFeatures: %s", cgrpc_strerror(rv));
    return 0;
  }
  size_t n = 0;
  Routeguide__Feature *feature;
  while (routeguide__route_guide_client__list_features_recv(call, &feature) == 1) {
    printf("  \"%s\" at ", feature->name);
    print_point("", feature->location);
    expect(in_rectangle(feature->location, rect), "ListFeatures: a feature outside the rectangle");
    if (n < max)
      places[n++] = *feature->location;
    routeguide__feature__free_unpacked(feature, NULL);
  }
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code = routeguide__route_guide_client__list_features_finish(call, &status);
  expect_ok(code, &status, "ListFeatures");
  cgrpc_status_clear(&status);
  routeguide__route_guide_client__list_features_free(call);
  return n;
}

/* ---- server-streaming, with callbacks ----------------------------------------------------- */

/* The callbacks run on the channel's I/O thread; main waits for on_done. */
typedef struct listing {
  pthread_mutex_t lock;
  pthread_cond_t done_cond;
  int done;
  size_t features; /* only on_message touches it before done */
  cgrpc_status status;
} listing;

static void listing_on_message(Routeguide__RouteGuide_ListFeaturesCall *call,
                               Routeguide__Feature *feature, void *user_data)
{
  (void)call;
  listing *l = user_data;
  l->features++;
  routeguide__feature__free_unpacked(feature, NULL); /* ours to free */
}

static void listing_on_done(Routeguide__RouteGuide_ListFeaturesCall *call, cgrpc_status *status,
                            void *user_data)
{
  (void)call;
  listing *l = user_data;
  pthread_mutex_lock(&l->lock);
  cgrpc_status_move(&l->status, status); /* status is only lent to the callback */
  l->done = 1;
  pthread_cond_signal(&l->done_cond);
  pthread_mutex_unlock(&l->lock);
}

static void list_features_async(cgrpc_channel *channel, const Routeguide__Rectangle *rect,
                                size_t expected)
{
  static const Routeguide__RouteGuide_ListFeaturesCallbacks callbacks = {
      .on_message = listing_on_message, .on_done = listing_on_done};
  listing l = {.done = 0, .features = 0, .status = CGRPC_STATUS_INIT};
  pthread_mutex_init(&l.lock, NULL);
  pthread_cond_init(&l.done_cond, NULL);
  Routeguide__RouteGuide_ListFeaturesCall *call;
  int rv = routeguide__route_guide_client__list_features_async(channel, rect, NULL, &callbacks,
                                                               &l, &call);
  if (rv != 0) {
    expect(0, "ListFeatures (async): %s", cgrpc_strerror(rv));
  } else {
    pthread_mutex_lock(&l.lock);
    while (!l.done)
      pthread_cond_wait(&l.done_cond, &l.lock);
    pthread_mutex_unlock(&l.lock);
    printf("ListFeatures (async): %zu features, %s\n", l.features, cgrpc_code_name(l.status.code));
    expect_ok(l.status.code, &l.status, "ListFeatures (async)");
    expect(l.features == expected, "ListFeatures (async): %zu features, not %zu", l.features,
           expected);
    routeguide__route_guide_client__list_features_free(call);
  }
  cgrpc_status_clear(&l.status);
  pthread_cond_destroy(&l.done_cond);
  pthread_mutex_destroy(&l.lock);
}

/* ---- client-streaming: send..., then close_and_recv -------------------------------------- */

/* Walks a random route through the known places, stepping off them now and then. */
static void record_route(cgrpc_channel *channel, const Routeguide__Point *places, size_t n,
                         unsigned seed)
{
  enum { POINTS = 10 };
  Routeguide__RouteGuide_RecordRouteCall *call;
  int rv = routeguide__route_guide_client__record_route(channel, NULL, &call);
  if (rv != 0) {
    expect(0, "RecordRoute: %s", cgrpc_strerror(rv));
    return;
  }
  int on_features = 0;
  for (int i = 0; i < POINTS && rv == 0 && n > 0; i++) {
    Routeguide__Point point = places[rand_r(&seed) % n];
    if (rand_r(&seed) % 3 == 0)
      point.latitude += 1000; /* about 11 m north: no feature there */
    else
      on_features++;
    print_point("RecordRoute: visiting ", &point);
    rv = routeguide__route_guide_client__record_route_send(call, &point);
  }
  /* rv != 0: the call is over already; close_and_recv says why. */
  Routeguide__RouteSummary *summary = NULL;
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code =
      routeguide__route_guide_client__record_route_close_and_recv(call, &summary, &status);
  expect_ok(code, &status, "RecordRoute");
  if (code == CGRPC_STATUS_OK) {
    printf("RecordRoute: %d points, %d features, %d m, %d s\n", summary->point_count,
           summary->feature_count, summary->distance, summary->elapsed_time);
    expect(summary->point_count == POINTS && summary->feature_count == on_features,
           "RecordRoute: %d points and %d features, not %d and %d", summary->point_count,
           summary->feature_count, POINTS, on_features);
    routeguide__route_summary__free_unpacked(summary, NULL);
  }
  cgrpc_status_clear(&status);
  routeguide__route_guide_client__record_route_free(call);
}

/* ---- bidi: send, close_send, recv until 0, finish ---------------------------------------- */

/* All the notes go first, then the replies are read: fine for a few small messages, as
 * the call buffers them.  A conversation that must react to replies as they come reads
 * them on a second thread (send and recv may run on two threads at once). */
static void route_chat(cgrpc_channel *channel)
{
  static const struct {
    int32_t latitude, longitude;
    const char *message;
  } notes[] = {
    {0, 1, "First message"},  {0, 2, "Second message"}, {0, 3, "Third message"},
    {0, 1, "Fourth message"}, {0, 2, "Fifth message"},  {0, 3, "Sixth message"},
  };
  enum { N_NOTES = sizeof notes / sizeof notes[0] };
  Routeguide__RouteGuide_RouteChatCall *call;
  int rv = routeguide__route_guide_client__route_chat(channel, NULL, &call);
  if (rv != 0) {
    expect(0, "RouteChat: %s", cgrpc_strerror(rv));
    return;
  }
  for (int i = 0; i < N_NOTES && rv == 0; i++) {
    Routeguide__Point location = ROUTEGUIDE__POINT__INIT;
    location.latitude = notes[i].latitude;
    location.longitude = notes[i].longitude;
    Routeguide__RouteNote note = ROUTEGUIDE__ROUTE_NOTE__INIT;
    note.location = &location;
    note.message = (char *)notes[i].message;
    printf("RouteChat: sending \"%s\" at %d, %d\n", note.message, location.latitude,
           location.longitude);
    rv = routeguide__route_guide_client__route_chat_send(call, &note);
  }
  routeguide__route_guide_client__route_chat_close_send(call);

  /* The server answers each note with the notes left at the same place before it: on a
   * fresh server, notes 0, 1, 2 come back for notes 3, 4, 5.  A server that has had
   * chats before sends their notes too, which are these same six. */
  int received = 0;
  Routeguide__RouteNote *note;
  while (routeguide__route_guide_client__route_chat_recv(call, &note) == 1) {
    int32_t lat = note->location ? note->location->latitude : 0;
    int32_t lon = note->location ? note->location->longitude : 0;
    printf("RouteChat: got \"%s\" at %d, %d\n", note->message, lat, lon);
    int known = 0;
    for (int i = 0; i < N_NOTES; i++)
      known |= notes[i].latitude == lat && notes[i].longitude == lon &&
               strcmp(notes[i].message, note->message) == 0;
    expect(known, "RouteChat: a note we did not leave there");
    received++;
    routeguide__route_note__free_unpacked(note, NULL);
  }
  cgrpc_status status = CGRPC_STATUS_INIT;
  cgrpc_code code = routeguide__route_guide_client__route_chat_finish(call, &status);
  expect_ok(code, &status, "RouteChat");
  expect(received >= N_NOTES / 2, "RouteChat: %d notes back, not %d", received, N_NOTES / 2);
  cgrpc_status_clear(&status);
  routeguide__route_guide_client__route_chat_free(call);
}

int main(int argc, char **argv)
{
  const char *target = "127.0.0.1:50051";
  unsigned seed = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
      target = argv[++i];
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = (unsigned)strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "usage: %s [--target HOST:PORT|unix:PATH] [--seed N]\n", argv[0]);
      return 2;
    }
  }

  cgrpc_channel *channel;
  int rv = cgrpc_channel_new(&channel, target, NULL);
  if (rv != 0) {
    fprintf(stderr, "route_guide_client: %s: %s\n", target, cgrpc_strerror(rv));
    return 1;
  }

  /* Unary: a place in the database, then one that is not. */
  get_feature(channel, 409146138, -746188906, 1);
  get_feature(channel, 0, 0, 0);

  /* Server-streaming: northern New Jersey, both ways. */
  Routeguide__Point lo = ROUTEGUIDE__POINT__INIT, hi = ROUTEGUIDE__POINT__INIT;
  lo.latitude = 400000000;
  lo.longitude = -750000000;
  hi.latitude = 415000000;
  hi.longitude = -730000000;
  Routeguide__Rectangle rect = ROUTEGUIDE__RECTANGLE__INIT;
  rect.lo = &lo;
  rect.hi = &hi;
  Routeguide__Point places[32];
  size_t n = list_features(channel, &rect, places, sizeof places / sizeof places[0]);
  expect(n > 0, "ListFeatures: no features");
  list_features_async(channel, &rect, n);

  /* Client-streaming and bidi. */
  record_route(channel, places, n, seed);
  route_chat(channel);

  cgrpc_channel_free(channel);
  if (failures > 0) {
    fprintf(stderr, "route_guide_client: %d unexpected results\n", failures);
    return 1;
  }
  printf("route_guide_client: all calls behaved\n");
  return 0;
}
