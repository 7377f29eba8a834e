/* cgrpc — gRPC for C.  Include this one header for the whole public API. */
#ifndef CGRPC_CGRPC_H
#define CGRPC_CGRPC_H

#include <cgrpc/version.h>
#include <cgrpc/common.h>
#include <cgrpc/metadata.h>
#include <cgrpc/status.h>
#include <cgrpc/method.h>
#include <cgrpc/tls.h>
#include <cgrpc/channel.h>
#include <cgrpc/interceptor.h>
#include <cgrpc/server.h>
#include <cgrpc/dedup.h>
#include <cgrpc/metrics.h>
#include <cgrpc/accesslog.h>
#include <cgrpc/tracing.h>
#include <cgrpc/extension.h>
#include <cgrpc/log.h>
#include <cgrpc/jwt.h>

#endif
