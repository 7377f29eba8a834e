/* A scripted HTTP/2 server for tests: answers each request as its :path says, however wrongly. */
#ifndef CGRPC_TEST_FAKESERVER_H
#define CGRPC_TEST_FAKESERVER_H

typedef struct fakeserver fakeserver;

/*
 * Starts listening on 127.0.0.1 (a free port) and serving on a thread of its
 * own.  Requests are answered by the last path segment of :path:
 *   http-NNN         :status NNN, no grpc-status, END_STREAM on the headers
 *   rst-NAME         RST_STREAM with that error (cancel, refused, calm, security, internal)
 *   no-trailers      headers, an empty message, END_STREAM on DATA
 *   html             :status 200, content-type text/html, a body, no grpc-status
 *   two-messages     two messages, then grpc-status 0
 *   bad-bin          trailers with x-data-bin that is not base64
 *   huge-prefix      a message prefix announcing 1 GiB
 *   truncated        half a message, then grpc-status 0
 *   bad-flag         a message whose compressed flag is 7
 *   split-junk       a message that is not protobuf, split over three DATA frames
 *   garbage          bytes that are not HTTP/2 at all
 *   status-NN        Trailers-Only with grpc-status NN, a grpc-message and x-t trailer
 *   unknown-code     grpc-status 99
 *   ok               a proper answer: an empty message and grpc-status 0
 *   refused-once     RST_STREAM REFUSED_STREAM the first time, then as ok
 *   drop             closes the connection without an answer
 *   drop-once        as drop the first time, then as ok
 *   goaway-once      the first time a GOAWAY whose last stream id is below this stream's
 *                    (never processed), no answer; then as ok
 */
fakeserver *fakeserver_start(void);
/* Requests answered since the server started. */
int fakeserver_requests(void);
int fakeserver_port(const fakeserver *s);
/* Stops the thread, closes everything. */
void fakeserver_stop(fakeserver *s);

#endif
