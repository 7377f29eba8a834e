/* Uses every typed function, handle, handler and callbacks struct that route_guide.proto's
 * four kinds of method get, each with the types a user would write: check_plugin compiles
 * it as C11 and as C++ with warnings as errors, so a wrong type in the generated API (a
 * handle of another method, an untyped message, a callback of the wrong shape) fails.  It is
 * compiled, never run. */
#include "route_guide.cgrpc.h"

#ifdef __cplusplus
extern "C" {
#endif
int typed_api_client(cgrpc_channel *channel);
int typed_api_server(cgrpc_server *server);
#ifdef __cplusplus
}
#endif

/* ---- client ---------------------------------------------------------------------------- */

static void chat_on_headers(Routeguide__RouteGuide_RouteChatCall *call, const cgrpc_metadata *md,
                            void *user_data)
{
  (void)call;
  (void)md;
  (void)user_data;
}

static void chat_on_message(Routeguide__RouteGuide_RouteChatCall *call,
                            Routeguide__RouteNote *response, void *user_data)
{
  (void)user_data;
  routeguide__route_note__free_unpacked(response, NULL);
  routeguide__route_guide_client__route_chat_close_send(call);
}

static void chat_on_send_ready(Routeguide__RouteGuide_RouteChatCall *call, void *user_data)
{
  Routeguide__RouteNote note = ROUTEGUIDE__ROUTE_NOTE__INIT;
  (void)user_data;
  routeguide__route_guide_client__route_chat_try_send(call, &note);
}

static void chat_on_done(Routeguide__RouteGuide_RouteChatCall *call, cgrpc_status *status,
                         void *user_data)
{
  (void)call;
  (void)status;
  (void)user_data;
}

static void list_on_headers(Routeguide__RouteGuide_ListFeaturesCall *call,
                            const cgrpc_metadata *md, void *user_data)
{
  (void)call;
  (void)md;
  (void)user_data;
}

static void list_on_message(Routeguide__RouteGuide_ListFeaturesCall *call,
                            Routeguide__Feature *response, void *user_data)
{
  (void)call;
  (void)user_data;
  routeguide__feature__free_unpacked(response, NULL);
}

static void list_on_done(Routeguide__RouteGuide_ListFeaturesCall *call, cgrpc_status *status,
                         void *user_data)
{
  (void)call;
  (void)status;
  (void)user_data;
}

static void record_on_headers(Routeguide__RouteGuide_RecordRouteCall *call,
                              const cgrpc_metadata *md, void *user_data)
{
  (void)call;
  (void)md;
  (void)user_data;
}

static void record_on_message(Routeguide__RouteGuide_RecordRouteCall *call,
                              Routeguide__RouteSummary *response, void *user_data)
{
  (void)call;
  (void)user_data;
  routeguide__route_summary__free_unpacked(response, NULL);
}

static void record_on_send_ready(Routeguide__RouteGuide_RecordRouteCall *call, void *user_data)
{
  Routeguide__Point point = ROUTEGUIDE__POINT__INIT;
  (void)user_data;
  routeguide__route_guide_client__record_route_try_send(call, &point);
}

static void record_on_done(Routeguide__RouteGuide_RecordRouteCall *call, cgrpc_status *status,
                           void *user_data)
{
  (void)call;
  (void)status;
  (void)user_data;
}

static void feature_done(cgrpc_status *status, Routeguide__Feature *response, void *user_data)
{
  (void)status;
  (void)user_data;
  routeguide__feature__free_unpacked(response, NULL);
}

