/* cgrpc — stands in for protoc-gen-c's output for cgrpc/options.proto.
 *
 * protoc-gen-c writes #include "cgrpc/options.pb-c.h" into the .pb-c.h of
 * every .proto that imports cgrpc/options.proto.  Those options are read by
 * protoc-gen-cgrpc when it generates code; nothing of them is needed at run
 * time, so this header is all there is. */
#ifndef CGRPC_OPTIONS_PB_C_H
#define CGRPC_OPTIONS_PB_C_H
#endif
