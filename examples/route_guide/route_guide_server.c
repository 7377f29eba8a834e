/* route_guide: a RouteGuide server, one handler of each kind, written as blocking code.
 * Run it, then route_guide_client; stop it with Ctrl-C or SIGTERM. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask, clock_gettime, strdup */

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "route_guide.cgrpc.h"

/* The feature database: a few places in New Jersey and New York, from gRPC's own
 * route_guide_db.json.  Coordinates are E7 (degrees times 10^7). */
typedef struct place {
  const char *name;
  int32_t latitude, longitude;
} place;

static const place places[] = {
  {"Berkshire Valley Management Area Trail, Jefferson, NJ, USA", 409146138, -746188906},
  {"Patriots Path, Mendham, NJ 07945, USA", 407838351, -746143763},
  {"101 New Jersey 10, Whippany, NJ 07981, USA", 408122808, -743999179},
  {"U.S. 6, Shohola, PA 18458, USA", 413628156, -749015468},
  {"5 Conners Road, Kingston, NY 12401, USA", 419999544, -740371136},
  {"Mid Hudson Psychiatric Center, New Hampton, NY 10958, USA", 414008389, -743951297},
  {"287 Flugertown Road, Livingston Manor, NY 12758, USA", 419611318, -746524769},
  {"4001 Tremley Point Road, Linden, NJ 07036, USA", 406109563, -742186778},
  {"352 South Mountain Road, Wallkill, NY 12589, USA", 416802456, -742370183},
  {"Bailey Turn Road, Harriman, NY 10926, USA", 412950425, -741077389},
  {"193-199 Wawayanda Road, Hewitt, NJ 07421, USA", 412144655, -743949739},
  {"406-496 Ward Avenue, Pine Bush, NY 12566, USA", 415736605, -742847522},
};
#define N_PLACES (sizeof places / sizeof places[0])

static const place *find_place(int32_t latitude, int32_t longitude)
{
  for (size_t i = 0; i < N_PLACES; i++)
    if (places[i].latitude == latitude && places[i].longitude == longitude)
      return &places[i];
  return NULL;
}

/* An unset message field is NULL; proto3 reads it as the default, here (0, 0). */
static Routeguide__Point point_or_origin(const Routeguide__Point *p)
{
  Routeguide__Point point = ROUTEGUIDE__POINT__INIT;
  if (p != NULL) {
    point.latitude = p->latitude;
    point.longitude = p->longitude;
  }
  return point;
}

/* Great-circle distance in metres (the haversine formula, as gRPC's examples use). */
static double distance_m(const Routeguide__Point *a, const Routeguide__Point *b)
{
  const double e7 = 1e7, radius = 6371000.0, rad = 3.14159265358979323846 / 180.0;
  double lat1 = a->latitude / e7 * rad, lat2 = b->latitude / e7 * rad;
  double dlat = lat2 - lat1, dlon = (b->longitude - a->longitude) / e7 * rad;
  double h = sin(dlat / 2) * sin(dlat / 2) + cos(lat1) * cos(lat2) * sin(dlon / 2) * sin(dlon / 2);
  return radius * 2 * atan2(sqrt(h), sqrt(1 - h));
}

/* The notes RouteChat has seen, from every client.  Handlers run concurrently on the
 * server's handler threads, so the store has a mutex.  Messages are freed at exit only,
 * which lets a handler send them after letting go of the lock. */
typedef struct note {
  int32_t latitude, longitude;
  char *message;
} note;

typedef struct route_guide {
  pthread_mutex_t lock;
  note *notes;
  size_t count, capacity;
} route_guide;

/* ---- the handlers ---------------------------------------------------------------------- */

/* Unary: fill the response; the runtime sends it when the handler returns OK.  Memory
 * for response fields comes from the call (cgrpc_server_call_alloc), freed with it. */