int typed_api_client(cgrpc_channel *channel)
{
  int rv = 0;
  cgrpc_status status = CGRPC_STATUS_INIT;
  const cgrpc_metadata *md = NULL;
  Routeguide__Point point = ROUTEGUIDE__POINT__INIT;
  Routeguide__Rectangle rect = ROUTEGUIDE__RECTANGLE__INIT;
  Routeguide__RouteNote note = ROUTEGUIDE__ROUTE_NOTE__INIT;

  /* Unary. */
  Routeguide__Feature *feature = NULL;
  cgrpc_code code =
      routeguide__route_guide_client__get_feature(channel, &point, &feature, NULL, &status);
  cgrpc_call *unary = NULL;
  rv |= routeguide__route_guide_client__get_feature_async(channel, &point, NULL, feature_done,
                                                          NULL, &unary);
  cgrpc_call_free(unary);

  /* Server-streaming, blocking and with callbacks. */
  Routeguide__RouteGuide_ListFeaturesCall *list = NULL;
  rv |= routeguide__route_guide_client__list_features(channel, &rect, NULL, &list);
  rv |= routeguide__route_guide_client__list_features_recv_headers(list, &md);
  while (routeguide__route_guide_client__list_features_recv(list, &feature) == 1)
    routeguide__feature__free_unpacked(feature, NULL);
  code = routeguide__route_guide_client__list_features_finish(list, &status);
  routeguide__route_guide_client__list_features_cancel(list);
  cgrpc_call_cancel(routeguide__route_guide_client__list_features_call(list));
  routeguide__route_guide_client__list_features_free(list);
  Routeguide__RouteGuide_ListFeaturesCallbacks list_callbacks;
  list_callbacks.on_headers = list_on_headers;
  list_callbacks.on_message = list_on_message;
  list_callbacks.on_done = list_on_done;
  rv |= routeguide__route_guide_client__list_features_async(channel, &rect, NULL, &list_callbacks,
                                                            NULL, &list);
  routeguide__route_guide_client__list_features_free(list);

  /* Client-streaming. */
  Routeguide__RouteGuide_RecordRouteCall *record = NULL;
  Routeguide__RouteSummary *summary = NULL;
  rv |= routeguide__route_guide_client__record_route(channel, NULL, &record);
  rv |= routeguide__route_guide_client__record_route_send(record, &point);
  rv |= routeguide__route_guide_client__record_route_try_send(record, &point);
  rv |= routeguide__route_guide_client__record_route_recv_headers(record, &md);
  code = routeguide__route_guide_client__record_route_close_and_recv(record, &summary, &status);
  routeguide__route_summary__free_unpacked(summary, NULL);
  routeguide__route_guide_client__record_route_cancel(record);
  cgrpc_call_cancel(routeguide__route_guide_client__record_route_call(record));
  routeguide__route_guide_client__record_route_free(record);
  Routeguide__RouteGuide_RecordRouteCallbacks record_callbacks;
  record_callbacks.on_headers = record_on_headers;
  record_callbacks.on_message = record_on_message;
  record_callbacks.on_send_ready = record_on_send_ready;
  record_callbacks.on_done = record_on_done;
  rv |= routeguide__route_guide_client__record_route_async(channel, NULL, &record_callbacks, NULL,
                                                           &record);
  rv |= routeguide__route_guide_client__record_route_close_send(record);
  routeguide__route_guide_client__record_route_free(record);

  /* Bidi. */
  Routeguide__RouteGuide_RouteChatCall *chat = NULL;
  Routeguide__RouteNote *reply = NULL;
  rv |= routeguide__route_guide_client__route_chat(channel, NULL, &chat);
  rv |= routeguide__route_guide_client__route_chat_send(chat, &note);
  rv |= routeguide__route_guide_client__route_chat_try_send(chat, &note);
  rv |= routeguide__route_guide_client__route_chat_close_send(chat);
  rv |= routeguide__route_guide_client__route_chat_recv_headers(chat, &md);
  while (routeguide__route_guide_client__route_chat_recv(chat, &reply) == 1)
    routeguide__route_note__free_unpacked(reply, NULL);
  code = routeguide__route_guide_client__route_chat_finish(chat, &status);
  routeguide__route_guide_client__route_chat_cancel(chat);
  cgrpc_call_cancel(routeguide__route_guide_client__route_chat_call(chat));
  routeguide__route_guide_client__route_chat_free(chat);
  Routeguide__RouteGuide_RouteChatCallbacks chat_callbacks;
  chat_callbacks.on_headers = chat_on_headers;
  chat_callbacks.on_message = chat_on_message;
  chat_callbacks.on_send_ready = chat_on_send_ready;
  chat_callbacks.on_done = chat_on_done;
  rv |= routeguide__route_guide_client__route_chat_async(channel, NULL, &chat_callbacks, NULL,
                                                         &chat);
  routeguide__route_guide_client__route_chat_free(chat);

  cgrpc_status_clear(&status);
  return rv != 0 ? rv : (int)code;
}

/* ---- server ---------------------------------------------------------------------------- */

static cgrpc_code get_feature(cgrpc_server_call *call, const Routeguide__Point *request,
                              Routeguide__Feature *response, void *user_data)
{
  (void)request;
  (void)response;
  (void)user_data;
  routeguide__route_guide_server__get_feature_defer(call);
  routeguide__route_guide_server__get_feature_finish(call, CGRPC_STATUS_OK);
  return CGRPC_STATUS_OK;
}

static void list_on_server_send_ready(Routeguide__RouteGuide_ListFeaturesServerCall *call,
                                      void *user_data)
{
  Routeguide__Feature feature = ROUTEGUIDE__FEATURE__INIT;
  (void)user_data;
  if (routeguide__route_guide_server__list_features_try_send(call, &feature) != CGRPC_ERR_AGAIN)
    routeguide__route_guide_server__list_features_finish(call, CGRPC_STATUS_OK);
}

static void list_on_cancel(Routeguide__RouteGuide_ListFeaturesServerCall *call, void *user_data)
{
  (void)user_data;
  routeguide__route_guide_server__list_features_finish(call, CGRPC_STATUS_CANCELLED);
}

