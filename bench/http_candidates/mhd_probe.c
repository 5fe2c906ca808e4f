/* The libmicrohttpd candidate of docs/performance.md ("HTTP listener: how
 * the server was chosen"): /metrics (a 5.3 MB body, like 54,000 series,
 * pulled by MHD in 64 KiB pieces with chunked encoding) and /healthz, on
 * MHD's epoll loop with a pool of 4 threads, 2,000 connections, a 5 s
 * connection timeout. Not part of the build (it would make libmicrohttpd a
 * dependency); to repeat the measurement:
 *
 *   apt-get install libmicrohttpd-dev
 *   cc -O2 -o /tmp/mhd_probe bench/http_candidates/mhd_probe.c -lmicrohttpd
 *   /tmp/mhd_probe 9470 &
 *   bench/http_load.py --port 9470 --idle 1000 --slow 100 --requests 100
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *body;
static size_t body_len;

static ssize_t Pull(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  if (pos >= body_len) return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = body_len - pos < max ? body_len - pos : max;
  memcpy(buf, body + pos, n);
  return (ssize_t)n;
}

static enum MHD_Result Handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state) {
  (void)cls; (void)method; (void)version; (void)upload; (void)upload_size; (void)state;
  struct MHD_Response *r;
  if (strcmp(url, "/metrics") == 0) {
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, Pull, NULL, NULL);
  } else {
    r = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
  }
  MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

int main(int argc, char **argv) {
  const int port = argc > 1 ? atoi(argv[1]) : 9470;
  body_len = 5343078;
  body = malloc(body_len);
  for (size_t i = 0; i < body_len; ++i) body[i] = (i % 100 == 99) ? '\n' : 'a' + (char)(i % 26);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, Handle, NULL,
      MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_LIMIT, 2000u,
      MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
  if (d == NULL) {
    fprintf(stderr, "MHD_start_daemon failed\n");
    return 1;
  }
  printf("listening on :%d\n", port);
  fflush(stdout);
  pause();
  return 0;
}