static cgrpc_code get_feature(cgrpc_server_call *call, const Routeguide__Point *request,
                              Routeguide__Feature *response, void *user_data)
{
  (void)user_data;
  Routeguide__Point *location = cgrpc_server_call_alloc(call, sizeof *location);
  if (location == NULL)
    return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  *location = point_or_origin(request);
  const place *p = find_place(request->latitude, request->longitude);
  if (p != NULL)
    response->name = (char *)p->name;
  /* else the name stays "": no feature here, which is not an error. */
  response->location = location;
  return CGRPC_STATUS_OK;
}

/* Server-streaming: send any number of messages, then return the status. */
static cgrpc_code list_features(Routeguide__RouteGuide_ListFeaturesServerCall *call,
                                const Routeguide__Rectangle *request, void *user_data)
{
  (void)user_data;
  Routeguide__Point lo = point_or_origin(request->lo), hi = point_or_origin(request->hi);
  int32_t lat_min = lo.latitude < hi.latitude ? lo.latitude : hi.latitude;
  int32_t lat_max = lo.latitude < hi.latitude ? hi.latitude : lo.latitude;
  int32_t lon_min = lo.longitude < hi.longitude ? lo.longitude : hi.longitude;
  int32_t lon_max = lo.longitude < hi.longitude ? hi.longitude : lo.longitude;
  for (size_t i = 0; i < N_PLACES; i++) {
    const place *p = &places[i];
    if (p->latitude < lat_min || p->latitude > lat_max || p->longitude < lon_min ||
        p->longitude > lon_max)
      continue;
    Routeguide__Point location = ROUTEGUIDE__POINT__INIT;
    location.latitude = p->latitude;
    location.longitude = p->longitude;
    Routeguide__Feature feature = ROUTEGUIDE__FEATURE__INIT;
    feature.name = (char *)p->name;
    feature.location = &location;
    /* Serialised before send returns, so stack messages are fine.  It fails only when
     * the client has gone (cancelled, deadline, disconnect): stop there. */
    if (routeguide__route_guide_server__list_features_send(call, &feature) != 0)
      return CGRPC_STATUS_CANCELLED;
  }
  return CGRPC_STATUS_OK;
}

/* Client-streaming: read until the client closes its side, then fill the one response. */
static cgrpc_code record_route(Routeguide__RouteGuide_RecordRouteServerCall *call,
                               Routeguide__RouteSummary *summary, void *user_data)
{
  (void)user_data;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  double distance = 0;
  Routeguide__Point previous = ROUTEGUIDE__POINT__INIT;
  const Routeguide__Point *point;
  int rv;
  while ((rv = routeguide__route_guide_server__record_route_recv(call, &point)) == 1) {
    if (find_place(point->latitude, point->longitude) != NULL)
      summary->feature_count++;
    if (summary->point_count++ > 0)
      distance += distance_m(&previous, point);
    previous = *point; /* point is valid only until the next recv: keep a copy */
  }
  if (rv < 0)
    return CGRPC_STATUS_CANCELLED; /* the client went away; nobody gets this status */
  clock_gettime(CLOCK_MONOTONIC, &end);
  summary->distance = (int32_t)distance;
  summary->elapsed_time = (int32_t)(end.tv_sec - start.tv_sec);
  return CGRPC_STATUS_OK;
}

/* Keeps a copy of a note.  The caller holds the lock.  Returns 0, or -1 when out of memory. */
static int notes_add(route_guide *guide, Routeguide__Point here, const char *message)
{
  if (guide->count == guide->capacity) {
    size_t capacity = guide->capacity ? 2 * guide->capacity : 16;
    note *notes = realloc(guide->notes, capacity * sizeof *notes);
    if (notes == NULL)
      return -1;
    guide->notes = notes;
    guide->capacity = capacity;
  }
  char *copy = strdup(message);
  if (copy == NULL)
    return -1;
  guide->notes[guide->count++] = (note){here.latitude, here.longitude, copy};
  return 0;
}