static cgrpc_code list_features(Routeguide__RouteGuide_ListFeaturesServerCall *call,
                                const Routeguide__Rectangle *request, void *user_data)
{
  Routeguide__Feature feature = ROUTEGUIDE__FEATURE__INIT;
  (void)request;
  if (cgrpc_server_call_is_cancelled(routeguide__route_guide_server__list_features_call(call)))
    return CGRPC_STATUS_CANCELLED;
  if (routeguide__route_guide_server__list_features_send_headers(call) != 0 ||
      routeguide__route_guide_server__list_features_send(call, &feature) != 0)
    return CGRPC_STATUS_CANCELLED;
  Routeguide__RouteGuide_ListFeaturesServerCallbacks callbacks;
  callbacks.on_send_ready = list_on_server_send_ready;
  callbacks.on_cancel = list_on_cancel;
  routeguide__route_guide_server__list_features_defer(call);
  routeguide__route_guide_server__list_features_set_callbacks(call, &callbacks, user_data);
  return CGRPC_STATUS_OK;
}

static void record_on_request(Routeguide__RouteGuide_RecordRouteServerCall *call,
                              const Routeguide__Point *request, void *user_data)
{
  (void)call;
  (void)request;
  (void)user_data;
}

static void record_on_recv_done(Routeguide__RouteGuide_RecordRouteServerCall *call,
                                void *user_data)
{
  (void)user_data;
  routeguide__route_guide_server__record_route_finish(call, CGRPC_STATUS_OK);
}

static void record_on_cancel(Routeguide__RouteGuide_RecordRouteServerCall *call, void *user_data)
{
  (void)user_data;
  routeguide__route_guide_server__record_route_finish(call, CGRPC_STATUS_CANCELLED);
}

static cgrpc_code record_route(Routeguide__RouteGuide_RecordRouteServerCall *call,
                               Routeguide__RouteSummary *response, void *user_data)
{
  const Routeguide__Point *point;
  if (routeguide__route_guide_server__record_route_send_headers(call) != 0)
    return CGRPC_STATUS_CANCELLED;
  if (routeguide__route_guide_server__record_route_recv(call, &point) == 1) {
    response->point_count++;
    return CGRPC_STATUS_OK;
  }
  Routeguide__RouteGuide_RecordRouteServerCallbacks callbacks;
  callbacks.on_message = record_on_request;
  callbacks.on_recv_done = record_on_recv_done;
  callbacks.on_cancel = record_on_cancel;
  routeguide__route_guide_server__record_route_defer(call);
  routeguide__route_guide_server__record_route_set_callbacks(call, &callbacks, user_data);
  cgrpc_server_call_add_trailing_metadata(routeguide__route_guide_server__record_route_call(call),
                                          "x-typed", "yes", 3);
  return CGRPC_STATUS_OK;
}

static void chat_on_request(Routeguide__RouteGuide_RouteChatServerCall *call,
                            const Routeguide__RouteNote *request, void *user_data)
{
  (void)user_data;
  routeguide__route_guide_server__route_chat_try_send(call, request);
}

static void chat_on_recv_done(Routeguide__RouteGuide_RouteChatServerCall *call, void *user_data)
{
  (void)user_data;
  routeguide__route_guide_server__route_chat_finish(call, CGRPC_STATUS_OK);
}

static void chat_on_server_send_ready(Routeguide__RouteGuide_RouteChatServerCall *call,
                                      void *user_data)
{
  (void)call;
  (void)user_data;
}

static void chat_on_cancel(Routeguide__RouteGuide_RouteChatServerCall *call, void *user_data)
{
  (void)user_data;
  routeguide__route_guide_server__route_chat_finish(call, CGRPC_STATUS_CANCELLED);
}

static cgrpc_code route_chat(Routeguide__RouteGuide_RouteChatServerCall *call, void *user_data)
{
  const Routeguide__RouteNote *note;
  if (routeguide__route_guide_server__route_chat_send_headers(call) != 0)
    return CGRPC_STATUS_CANCELLED;
  if (routeguide__route_guide_server__route_chat_recv(call, &note) == 1)
    return routeguide__route_guide_server__route_chat_send(call, note) == 0
               ? CGRPC_STATUS_OK
               : CGRPC_STATUS_CANCELLED;
  Routeguide__RouteGuide_RouteChatServerCallbacks callbacks;
  callbacks.on_message = chat_on_request;
  callbacks.on_recv_done = chat_on_recv_done;
  callbacks.on_send_ready = chat_on_server_send_ready;
  callbacks.on_cancel = chat_on_cancel;
  routeguide__route_guide_server__route_chat_defer(call);
  routeguide__route_guide_server__route_chat_set_callbacks(call, &callbacks, user_data);
  (void)routeguide__route_guide_server__route_chat_call(call);
  return CGRPC_STATUS_OK;
}

int typed_api_server(cgrpc_server *server)
{
  Routeguide__RouteGuide_Server impl = ROUTEGUIDE__ROUTE_GUIDE__SERVER_INIT;
  impl.get_feature = get_feature;
  impl.list_features = list_features;
  impl.record_route = record_route;
  impl.route_chat = route_chat;
  return routeguide__route_guide_server__register(server, &impl, NULL);
}