/* Bidi: for each note, send back the earlier notes left at the same place, then keep it. */
static cgrpc_code route_chat(Routeguide__RouteGuide_RouteChatServerCall *call, void *user_data)
{
  route_guide *guide = user_data;
  const Routeguide__RouteNote *in;
  int rv;
  while ((rv = routeguide__route_guide_server__route_chat_recv(call, &in)) == 1) {
    Routeguide__Point here = point_or_origin(in->location);

    /* Under the lock: pick the earlier notes and keep this one.  Sending comes after
     * unlocking, since send blocks while this client is slow to read. */
    size_t n = 0;
    pthread_mutex_lock(&guide->lock);
    const char **earlier = malloc((guide->count + 1) * sizeof *earlier);
    if (earlier != NULL) {
      for (size_t i = 0; i < guide->count; i++)
        if (guide->notes[i].latitude == here.latitude && guide->notes[i].longitude == here.longitude)
          earlier[n++] = guide->notes[i].message;
      if (notes_add(guide, here, in->message) != 0) {
        free(earlier);
        earlier = NULL;
      }
    }
    pthread_mutex_unlock(&guide->lock);
    if (earlier == NULL)
      return CGRPC_STATUS_RESOURCE_EXHAUSTED;

    int sent = 0;
    for (size_t i = 0; i < n && sent == 0; i++) {
      Routeguide__RouteNote out = ROUTEGUIDE__ROUTE_NOTE__INIT;
      out.location = &here;
      out.message = (char *)earlier[i];
      sent = routeguide__route_guide_server__route_chat_send(call, &out);
    }
    free(earlier);
    if (sent != 0)
      return CGRPC_STATUS_CANCELLED;
  }
  return rv < 0 ? CGRPC_STATUS_CANCELLED : CGRPC_STATUS_OK;
}

int main(int argc, char **argv)
{
  const char *address = "127.0.0.1:50051";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--address") == 0 && i + 1 < argc) {
      address = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--address HOST:PORT|unix:PATH]  (port 0 picks one)\n", argv[0]);
      return 2;
    }
  }

  route_guide guide = {.notes = NULL};
  pthread_mutex_init(&guide.lock, NULL);

  cgrpc_server *server;
  int port = 0;
  int rv = cgrpc_server_new(&server, NULL);
  if (rv == 0)
    rv = cgrpc_server_add_listener(server, address, &port);
  if (rv != 0) {
    fprintf(stderr, "route_guide_server: %s: %s\n", address, cgrpc_strerror(rv));
    cgrpc_server_free(server);
    return 1;
  }
  /* One handler per method; &guide reaches each of them as user_data. */
  Routeguide__RouteGuide_Server impl = ROUTEGUIDE__ROUTE_GUIDE__SERVER_INIT;
  impl.get_feature = get_feature;
  impl.list_features = list_features;
  impl.record_route = record_route;
  impl.route_chat = route_chat;
  routeguide__route_guide_server__register(server, &impl, &guide);

  /* Block SIGINT and SIGTERM before the server's threads start, so they
   * inherit the mask and only sigwait below takes the signals. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  rv = cgrpc_server_start(server);
  if (rv != 0) {
    fprintf(stderr, "route_guide_server: %s\n", cgrpc_strerror(rv));
    cgrpc_server_free(server);
    return 1;
  }
  printf("LISTENING %d\n", port);
  fflush(stdout);
  int sig;
  while (sigwait(&signals, &sig) != 0)
    ;
  /* Calls in flight get 2 s; streams still open then are cancelled, which makes
   * their handlers' recv and send fail, so every handler returns. */
  cgrpc_server_shutdown(server, 2000);
  cgrpc_server_free(server);

  for (size_t i = 0; i < guide.count; i++)
    free(guide.notes[i].message);
  free(guide.notes);
  pthread_mutex_destroy(&guide.lock);
  return 0;
}
